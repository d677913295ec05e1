"""Where layout-mode extraction runs: the run-start signal against what column reordering needs.

    python -m bench.columns [DIR]

For every page with text in DIR's PDFs (default ../shared/data/pdf-corpus), plus a page drawn
across two columns and one drawn down them (fpdf2): whether `may_be_drawn_across` asks for
layout mode, and whether `column_order` reorders the page (which needs layout mode). Prints the
flagged pages, any page missed, and the time of the plain pass, the plain pass with run starts,
and layout mode. Ends with `RESULT pages=... flagged=... needed=... missed=...`.
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
import time
import warnings
from pathlib import Path

from engine.ingestion.columns import column_order, may_be_drawn_across
from engine.ingestion.pdf_worker import _plain_text

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "pdf-corpus"
_SKIP = {"bomb_giant.pdf", "filled-background.pdf", "issue12295.pdf"}  # bombs and a slow file


def _two_columns(across: bool) -> bytes:
    from tests.support.library_pdfs import two_column_pdf
    from tests.unit.test_pdf_columns import LEFT, RIGHT

    return two_column_pdf("Energy in Cells", LEFT, RIGHT, across=across)


def main(argv: list[str] | None = None) -> int:
    import pypdf

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    args = p.parse_args(argv)
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    inputs = [
        (f.name, f.read_bytes()) for f in sorted(args.dir.glob("*.pdf")) if f.name not in _SKIP
    ]
    inputs += [
        ("drawn-across (fpdf2)", _two_columns(True)),
        ("drawn-down (fpdf2)", _two_columns(False)),
    ]
    plain_s = starts_s = layout_s = 0.0
    pages = flagged = needed = missed = 0
    for name, data in inputs:
        try:
            reader = pypdf.PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                reader.decrypt("")
            doc_pages = list(reader.pages)
        except Exception as e:  # noqa: BLE001 - unreadable files have no pages to judge
            print(f"  skipped {name}: {type(e).__name__}")
            continue
        for n, page in enumerate(doc_pages, start=1):
            try:
                t0 = time.perf_counter()
                page.extract_text()
                plain_s += time.perf_counter() - t0
                t0 = time.perf_counter()
                plain, starts = _plain_text(page)
                starts_s += time.perf_counter() - t0
                if not plain.strip():
                    continue
                t0 = time.perf_counter()
                layout = page.extract_text(extraction_mode="layout")
                layout_s += time.perf_counter() - t0
                box = page.mediabox
            except Exception as e:  # noqa: BLE001 - a broken page is not part of the measure
                print(f"  skipped {name} page {n}: {type(e).__name__}")
                continue
            pages += 1
            flag = may_be_drawn_across(
                starts, page_left=float(box.left), page_width=float(box.width)
            )
            need = column_order(layout, plain) is not None
            flagged += flag
            needed += need
            if need and not flag:
                missed += 1
                print(f"  MISSED {name} page {n}")
            elif flag:
                print(f"  flagged {name} page {n} (reordered: {need})")
    print(
        f"{pages} pages with text; layout mode asked for on {flagged}, needed on {needed}, "
        f"missed {missed}"
    )
    print(
        f"plain pass {plain_s:.1f}s, plain pass with run starts {starts_s:.1f}s, "
        f"layout mode on every page {layout_s:.1f}s"
    )
    print(
        f"RESULT pages={pages} flagged={flagged} needed={needed} missed={missed} "
        f"plain_s={plain_s:.2f} starts_s={starts_s:.2f} layout_s={layout_s:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
