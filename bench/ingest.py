"""End-to-end ingestion speed beside raw pypdf extraction and embedding of the same files.

    python -m bench.ingest [DIR] [--pages 300]

For every PDF in DIR (default ../shared/data/pdf-corpus) that the library ingests, the same
run measures: the whole pipeline (`engine.library.ingest_pdf`: sandboxed parse, quality check,
chunking, embedding, PostgreSQL and Chroma writes), raw `pypdf` text extraction in this process,
and embedding of the same chunks alone. Overhead = pipeline / (raw extraction + embedding) - 1.
It also writes a text PDF of `--pages` pages with fpdf2 and times it from upload to its first
search result (target: under 60 s for 300 pages).

It reports passages per readable page for every file and flags outliers (< 0.2 or > 12:
a 200-token passage per ~160 new tokens makes ~8-10 on a dense two-column page).

Ends with `RESULT pages_per_s=... chunks_per_s=... raw_pages_per_s=... overhead_pct=...
passages_per_page_median=... passages_per_page_max=... passage_outliers=...`.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

from bench._library import bench_runtime, bench_user

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "pdf-corpus"

_SENTENCES = [
    "The boundary layer thickens along the chord as viscous effects accumulate.",
    "Heat transfer at hypersonic speeds depends strongly on the wall temperature.",
    "A swept wing delays the onset of compressibility drag at high subsonic Mach numbers.",
    "Shock waves form where the flow decelerates abruptly from supersonic speed.",
    "The lift coefficient rises linearly with the angle of attack until the stall.",
    "Pressure distributions were measured with static taps along the model surface.",
    "Transition from laminar to turbulent flow is hastened by surface roughness.",
    "Flutter arises when aerodynamic forces couple with the elastic modes of the wing.",
]


def make_book(pages: int) -> bytes:
    """A text PDF of `pages` pages, each with a heading and ~350 words."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(auto=False)
    for n in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font("Helvetica", style="B", size=13)
        pdf.cell(0, 8, f"Section {n} Aerodynamics Notes", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
        body = " ".join(
            _SENTENCES[(n + i) % len(_SENTENCES)] + f" (page {n}, item {i}.)" for i in range(26)
        )
        pdf.multi_cell(0, 4.2, body)
    return bytes(pdf.output())


def raw_extract(data: bytes) -> int:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        reader.decrypt("")
    for page in reader.pages:
        page.extract_text()
    return len(reader.pages)


def _torch_anchor(rt, embedder, n: int) -> tuple[float, float]:
    """Chunks/s of the embedder in use and of the torch reference on the same chunks.

    The two alternate in rounds of 100 chunks, so a change in the machine's load during the
    run affects both alike.
    """
    from sqlalchemy import select

    from engine.db.models import Chunk
    from engine.retrieval.embeddings import LocalEmbedder

    with rt.session_factory() as s:
        texts = list(s.scalars(select(Chunk.text).order_by(Chunk.id).limit(n)))
    reference = LocalEmbedder(batch_size=64)
    reference.embed_documents(["warm up"])
    ours_s = torch_s = 0.0
    for start in range(0, len(texts), 100):
        part = texts[start : start + 100]
        t0 = time.perf_counter()
        embedder.embed_documents(part)
        ours_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        reference.embed_documents(part)
        torch_s += time.perf_counter() - t0
    return len(texts) / ours_s, len(texts) / torch_s


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    p.add_argument("--pages", type=int, default=300, help="size of the generated book")
    p.add_argument(
        "--embedding", default=None, help="embedding model setting (default: the configured one)"
    )
    p.add_argument(
        "--anchor-chunks",
        type=int,
        default=600,
        help="chunks embedded by both the model in use and the torch reference",
    )
    args = p.parse_args(argv)

    import logging

    from sqlalchemy import select

    from engine import library
    from engine.db.models import Chunk
    from engine.errors import EngineError

    logging.getLogger("engine").setLevel(logging.ERROR)
    files = sorted(args.dir.glob("*.pdf")) if args.dir.is_dir() else []
    # The text pipeline's overhead: pages without a text layer stay unread here, as in raw
    # extraction (OCR has its own benchmark, bench.ocr).
    rt = bench_runtime(
        ocr_enabled=False, **({"embedding_model": args.embedding} if args.embedding else {})
    )
    user = bench_user(rt)
    embedder = rt.embedder
    embedder.embed_documents(["warm up the model once, as a running app has"])
    print(
        f"settings: embedding={rt.settings.embedding.model} chunk_tokens="
        f"{rt.settings.ingestion.chunk_tokens} "
        f"overlap={rt.settings.ingestion.chunk_overlap_tokens}; "
        f"{len(files)} files in {args.dir}"
    )

    # 1) the generated book: upload -> first search result
    book = make_book(args.pages)
    t0 = time.perf_counter()
    result = library.ingest_pdf(rt, user_id=user, data=book, filename="book.pdf")
    hits = library.search_library(rt, user_id=user, query="flutter elastic modes of the wing", k=3)
    book_s = time.perf_counter() - t0
    assert hits, "the generated book should be searchable"
    print(
        f"{args.pages}-page text PDF: searchable after {book_s:.1f}s "
        f"({result.material.chunk_count} chunks; target < 60 s)"
    )

    # 2) every file of DIR: pipeline, then raw extraction and embedding alone
    inputs = [(f.name, f.read_bytes()) for f in files] + [("book.pdf (generated)", book)]
    pipeline_s = raw_s = embed_s = 0.0
    pages = chunks = 0
    refused = 0
    per_page: list[tuple[str, float, int, int]] = []
    book_material = result.material.id
    for name, data in inputs:
        if name.startswith("book.pdf"):
            # measured again in a fresh library so its duplicate check does not short-cut
            library.delete_material(rt, user_id=user, material_id=book_material)
        t0 = time.perf_counter()
        try:
            res = library.ingest_pdf(rt, user_id=user, data=data, filename=name)
        except EngineError:
            refused += 1
            continue
        pipeline_s += time.perf_counter() - t0
        if res.duplicate:
            continue
        m = res.material
        pages += m.page_count
        chunks += m.chunk_count
        readable = m.page_count - len(m.pages_without_text)
        per_page.append((name, m.chunk_count / max(1, readable), m.page_count, m.chunk_count))
        t0 = time.perf_counter()
        raw_extract(data)
        raw_s += time.perf_counter() - t0
        with rt.session_factory() as s:
            texts = list(
                s.scalars(
                    select(Chunk.text).where(Chunk.material_id == m.id).order_by(Chunk.ordinal)
                )
            )
        t0 = time.perf_counter()
        step = rt.settings.embedding.batch_size * 4
        for start in range(0, len(texts), step):
            embedder.embed_documents(texts[start : start + step])
        embed_s += time.perf_counter() - t0

    anchor = _torch_anchor(rt, embedder, args.anchor_chunks)
    print("\npassages per readable page (outliers: fewer than 0.2 or more than 12):")
    for name, ratio, n_pages, n_chunks in sorted(per_page, key=lambda x: -x[1]):
        flag = "  <- outlier" if not 0.2 <= ratio <= 12 else ""
        print(f"  {name}: {ratio:.1f} ({n_chunks} passages, {n_pages} pages){flag}")
    ratios = sorted(r for _, r, _, _ in per_page)
    median = ratios[len(ratios) // 2] if ratios else 0.0
    outliers = sum(1 for r in ratios if not 0.2 <= r <= 12)

    base = raw_s + embed_s
    overhead = (pipeline_s / base - 1) * 100 if base else 0.0
    print(
        f"\nfiles ingested: {len(inputs) - refused} ({refused} refused), {pages} pages, "
        f"{chunks} chunks"
    )
    print(
        f"pipeline (ingest_pdf end to end): {pipeline_s:.1f}s = {pages / pipeline_s:.1f} "
        f"pages/s, {chunks / pipeline_s:.1f} chunks/s"
    )
    print(f"raw pypdf extraction alone:       {raw_s:.1f}s = {pages / raw_s:.1f} pages/s")
    print(f"embedding the same chunks alone:  {embed_s:.1f}s = {chunks / embed_s:.1f} chunks/s")
    print(f"pipeline overhead over raw extraction + embedding: {overhead:.1f}% (target <= 25%)")
    ours_cps, torch_cps = anchor
    print(
        f"same {args.anchor_chunks} chunks, interleaved: {rt.settings.embedding.model} "
        f"{ours_cps:.1f} chunks/s; sentence-transformers on CPU torch (the former default) "
        f"{torch_cps:.1f} chunks/s; speed-up {ours_cps / torch_cps:.2f}x (target >= 2x)"
    )
    print(
        "anchors (../shared/FACTS.md): pypdf ~480 pages/s on a simple text PDF; "
        "all-MiniLM-L6-v2 ~55 chunks/s on 2 cores"
    )
    print(
        f"RESULT pages_per_s={pages / pipeline_s:.2f} chunks_per_s={chunks / pipeline_s:.2f} "
        f"raw_pages_per_s={pages / raw_s:.2f} overhead_pct={overhead:.1f} "
        f"book_{args.pages}_searchable_s={book_s:.1f} embed_chunks_per_s={ours_cps:.1f} "
        f"torch_chunks_per_s={torch_cps:.1f} embed_speedup={ours_cps / torch_cps:.2f} "
        f"passages_per_page_median={median:.1f} "
        f"passages_per_page_max={ratios[-1] if ratios else 0:.1f} "
        f"passage_outliers={outliers}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
