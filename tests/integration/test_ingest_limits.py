"""Limits on what one learner's uploads may cost: text per byte of file (amplification), pages
kept in the library and pages added per 24 hours. A refusal gives the numbers and leaves
nothing behind; each quota counts only the learner's own pages."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from engine import jobs, library
from engine.db.models import Chunk, Material, PageIntake
from engine.errors import PdfTooMuchText, QuotaExceeded
from engine.originals import stored_originals
from tests.support.library_pdfs import amplifying_pdf, text_pdf

TIDES = (
    "Tides rise and fall twice a day because the Moon's gravity pulls the oceans into two "
    "bulges, one facing the Moon and one on the far side of the Earth."
)


def _pages(n: int, topic: str = TIDES) -> bytes:
    return text_pdf([f"Page {i + 1}. {topic}" for i in range(n)])


def _set(rt, **changes):
    rt.settings = rt.settings.replace(**changes)


def _stored(rt, user_id: int) -> tuple[int, int, int, int]:
    """(materials, chunks, page-intake rows, vectors) of this learner."""
    with rt.session_factory() as s:
        counts = tuple(
            s.scalar(select(func.count()).select_from(model).where(model.user_id == user_id))
            for model in (Material, Chunk, PageIntake)
        )
    return (*counts, library.vector_count(rt, user_id=user_id))


def test_an_amplifying_pdf_is_refused_with_its_numbers_and_nothing_saved(runtime, make_user):
    user = make_user()
    data = amplifying_pdf(pages=20)  # about 4 KB drawing one line of text 18,000 times
    assert len(data) < 5000
    with pytest.raises(PdfTooMuchText) as caught:
        library.ingest_pdf(runtime, user_id=user, data=data, filename="tiny.pdf")
    message = caught.value.user_message
    assert f"{len(data):,} bytes" in message and "characters" in message
    assert "the limit is 20 per byte" in message and "nothing was saved" in message
    assert _stored(runtime, user) == (0, 0, 0, 0)
    assert stored_originals(runtime).get(user, set()) == set()


@pytest.mark.slow
def test_ordinary_text_well_within_the_ratio_is_accepted(runtime, make_user):
    user = make_user()
    # Highly repetitive but ordinary text: about 6 characters per byte once compressed.
    data = text_pdf(["the same line again and again. " * 2000] * 2)
    material = library.ingest_pdf(runtime, user_id=user, data=data, filename="rep.pdf").material
    assert material.chunk_count > 0


def test_the_library_page_quota_counts_only_the_learners_own_pages(runtime, make_user):
    _set(runtime, library_max_pages=5)
    a, b = make_user(), make_user()
    first = library.ingest_pdf(runtime, user_id=a, data=_pages(3), filename="three.pdf").material
    library.ingest_pdf(runtime, user_id=b, data=_pages(4, "Other " + TIDES), filename="b.pdf")
    before = _stored(runtime, a)

    with pytest.raises(QuotaExceeded) as caught:
        library.ingest_pdf(runtime, user_id=a, data=_pages(3, "More " + TIDES), filename="more.pdf")
    assert "holds 3 pages and this file has 3" in caught.value.user_message
    assert "limit is 5 pages" in caught.value.user_message
    assert _stored(runtime, a) == before
    assert len(stored_originals(runtime)[a]) == 1  # the refused file's original is not kept

    # b's 4 pages do not count against a: 3 + 2 fits.
    library.ingest_pdf(runtime, user_id=a, data=_pages(2, "Two " + TIDES), filename="two.pdf")
    # Deleting material makes room again.
    library.delete_material(runtime, user_id=a, material_id=first.id)
    library.ingest_pdf(runtime, user_id=a, data=_pages(3, "More " + TIDES), filename="more.pdf")


def test_the_daily_page_quota_is_not_refilled_by_deleting(runtime, make_user):
    _set(runtime, upload_max_pages_per_day=4, library_max_pages=0)
    a, b = make_user(), make_user()
    m = library.ingest_pdf(runtime, user_id=a, data=_pages(3), filename="a.pdf").material
    library.delete_material(runtime, user_id=a, material_id=m.id)

    with pytest.raises(QuotaExceeded) as caught:
        library.ingest_pdf(
            runtime, user_id=a, data=_pages(2, "Again " + TIDES), filename="again.pdf"
        )
    assert "added 3 pages in the last 24 hours and this file has 2" in caught.value.user_message
    assert "4 pages a day" in caught.value.user_message
    assert 23 * 3600 < caught.value.retry_after_s <= 24 * 3600 + 1
    assert _stored(runtime, a)[:2] == (0, 0)

    # Another learner's day is their own.
    library.ingest_pdf(runtime, user_id=b, data=_pages(4, "B " + TIDES), filename="b.pdf")
    library.ingest_pdf(runtime, user_id=a, data=_pages(1, "One " + TIDES), filename="one.pdf")


def test_a_full_library_refuses_an_upload_before_it_is_queued(runtime, make_user):
    _set(runtime, library_max_pages=2)
    a, b = make_user(), make_user()
    library.ingest_pdf(runtime, user_id=a, data=_pages(2), filename="two.pdf")
    with pytest.raises(QuotaExceeded, match="Your library is full"):
        jobs.submit_ingestion(
            runtime, user_id=a, source=io.BytesIO(_pages(1, "x " + TIDES)), filename="one.pdf"
        )
    assert jobs.recent_jobs(runtime, user_id=a) == []
    spool = runtime.settings.storage.spool_path
    assert not spool.is_dir() or list(spool.iterdir()) == []
    # b's library is empty: b may queue.
    jobs.submit_ingestion(
        runtime, user_id=b, source=io.BytesIO(_pages(1, "x " + TIDES)), filename="one.pdf"
    )
