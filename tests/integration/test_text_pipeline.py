"""The text pipeline version: materials cleaned by an older version are re-cleaned, re-chunked
and re-embedded by reindex (service and `python -m engine reindex`), with progress, questions
kept linked, and other learners untouched. (Titles and passages per page on the shared corpus's
text PDFs are checked by test_library_pdf_corpus.py, which ingests them anyway.)"""

from __future__ import annotations

from sqlalchemy import select, update

from engine import library
from engine.__main__ import main
from engine.bootstrap import get_runtime
from engine.db.models import Chunk, Material, MaterialPage, Question
from engine.ingestion.cleaning import TEXT_PIPELINE_VERSION
from engine.library.reclean import outdated_materials, reclean_material
from engine.originals import original_path
from engine.retrieval.collections import current_collection
from tests.support.library_pdfs import text_pdf
from tests.support.practice import add_question

OLD_PAGE = (
    "Journal of Soil\nSoil forms slowly as rock weathers and organic mat-\nter "
    "accumulates; a centimetre of \ufb01ne topsoil can take centuries to form.\n7"
)
BODY = (
    "Soil forms slowly as rock weathers and organic matter accumulates; a centimetre of "
    "topsoil can take centuries to form."
)


def _old_material(runtime, user: int, *, keep_original: bool = False) -> int:
    """A material as version 1 stored it: raw line breaks, hyphens, ligatures, a glyph page
    (and, unless kept, no stored original PDF, as before originals were kept)."""
    m = library.ingest_pdf(
        runtime,
        user_id=user,
        filename="soil.pdf",
        data=text_pdf([BODY, BODY, BODY, "Garbled page."]),
    ).material
    if not keep_original:
        with runtime.session_factory() as s:
            sha = s.get(Material, m.id).sha256
        original_path(runtime, user_id=user, sha256=sha).unlink()
    with runtime.session_factory.begin() as s:
        s.execute(update(Material).where(Material.id == m.id).values(text_version=1))
        for n in (1, 2, 3):
            s.execute(
                update(MaterialPage)
                .where(MaterialPage.material_id == m.id, MaterialPage.number == n)
                .values(text=OLD_PAGE.replace("7", str(n)))
            )
        s.execute(
            update(MaterialPage)
            .where(MaterialPage.material_id == m.id, MaterialPage.number == 4)
            .values(text="/g18/g152/g135/g3/g145/g136/g3/g150 /g3/g23 Perceived/g3joy")
        )
    return m.id


def test_reclean_upgrades_old_materials_with_progress(runtime, make_user):
    user, other = make_user(), make_user()
    mid = _old_material(runtime, user)
    theirs = _old_material(runtime, other)
    with runtime.session_factory() as s:
        chunk = s.scalars(select(Chunk.id).where(Chunk.material_id == mid)).first()
    qid = add_question(
        runtime.session_factory,
        user,
        material_id=mid,
        source_chunk_id=chunk,
        excerpt=BODY,
        page_start=2,
        page_end=2,
    )
    assert outdated_materials(runtime, user_id=user) == [(user, mid)]

    seen: list[tuple[int, int]] = []
    chunks = reclean_material(
        runtime, user_id=user, material_id=mid, progress=lambda d, t: seen.append((d, t))
    )
    assert chunks > 0 and seen[-1] == (chunks, chunks)
    pages = library.material_pages(runtime, user_id=user, material_id=mid)
    assert pages[0].text == (
        "Soil forms slowly as rock weathers and organic matter "
        "accumulates; a centimetre of fine topsoil can take centuries to "
        "form."
    )
    assert "mat-\nter" not in pages[0].text and "Journal of Soil" not in pages[0].text
    assert "\ufb01" not in pages[0].text and pages[3].text == ""
    with runtime.session_factory() as s:
        m = s.get(Material, mid)
        assert m.text_version == TEXT_PIPELINE_VERSION and 4 in m.pages_without_text
        assert m.chunk_count == chunks
        assert all(
            "Perceived/g3" not in t
            for t in s.scalars(select(Chunk.text).where(Chunk.material_id == mid))
        )
        q = s.get(Question, qid)
        assert q.source_chunk_id in s.scalars(select(Chunk.id).where(Chunk.material_id == mid))
        # the other learner's material is untouched
        assert s.get(Material, theirs).text_version == 1
    assert library.vector_count(runtime, user_id=user) == chunks
    with runtime.session_factory() as s:
        ids = set(s.scalars(select(Chunk.id).where(Chunk.user_id == user)))
        name = current_collection(s, user)
    assert set(runtime.vectors.chunk_ids(name)) == ids
    assert outdated_materials(runtime, user_id=user) == []


def test_reindex_command_upgrades_every_outdated_material(runtime, make_user, settings, capsys):
    user = make_user()
    mid = _old_material(runtime, user, keep_original=True)
    get_runtime.cache_clear()
    try:
        assert main(["reindex"]) == 0
    finally:
        get_runtime().engine.dispose()
        get_runtime.cache_clear()
    out = capsys.readouterr().out
    assert f"material {mid} (1/1)" in out and "chunks re-embedded" in out
    assert f"re-cleaned with text pipeline v{TEXT_PIPELINE_VERSION}" in out
    with runtime.session_factory() as s:
        assert s.get(Material, mid).text_version == TEXT_PIPELINE_VERSION
    # read again from the stored original PDF: its own text, headers and all cleaned
    pages = library.material_pages(runtime, user_id=user, material_id=mid)
    assert " ".join(pages[0].text.split()) == BODY and pages[3].text == "Garbled page."
