"""The library service against real PostgreSQL and real Chroma: ingest, dedupe, preview,
rename, delete, search, isolation between learners, and consistency under injected failures."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import library
from engine.db.models import Chunk, Material, MaterialPage
from engine.errors import (
    InvalidInput,
    NotFound,
    PdfEncrypted,
    PdfMalformed,
    PdfNoText,
    VectorStoreUnavailable,
)
from engine.retrieval.vectors import VectorStore
from engine.search import search_in
from tests.support.library_pdfs import (
    blank_pages_pdf,
    encrypted_pdf,
    mixed_pdf,
    text_pdf,
    truncated_pdf,
)

PHOTOSYNTHESIS = (
    "Photosynthesis converts light energy into chemical energy. In the chloroplast, the light "
    "reactions split water and release oxygen, while the Calvin cycle fixes carbon dioxide "
    "into sugars using ATP and NADPH."
)
VOLCANO = (
    "Volcanic eruptions are driven by magma rising through the crust. Basaltic lava flows "
    "easily, whereas rhyolitic magma is viscous and traps gas, which leads to explosive "
    "eruptions and pyroclastic flows."
)
FILLER = (
    "This page discusses general study habits: spacing practice over days, testing yourself "
    "instead of rereading, and sleeping well before an exam. "
)


def _counts(rt, user_id: int) -> tuple[int, int, int, int]:
    with rt.session_factory() as s:
        materials = s.scalar(
            select(func.count()).select_from(Material).where(Material.user_id == user_id)
        )
        chunks = s.scalar(select(func.count()).select_from(Chunk).where(Chunk.user_id == user_id))
        pages = s.scalar(
            select(func.count()).select_from(MaterialPage).where(MaterialPage.user_id == user_id)
        )
    return materials, chunks, pages, library.vector_count(rt, user_id=user_id)


def _book() -> bytes:
    return text_pdf([FILLER * 3, PHOTOSYNTHESIS, FILLER * 2, VOLCANO], title="Earth and Life")


def test_ingest_stores_pages_chunks_vectors_and_finds_passages(runtime, make_user):
    user = make_user()
    seen = []
    result = library.ingest_pdf(
        runtime, user_id=user, data=_book(), filename="earth.pdf", progress=seen.append
    )
    m = result.material
    assert not result.duplicate
    assert m.title == "Earth and Life"
    assert m.page_count == 4 and m.chunk_count >= 1 and m.pages_without_text == []
    assert _counts(runtime, user) == (1, m.chunk_count, 4, m.chunk_count)
    # progress was reported page by page, then chunk by chunk, and ended done
    assert [p.pages_read for p in seen if p.stage == "reading"] == [1, 2, 3, 4]
    assert seen[-1].stage == "done" and seen[-1].chunks_indexed == m.chunk_count

    with runtime.session_factory() as s:
        hits = search_in(runtime, s, user_id=user, query="How do plants fix carbon dioxide?", k=3)
    assert hits[0].page_start <= 2 <= hits[0].page_end
    assert "Calvin cycle" in hits[0].text
    assert hits[0].material_title == "Earth and Life" and hits[0].material_id == m.id
    assert hits[0].score >= hits[-1].score

    with runtime.session_factory() as s:
        hits = search_in(runtime, s, user_id=user, query="explosive eruptions viscous magma", k=1)
    assert "rhyolitic" in hits[0].text and hits[0].page_start <= 4 == hits[0].page_end

    pages = library.material_pages(runtime, user_id=user, material_id=m.id)
    assert [p.number for p in pages] == [1, 2, 3, 4]
    assert "Calvin cycle" in pages[1].text


def test_same_file_twice_is_not_duplicated(runtime, make_user):
    user = make_user()
    first = library.ingest_pdf(runtime, user_id=user, data=_book(), filename="a.pdf")
    again = library.ingest_pdf(runtime, user_id=user, data=_book(), filename="copy.pdf")
    assert again.duplicate and again.material.id == first.material.id
    assert _counts(runtime, user)[0] == 1
    # another learner may hold the same file
    other = make_user()
    theirs = library.ingest_pdf(runtime, user_id=other, data=_book(), filename="a.pdf")
    assert not theirs.duplicate and theirs.material.id != first.material.id


def test_partly_readable_file_is_ingested_with_a_note(runtime, make_user):
    user = make_user()
    data = mixed_pdf([PHOTOSYNTHESIS, None, VOLCANO, None])
    m = library.ingest_pdf(runtime, user_id=user, data=data, filename="mixed.pdf").material
    assert m.pages_without_text == [2, 4]
    assert "pages 2, 4" in m.note


@pytest.mark.parametrize(
    ("data", "password", "error", "words"),
    [
        (blank_pages_pdf(2), None, PdfNoText, "no text"),
        (truncated_pdf(), None, PdfMalformed, "damaged"),
        (b"GIF89a not a pdf at all", None, PdfMalformed, "not a PDF"),
        (encrypted_pdf(PHOTOSYNTHESIS, "s3cret"), None, PdfEncrypted, "password"),
        (encrypted_pdf(PHOTOSYNTHESIS, "s3cret"), "wrong", PdfEncrypted, "does not open"),
    ],
    ids=["image-only", "truncated", "not-a-pdf", "encrypted", "wrong-password"],
)
def test_refused_file_leaves_nothing_behind(runtime, make_user, data, password, error, words):
    user = make_user()
    with pytest.raises(error) as caught:
        library.ingest_pdf(runtime, user_id=user, data=data, filename="x.pdf", password=password)
    assert words in caught.value.user_message
    assert _counts(runtime, user) == (0, 0, 0, 0)


def test_encrypted_file_opens_with_its_password(runtime, make_user):
    user = make_user()
    data = encrypted_pdf(PHOTOSYNTHESIS, "s3cret")
    m = library.ingest_pdf(
        runtime, user_id=user, data=data, filename="locked.pdf", password="s3cret"
    ).material
    assert m.chunk_count == 1
    with runtime.session_factory() as s:
        assert "Calvin" in search_in(runtime, s, user_id=user, query="Calvin cycle", k=1)[0].text


def test_learners_never_see_each_others_passages(runtime, make_user):
    alice, bob = make_user(), make_user()
    library.ingest_pdf(runtime, user_id=alice, data=text_pdf([PHOTOSYNTHESIS]), filename="a.pdf")
    library.ingest_pdf(runtime, user_id=bob, data=text_pdf([VOLCANO]), filename="b.pdf")
    with runtime.session_factory() as s:
        alice_ids = set(s.scalars(select(Chunk.id).where(Chunk.user_id == alice)))
        for query in ["photosynthesis Calvin cycle chloroplast", PHOTOSYNTHESIS, "light", "a"]:
            hits = search_in(runtime, s, user_id=bob, query=query, k=20)
            assert not {h.chunk_id for h in hits} & alice_ids
            assert all("Calvin" not in h.text for h in hits)
        # bob restricting to alice's material id gets nothing either
        alice_material = s.scalar(select(Material.id).where(Material.user_id == alice))
        assert (
            search_in(
                runtime, s, user_id=bob, query="photosynthesis", material_ids=[alice_material]
            )
            == []
        )
    with pytest.raises(NotFound):
        library.material_pages(runtime, user_id=bob, material_id=alice_material)
    with pytest.raises(NotFound):
        library.delete_material(runtime, user_id=bob, material_id=alice_material)
    assert _counts(runtime, alice)[0] == 1


def test_search_can_be_restricted_to_chosen_materials(runtime, make_user):
    user = make_user()
    a = library.ingest_pdf(
        runtime, user_id=user, data=text_pdf([PHOTOSYNTHESIS]), filename="a.pdf"
    ).material
    b = library.ingest_pdf(
        runtime, user_id=user, data=text_pdf([VOLCANO]), filename="b.pdf"
    ).material
    with runtime.session_factory() as s:
        hits = search_in(
            runtime, s, user_id=user, query="photosynthesis oxygen", k=5, material_ids=[b.id]
        )
        assert hits and {h.material_id for h in hits} == {b.id}
        both = search_in(runtime, s, user_id=user, query="photosynthesis oxygen", k=5)
        assert both[0].material_id == a.id


def test_rename_and_delete(runtime, make_user):
    user = make_user()
    m = library.ingest_pdf(runtime, user_id=user, data=_book(), filename="a.pdf").material
    renamed = library.rename_material(
        runtime, user_id=user, material_id=m.id, title="  Biology   notes "
    )
    assert renamed.title == "Biology notes"
    with pytest.raises(InvalidInput):
        library.rename_material(runtime, user_id=user, material_id=m.id, title="   ")
    with runtime.session_factory() as s:
        hits = search_in(runtime, s, user_id=user, query="Calvin", k=1)
        assert hits[0].material_title == "Biology notes"

    library.delete_material(runtime, user_id=user, material_id=m.id)
    assert _counts(runtime, user) == (0, 0, 0, 0)
    with runtime.session_factory() as s:
        assert search_in(runtime, s, user_id=user, query="Calvin cycle", k=5) == []
    # the file can be added again after deletion
    again = library.ingest_pdf(runtime, user_id=user, data=_book(), filename="a.pdf")
    assert not again.duplicate


# --- consistency under failure ------------------------------------------------------------


class Boom(RuntimeError):
    pass


def _fail(*args, **kwargs):
    raise Boom("injected failure")


@pytest.mark.parametrize("step", ["embedding", "rows", "vectors", "commit"])
def test_failure_at_any_step_of_ingestion_leaves_both_stores_unchanged(
    runtime, make_user, monkeypatch, step
):
    user = make_user()
    kept = library.ingest_pdf(
        runtime, user_id=user, data=text_pdf([VOLCANO]), filename="kept.pdf"
    ).material
    before = _counts(runtime, user)

    if step == "embedding":
        from engine.retrieval.embeddings import OnnxEmbedder

        monkeypatch.setattr(OnnxEmbedder, "embed_documents", _fail)
    elif step == "rows":
        from sqlalchemy.orm import Session

        original_flush = Session.flush

        def flush_then_fail(self, *a, **kw):
            original_flush(self, *a, **kw)
            if any(isinstance(o, Material) for o in self.identity_map.values()):
                raise Boom("after the material row")

        monkeypatch.setattr(Session, "flush", flush_then_fail)
    elif step == "vectors":
        original_add = VectorStore.add

        def add_half_then_fail(self, name, *, chunk_ids, material_ids, embeddings, **kw):
            # part of the vectors reach Chroma before it fails
            original_add(
                self,
                name,
                chunk_ids=chunk_ids[:1],
                material_ids=material_ids[:1],
                embeddings=embeddings[:1],
                **kw,
            )
            raise VectorStoreUnavailable("The vector store could not save the passages.")

        monkeypatch.setattr(VectorStore, "add", add_half_then_fail)
    else:
        from sqlalchemy.orm import SessionTransaction

        monkeypatch.setattr(SessionTransaction, "commit", _fail)

    with pytest.raises((Boom, VectorStoreUnavailable)):
        library.ingest_pdf(runtime, user_id=user, data=_book(), filename="new.pdf")
    monkeypatch.undo()

    assert _counts(runtime, user) == before
    with runtime.session_factory() as s:
        hits = search_in(runtime, s, user_id=user, query="Calvin cycle photosynthesis", k=10)
    assert {h.material_id for h in hits} <= {kept.id}


@pytest.mark.parametrize("step", ["vectors", "commit"])
def test_failed_delete_keeps_rows_and_vectors(runtime, make_user, monkeypatch, step):
    user = make_user()
    m = library.ingest_pdf(runtime, user_id=user, data=_book(), filename="a.pdf").material
    before = _counts(runtime, user)
    if step == "vectors":
        monkeypatch.setattr(VectorStore, "delete_material", _fail)
    else:
        from sqlalchemy.orm import SessionTransaction

        monkeypatch.setattr(SessionTransaction, "commit", _fail)
    with pytest.raises(Boom):
        library.delete_material(runtime, user_id=user, material_id=m.id)
    monkeypatch.undo()
    assert _counts(runtime, user) == before
    with runtime.session_factory() as s:
        assert "Calvin" in search_in(runtime, s, user_id=user, query="Calvin cycle", k=1)[0].text


GERMAN = (
    "Eine Gerade teilt die Ebene in zwei Halbebenen. Zwei Punkte liegen genau dann in der "
    "gleichen Halbebene, wenn ihre Verbindungsstrecke die Gerade nicht schneidet. Diese "
    "Eigenschaft nutzen wir bei der Untersuchung konvexer Mengen und ihrer Randpunkte."
)


def test_ingest_records_the_language_of_the_material_and_of_each_page(runtime, make_user):
    user = make_user()
    data = text_pdf([FILLER * 6, PHOTOSYNTHESIS * 6, FILLER * 6, GERMAN * 4], title="Mixed notes")
    m = library.ingest_pdf(runtime, user_id=user, data=data, filename="mixed.pdf").material
    assert m.language == "en" and m.offline_supported
    with runtime.session_factory() as s:
        langs = s.scalars(
            select(MaterialPage.language)
            .where(MaterialPage.material_id == m.id)
            .order_by(MaterialPage.number)
        ).all()
        german = s.scalars(
            select(Chunk.lexical).where(Chunk.material_id == m.id, Chunk.page_start == 4)
        ).first()
    assert langs == ["en", "en", "en", "de"]
    # The German page is stemmed as German: "Halbebenen" and "Halbebene" are one term, and
    # a German question finds the page.
    assert "halbeb" in german.split() and "und" not in german.split()
    with runtime.session_factory() as s:
        hits = search_in(
            runtime,
            s,
            user_id=user,
            k=1,
            query="Wann liegen zwei Punkte in der gleichen Halbebenen?",
        )
    assert hits[0].page_start == 4


def test_a_material_in_a_language_offline_questions_are_not_made_in_says_so(runtime, make_user):
    italian = (
        "La fotosintesi trasforma l'energia della luce in energia chimica. Nel "
        "cloroplasto le reazioni alla luce scindono l'acqua e liberano ossigeno, mentre "
        "il ciclo di Calvin fissa l'anidride carbonica negli zuccheri. "
    ) * 3
    user = make_user()
    m = library.ingest_pdf(
        runtime, user_id=user, data=text_pdf([italian], title="Appunti"), filename="appunti.pdf"
    ).material
    assert m.language == "it" and not m.offline_supported
    [listed] = library.list_materials(runtime, user_id=user)
    assert listed.language == "it" and not listed.offline_supported
