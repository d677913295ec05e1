"""Every real-world PDF in ../shared/data/pdf-corpus is ingested or refused with the right reason,
without crashing and without leaving anything behind; ingested files are searchable by their
own words; encrypted files open with the password from index.tsv; the text PDFs get their full
titles and a sane number of passages per page (each file is ingested once, OCR being slow)."""

from __future__ import annotations

import csv
import re
from collections import Counter

import pytest
from sqlalchemy import func, select

from engine import library
from engine.db.models import Chunk, Material, MaterialPage
from engine.errors import PdfEncrypted, PdfError, PdfMalformed, PdfNoText, PdfTooLarge
from engine.search import search_in

INGESTED = "ingested"

# What each category may end as. The categories are the corpus's own heuristic labels.
ALLOWED = {
    "text": {INGESTED},
    "longdoc": {INGESTED},
    "table": {INGESTED},
    "form": {INGESTED},
    "math": {INGESTED},
    "nonlatin": {INGESTED},
    # pages without usable text are read by OCR: text comes out of those that hold Latin or
    # Chinese text; a photo or a script OCR does not read is still "no text"
    "garbled": {INGESTED, PdfNoText},
    "scanned": {INGESTED, PdfNoText},
    # fuzzed files whose pages parse but are empty come out as "no text"
    "malformed": {PdfMalformed, PdfNoText},
    "bomb": {PdfTooLarge, PdfMalformed, PdfNoText},
    "slow": {INGESTED, PdfTooLarge},
    # with the password from index.tsv: opens (some hold only images); with none known: asks
    "encrypted": {INGESTED, PdfNoText},
    "encrypted-no-password": {INGESTED, PdfNoText, PdfEncrypted},
}
# Files whose label and content disagree, checked one by one.
EXCEPTIONS = {
    # Arabic calligraphy whose font maps glyphs to unrelated code points: pypdf extracts mojibake.
    # OCR may read stray Latin-looking shapes from its calligraphy, or nothing.
    "ThuluthFeatures.pdf": {INGESTED, PdfNoText},
    # An image page carrying a one-line "Produced with a Trial Version" text stamp.
    "base64image.pdf": {INGESTED},
    # A stream without a length that pypdf recovers: its one line of text reads fine.
    "issue1293r.pdf": {INGESTED},
}


def _outcome(exc: BaseException | None):
    return INGESTED if exc is None else type(exc)


def _text_pdf_problems(file: str, m) -> list[str]:  # m: the ingested Material
    """Titles read in full, glyph-name pages read by OCR, and 0.2-12 passages per page."""
    problems = []
    full_title = "Trace-based Just-in-Time Type Specialization for Dynamic Languages"
    if file == "tracemonkey.pdf" and m.title != full_title:
        problems.append(f"{file}: title {m.title!r}")
    if file == "TAMReview.pdf":
        if not m.title.endswith("Future Directions"):
            problems.append(f"{file}: title {m.title!r}")
        # its glyph-name pages are read by OCR instead of indexed as garbage
        if not (len(m.ocr_pages) >= 10 and m.ocr_confidence > 0.9):
            problems.append(f"{file}: OCR pages {m.ocr_pages}, confidence {m.ocr_confidence}")
    readable = m.page_count - len(m.pages_without_text)
    per_page = m.chunk_count / max(1, readable)
    if not 0.2 <= per_page <= 12:
        problems.append(f"{file}: {per_page:.1f} passages per page")
    return problems


@pytest.mark.slow
def test_every_corpus_file_is_ingested_or_refused_with_its_reason(shared_data, runtime, make_user):
    folder = shared_data / "pdf-corpus"
    if not (folder / "index.tsv").is_file():
        pytest.skip(f"no PDF corpus at {folder}")
    rows = list(csv.DictReader((folder / "index.tsv").open(encoding="utf-8"), delimiter="\t"))
    user = make_user()
    table: Counter[str] = Counter()
    problems: list[str] = []
    ingested: dict[int, str] = {}
    for row in rows:
        category, password = row["category"], row["password"] or None
        if category == "encrypted" and password is None:
            category = "encrypted-no-password"
        allowed = EXCEPTIONS.get(row["file"], ALLOWED[category])
        try:
            result = library.ingest_pdf(
                runtime,
                user_id=user,
                data=(folder / row["file"]).read_bytes(),
                filename=row["file"],
                password=password,
            )
        except PdfError as e:
            outcome = _outcome(e)
            assert e.user_message and "Traceback" not in e.user_message
        else:
            outcome = INGESTED
            ingested[result.material.id] = row["file"]
            assert result.material.chunk_count > 0
            if row["category"] == "text":
                problems += _text_pdf_problems(row["file"], result.material)
        name = outcome if outcome == INGESTED else outcome.__name__
        table[f"{row['category']}: {name}"] += 1
        if outcome not in allowed:
            problems.append(f"{row['file']} ({category}) -> {name}")
    print("\ncorpus outcomes:\n" + "\n".join(f"  {k}: {v}" for k, v in sorted(table.items())))
    assert problems == []

    # nothing partial: exactly the ingested materials exist, with all their rows and vectors
    with runtime.session_factory() as s:
        materials = s.scalars(select(Material).where(Material.user_id == user)).all()
        assert {m.id for m in materials} == set(ingested)
        chunk_total = s.scalar(select(func.count()).select_from(Chunk).where(Chunk.user_id == user))
        page_total = s.scalar(
            select(func.count()).select_from(MaterialPage).where(MaterialPage.user_id == user)
        )
    assert chunk_total == sum(m.chunk_count for m in materials)
    assert page_total == sum(m.page_count for m in materials)
    assert library.vector_count(runtime, user_id=user) == chunk_total

    # every ingested file, in any script, is found by words from its own text
    missed = []
    for material_id, file in ingested.items():
        pages = library.material_pages(runtime, user_id=user, material_id=material_id)
        longest = max((p.text for p in pages), key=len)
        words = re.findall(r"\w+", longest)
        middle = len(words) // 2
        query = " ".join(words[max(0, middle - 6) : middle + 6])
        with runtime.session_factory() as s:
            hits = search_in(runtime, s, user_id=user, query=query, k=5)
        if material_id not in {h.material_id for h in hits}:
            missed.append(f"{file}: {query!r}")
    assert missed == []
