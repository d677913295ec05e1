"""PDFs written for the library tests: text documents (fpdf2), image-only pages, encrypted
files, damaged files and decompression bombs."""

from __future__ import annotations

import datetime as dt
import io
import zlib

from fpdf import FPDF as _FPDF

_FIXED_DATE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def FPDF() -> _FPDF:  # same name as the class it makes
    """fpdf2 with a fixed creation date, so the same content gives the same bytes."""
    pdf = _FPDF()
    pdf.set_creation_date(_FIXED_DATE)
    return pdf


def text_pdf(pages: list[str], *, title: str | None = None, font_size: int = 11) -> bytes:
    """A PDF with one page per string (long strings wrap, and may flow onto more pages)."""
    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=font_size)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def blank_pages_pdf(count: int) -> bytes:
    """Pages with a drawn rectangle and no text: what a scan without OCR looks like."""
    pdf = FPDF()
    for _ in range(count):
        pdf.add_page()
        pdf.rect(20, 20, 100, 60, style="F")
    return bytes(pdf.output())


def mixed_pdf(texts: list[str | None]) -> bytes:
    """One page per entry: text pages, and image-only pages where the entry is None."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in texts:
        pdf.add_page()
        if text is None:
            pdf.rect(20, 20, 100, 60, style="F")
        else:
            pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def encrypted_pdf(text: str, password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf([text]))))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def truncated_pdf() -> bytes:
    data = text_pdf(["This document will be cut short before its end."])
    return data[: len(data) // 3]


def decompression_bomb_pdf(uncompressed_mb: int = 60) -> bytes:
    """A one-page PDF of a few hundred KB whose content stream inflates to `uncompressed_mb`
    MB of text-drawing operators: slow and memory-hungry to read."""
    op = b"BT /F1 12 Tf 10 10 Td (bomb) Tj ET\n"
    payload = zlib.compress(op * (uncompressed_mb * 1024 * 1024 // len(op)), 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
        b"<< /Length "
        + str(len(payload)).encode()
        + b" /Filter /FlateDecode >>\nstream\n"
        + payload
        + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def two_column_pdf(title: str, left: str, right: str, *, across: bool) -> bytes:
    """One page: a full-width title, then `left` and `right` wrapped into two columns.

    `across=True` draws the page line by line across both columns (as some word processors and
    report generators do); `across=False` draws the left column, then the right (as LaTeX does).
    """
    import textwrap

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=15)
    pdf.set_xy(20, 15)
    pdf.cell(170, 8, title)
    pdf.set_font("Helvetica", size=10)
    columns = [textwrap.wrap(text, 44, break_on_hyphens=False) for text in (left, right)]
    rows = max(len(c) for c in columns)
    cells = (
        [(col, row) for row in range(rows) for col in (0, 1)]
        if across
        else [(col, row) for col in (0, 1) for row in range(rows)]
    )
    for col, row in cells:
        if row < len(columns[col]):
            pdf.set_xy(20 + 92 * col, 32 + 5.5 * row)
            pdf.cell(85, 5, columns[col][row])
    return bytes(pdf.output())


def amplifying_pdf(
    *, pages: int = 1, draws: int = 30, inner: int = 30, line: str = "Amplified text repeats here. "
) -> bytes:
    """A PDF of about a kilobyte whose text runs to tens of thousands of characters: each page
    (all pages share one content stream) draws form XObject A `draws` times, and A draws form
    XObject B, one line of text, `inner` times. Nothing is compressed beyond the ordinary."""

    def stream(body: bytes, extra: bytes = b"") -> bytes:
        packed = zlib.compress(body, 9)
        return (
            b"<< /Length %d /Filter /FlateDecode %s >>\nstream\n" % (len(packed), extra)
            + packed
            + b"\nendstream"
        )

    text = b"BT /F1 10 Tf 0 0 Td (" + line.encode() * 3 + b") Tj ET"
    form = b"/Type /XObject /Subtype /Form /BBox [0 0 600 800] /Resources "
    kids = " ".join(f"{8 + n} 0 R" for n in range(pages)).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        stream(b"".join(b"q 1 0 0 1 %d 0 cm /A Do Q\n" % (i % 3) for i in range(draws))),
        stream(
            b"".join(b"q 1 0 0 1 0 %d cm /B Do Q\n" % (i * 12) for i in range(inner)),
            form + b"<< /XObject << /B 6 0 R >> >>",
        ),
        stream(text, form + b"<< /Font << /F1 3 0 R >> >>"),
        b"<< >>",  # unused: keeps page objects numbered from 8
        *[
            (
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                b"/Resources << /XObject << /A 5 0 R >> >> >>"
            )
        ]
        * pages,
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def scanned_pdf(pages: list[str | None], *, dpi: int = 150, font_size: int = 11) -> bytes:
    """An image-only PDF, as a scanner makes: each text page is typeset (fpdf2), rendered to a
    grayscale image at `dpi` (pdfium) and placed as the whole page, with no text layer. A None
    entry is a page of ordinary text, left as it is (a mixed document)."""
    import pypdfium2

    source = pypdfium2.PdfDocument(text_pdf([t or "" for t in pages], font_size=font_size))
    pdf = FPDF()
    pdf.set_font("Helvetica", size=font_size)
    for n, text in enumerate(pages):
        pdf.add_page()
        if text is None:
            pdf.multi_cell(0, 6, f"Page {n + 1} has a text layer. " * 12)
            continue
        image = source[n].render(scale=dpi / 72, grayscale=True).to_pil()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        pdf.image(buffer, x=0, y=0, w=pdf.w, h=pdf.h)
    return bytes(pdf.output())
