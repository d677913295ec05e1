"""OCR accuracy and speed: text pages rendered to images and wrapped as image-only PDFs, read
back through the sandboxed reader, compared with the text they were made from.

    python -m bench.ocr [--pages 5] [--dpi 150 300] [--corpus-pages 4]

Character error rate (Levenshtein distance / reference length, after whitespace is normalised)
for English and German text set with fpdf2, and for the first pages of the corpus's text PDFs
(reference: pypdf's text of the original); pages per second of the whole read (render + OCR).
Ends with `RESULT key=value ...`.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from engine.config import Settings
from engine.ingestion.pdf import read_pdf

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "pdf-corpus"
EN = ("The boundary layer thickens along the chord as viscous effects accumulate. Heat transfer "
      "at hypersonic speeds depends strongly on the wall temperature. A swept wing delays the "
      "onset of compressibility drag at high subsonic Mach numbers. ")
DE = ("Die Grenzschicht wächst entlang der Profilsehne, weil die Zähigkeit wirkt. Größere Flügel "
      "erzeugen mehr Auftrieb; über Schallgeschwindigkeit entstehen Verdichtungsstöße, die "
      "Müller und Schäfer im Windkanal maßen. ")


def _norm(text: str) -> str:
    return " ".join(text.split())


def cer(ref: str, hyp: str) -> float:
    ref, hyp = _norm(ref), _norm(hyp)
    return Levenshtein.distance(ref, hyp) / max(1, len(ref))


def image_only(pdf: bytes, dpi: int, pages: int | None = None) -> bytes:
    import pypdfium2
    from fpdf import FPDF

    src = pypdfium2.PdfDocument(pdf)
    out = FPDF(unit="pt")
    for n in range(min(len(src), pages or len(src))):
        page = src[n]
        w, h = page.get_size()
        out.add_page(format=(w, h))
        buf = io.BytesIO()
        page.render(scale=dpi / 72, grayscale=True).to_pil().save(buf, format="PNG")
        out.image(buf, x=0, y=0, w=w, h=h)
    return bytes(out.output())


def text_pdf(body: str, pages: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for _ in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 6, body * 6)
    return bytes(pdf.output())


def reference_pages(pdf: bytes, pages: int | None = None) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return [p.extract_text() or "" for p in reader.pages[:pages or len(reader.pages)]]


def measure(label: str, original: bytes, dpi: int, settings: Settings,
            pages: int | None = None) -> tuple[float, int, float]:
    refs = reference_pages(original, pages)
    scanned = image_only(original, dpi, pages)
    t0 = time.perf_counter()
    got = read_pdf(scanned, settings=settings)
    elapsed = time.perf_counter() - t0
    rates = [cer(r, h) for r, h in zip(refs, got.pages, strict=True) if _norm(r)]
    mean = sum(rates) / len(rates) if rates else 0.0
    print(f"  {label} @ {dpi} dpi: CER {mean:.2%} over {len(rates)} pages, "
          f"{len(got.ocr_pages)} OCR pages in {elapsed:.1f}s "
          f"({len(got.ocr_pages) / elapsed:.2f} pages/s), confidence {got.ocr_confidence}")
    return mean, len(got.ocr_pages), elapsed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pages", type=int, default=5)
    p.add_argument("--dpi", type=int, nargs="+", default=[150, 300])
    p.add_argument("--corpus-pages", type=int, default=4)
    args = p.parse_args(argv)
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="groundwork-bench-ocr-")),
                        pdf_parse_timeout_s=600, ocr_timeout_s=1200, ocr_page_timeout_s=120)
    results: dict[str, float] = {}
    pages_total = 0
    seconds = 0.0
    sources = [("english", text_pdf(EN, args.pages), None),
               ("german", text_pdf(DE, args.pages), None)]
    for name in ("tracemonkey.pdf", "TAMReview.pdf"):
        if (CORPUS / name).is_file():
            sources.append((name.removesuffix(".pdf").lower(), (CORPUS / name).read_bytes(),
                            args.corpus_pages))
    for dpi in args.dpi:
        for label, pdf, limit in sources:
            rate, n, s = measure(label, pdf, dpi, settings, limit)
            results[f"cer_{label}_{dpi}"] = rate
            pages_total += n
            seconds += s
    fields = " ".join(f"{k}={v:.4f}" for k, v in results.items())
    print(f"RESULT ocr_pages_per_s={pages_total / seconds:.3f} {fields}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
