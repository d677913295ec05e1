"""Scanned pages are read by OCR in the sandboxed reader: only the pages without a text layer,
with progress per page, counted against the learner's OCR allowance, within the reader's time
limit, recorded on the material, and low-confidence pages kept out of question generation."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from engine import library
from engine.db.models import Chunk, Material
from engine.errors import OcrQuotaExceeded, PdfTooLarge
from engine.generation.passages import _usable_chunks
from tests.support.library_pdfs import scanned_pdf

LIFT = (
    "The lift coefficient rises linearly with the angle of attack until the wing stalls. "
    "Flutter arises when aerodynamic forces couple with the elastic modes of the wing. "
)
GERMAN = (
    "Die Grenzschicht wächst entlang der Profilsehne, weil die Zähigkeit wirkt. Größere "
    "Flügel erzeugen mehr Auftrieb, und über Schallgeschwindigkeit entstehen Stöße. "
)


def _with(runtime, **flat):
    return dataclasses.replace(runtime, settings=runtime.settings.replace(**flat))


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_mixed_document_has_only_its_scanned_page_read_by_ocr_and_it_is_searchable(
    runtime, make_user
):
    user = make_user()
    seen = []
    result = library.ingest_pdf(
        runtime,
        user_id=user,
        data=scanned_pdf([None, LIFT * 2]),
        filename="handout.pdf",
        progress=seen.append,
    )
    m = result.material
    assert m.ocr_pages == [2]
    assert m.ocr_confidence is not None and m.ocr_confidence > 0.9
    assert m.low_confidence_pages == []
    [page] = library.material_pages(runtime, user_id=user, material_id=m.id, first=2, last=2)
    assert "angle of attack until the wing stalls" in _flat(page.text)
    hits = library.search_library(
        runtime, user_id=user, query="flutter elastic modes of the wing", k=3
    )
    assert hits and hits[0].material_id == m.id and hits[0].page_end == 2
    # Progress names the page being read by OCR while it is read.
    reading = [p for p in seen if p.stage == library.IngestStage.READING]
    assert [p.ocr_page for p in reading if p.ocr_page is not None] == [2]
    assert reading[-1].pages_read == 2 and reading[-1].page_count == 2


def test_german_accents_are_read(runtime, make_user):
    user = make_user()
    m = library.ingest_pdf(
        runtime, user_id=user, data=scanned_pdf([GERMAN * 2]), filename="skript.pdf"
    ).material
    [page] = library.material_pages(runtime, user_id=user, material_id=m.id, first=1, last=1)
    assert "Die Grenzschicht wächst entlang der Profilsehne" in _flat(page.text)
    assert "über Schallgeschwindigkeit entstehen Stöße" in _flat(page.text)


@pytest.mark.slow
def test_a_document_over_the_ocr_allowance_is_refused_with_the_numbers(runtime, make_user):
    user = make_user()
    rt = _with(runtime, ocr_pages_per_user=3)
    first = library.ingest_pdf(
        rt, user_id=user, data=scanned_pdf([LIFT, GERMAN]), filename="a.pdf"
    ).material
    assert len(first.ocr_pages) == 2
    with pytest.raises(OcrQuotaExceeded) as e:
        library.ingest_pdf(rt, user_id=user, data=scanned_pdf([GERMAN, LIFT]), filename="b.pdf")
    assert "2 pages" in e.value.user_message and "only 1 more" in e.value.user_message
    with runtime.session_factory() as s:
        assert (
            s.scalar(select(func.count()).select_from(Material).where(Material.user_id == user))
            == 1
        )
    # Another learner's allowance is their own.
    other = make_user()
    assert library.ingest_pdf(
        rt, user_id=other, data=scanned_pdf([GERMAN, LIFT]), filename="b.pdf"
    ).material.ocr_pages == [1, 2]


def test_ocr_runs_inside_the_readers_time_limit(runtime, make_user):
    user = make_user()
    rt = _with(runtime, ocr_page_timeout_s=0.2)
    with pytest.raises(PdfTooLarge, match="took too long"):
        library.ingest_pdf(rt, user_id=user, data=scanned_pdf([LIFT]), filename="slow.pdf")


@pytest.mark.slow
def test_pages_below_the_confidence_floor_are_marked_and_not_asked_about(runtime, make_user):
    user = make_user()
    rt = _with(runtime, ocr_min_confidence=1.0)  # nothing is read with certainty
    unsure = library.ingest_pdf(
        rt, user_id=user, data=scanned_pdf([LIFT * 3, GERMAN * 3]), filename="unsure.pdf"
    ).material
    sure = library.ingest_pdf(
        runtime, user_id=user, data=scanned_pdf([LIFT * 3]), filename="sure.pdf"
    ).material
    assert unsure.low_confidence_pages == [1, 2] and sure.low_confidence_pages == []
    assert "left out of question generation" in (unsure.note or "")
    with runtime.session_factory() as s:
        materials = {m.id: s.get_one(Material, m.id) for m in (unsure, sure)}
        usable = _usable_chunks(s, user, materials)
        stored = s.scalar(
            select(func.count()).select_from(Chunk).where(Chunk.material_id == unsure.id)
        )
    assert stored > 0  # kept, and searchable
    assert unsure.id not in usable and usable[sure.id]


def test_ocr_runs_inside_the_readers_memory_limit(runtime, make_user):
    """The model does not fit in the reader's memory limit: the file is refused for memory
    (not as a file without text, nor with a traceback), and nothing is stored."""
    user = make_user()
    rt = _with(runtime, pdf_parse_memory_mb=400, ocr_memory_mb=400)
    with pytest.raises(PdfTooLarge, match="more memory"):
        library.ingest_pdf(rt, user_id=user, data=scanned_pdf([LIFT]), filename="big.pdf")
    with runtime.session_factory() as s:
        assert not s.scalar(
            select(func.count()).select_from(Material).where(Material.user_id == user)
        )
