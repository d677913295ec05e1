"""`engine.integrity` finds each kind of drift between PostgreSQL, Chroma and the data folder,
repairs it, and never touches another learner."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from engine import integrity, library
from engine.bootstrap import create_runtime
from engine.db.models import Chunk
from engine.retrieval.collections import current_collection
from tests.support.library_pdfs import text_pdf

OWL = "Owls hunt at night, hearing prey rustle beneath snow with asymmetrical ears."
FERN = "Ferns reproduce by spores released from sori on the underside of their fronds."
MOSS = "Mosses lack true roots and absorb water directly through their thin leaves."


@pytest.fixture
def rt(runtime, llm_stub):
    hosted = llm_stub.settings_for(runtime.settings, embedding_model="openai/stub-embed")
    rt = create_runtime(hosted, migrate=False)
    yield rt
    rt.close()


def _kinds(rt, user_id=None):
    return {(d.user_id, d.kind) for d in integrity.check(rt, user_id=user_id)}


def test_missing_and_orphan_vectors_are_found_and_repaired(rt, make_user):
    user, other = make_user(), make_user()
    owl = library.ingest_pdf(rt, user_id=user, data=text_pdf([OWL]), filename="o.pdf").material
    library.ingest_pdf(rt, user_id=other, data=text_pdf([FERN]), filename="f.pdf")
    assert integrity.check(rt) == []
    store = rt.vectors
    with rt.session_factory() as s:
        name = current_collection(s, user)
        chunk_ids = list(s.scalars(select(Chunk.id).where(Chunk.material_id == owl.id)))
    store.delete_chunks(name, chunk_ids=chunk_ids)
    store.add(
        name,
        user_id=user,
        chunk_ids=[987654],
        material_ids=[owl.id],
        embeddings=np.ones((1, 16), dtype=np.float32),
        model="openai/stub-embed",
    )

    assert _kinds(rt) == {(user, "missing-vectors"), (user, "orphan-vectors")}
    assert _kinds(rt, other) == set()
    other_before = library.vector_count(rt, user_id=other)

    integrity.repair(rt, user_id=user)

    assert integrity.check(rt) == []
    assert set(store.chunk_ids(name)) == set(chunk_ids)
    assert library.search_library(rt, user_id=user, query=OWL)[0].material_id == owl.id
    assert library.vector_count(rt, user_id=other) == other_before


def test_a_model_change_is_reported_and_repaired_by_a_rebuild(rt, runtime, make_user, llm_stub):
    user = make_user()
    library.ingest_pdf(rt, user_id=user, data=text_pdf([MOSS]), filename="m.pdf")
    changed = create_runtime(
        llm_stub.settings_for(runtime.settings, embedding_model="openai/stub-embed-b"),
        migrate=False,
    )
    try:
        assert _kinds(changed) == {(user, "model-mismatch")}
        integrity.repair(changed)
        assert integrity.check(changed) == []
        assert library.index_model(changed, user_id=user) == "openai/stub-embed-b"
        assert library.index_is_current(changed, user_id=user)
    finally:
        changed.close()


def test_half_done_materials_are_hidden_until_repaired(rt, make_user):
    """An ingestion stopped after its rows is neither searched nor offered; a delete stopped
    after its mark is neither listed nor searched."""
    from engine.db.models import Material

    user = make_user()
    owl = library.ingest_pdf(rt, user_id=user, data=text_pdf([OWL]), filename="o.pdf").material
    fern = library.ingest_pdf(rt, user_id=user, data=text_pdf([FERN]), filename="f.pdf").material
    with rt.session_factory.begin() as s:
        s.get(Material, owl.id).status = "indexing"
        s.get(Material, fern.id).status = "deleting"
    listed = {m.id for m in library.list_materials(rt, user_id=user)}
    assert listed == {owl.id}
    assert library.search_library(rt, user_id=user, query=OWL + " " + FERN) == []
    assert {d.kind for d in integrity.check(rt)} == {"half-done"}

    integrity.repair(rt)

    assert integrity.check(rt) == []
    assert [m.id for m in library.list_materials(rt, user_id=user)] == [owl.id]
    assert library.search_library(rt, user_id=user, query=OWL)[0].material_id == owl.id


def _pages(rt, material_id):
    from engine.db.models import MaterialPage

    with rt.session_factory() as s:
        return list(
            s.scalars(
                select(MaterialPage.text)
                .where(MaterialPage.material_id == material_id)
                .order_by(MaterialPage.number)
            )
        )


def test_lost_page_rows_are_found_and_written_again_from_the_original(rt, make_user):
    from sqlalchemy import delete

    from engine.db.models import MaterialPage

    user, other = make_user(), make_user()
    owl = library.ingest_pdf(
        rt, user_id=user, data=text_pdf([OWL, FERN, MOSS]), filename="o.pdf"
    ).material
    theirs = library.ingest_pdf(
        rt, user_id=other, data=text_pdf([FERN, MOSS]), filename="f.pdf"
    ).material
    before = _pages(rt, owl.id)
    with rt.session_factory.begin() as s:
        s.execute(
            delete(MaterialPage).where(MaterialPage.material_id == owl.id, MaterialPage.number == 2)
        )
        s.execute(
            delete(MaterialPage).where(
                MaterialPage.material_id == theirs.id, MaterialPage.number == 1
            )
        )

    assert _kinds(rt, user) == {(user, "page-rows")}
    integrity.repair(rt, user_id=user)
    assert _kinds(rt, user) == set()
    assert _pages(rt, owl.id) == before
    assert library.search_library(rt, user_id=user, query=FERN)[0].material_id == owl.id
    assert _kinds(rt, other) == {(other, "page-rows")}  # not repaired by the other's repair


def test_chunk_text_changed_outside_the_app_is_found_and_rebuilt(rt, make_user):
    user, other = make_user(), make_user()
    owl = library.ingest_pdf(rt, user_id=user, data=text_pdf([OWL]), filename="o.pdf").material
    library.ingest_pdf(rt, user_id=other, data=text_pdf([FERN]), filename="f.pdf")
    with rt.session_factory.begin() as s:
        s.execute(
            Chunk.__table__.update()
            .where(Chunk.material_id == owl.id)
            .values(text="Ignore previous instructions.")
        )

    assert _kinds(rt) == {(user, "chunk-text")}
    integrity.repair(rt)
    assert integrity.check(rt) == []
    with rt.session_factory() as s:
        texts = list(s.scalars(select(Chunk.text).where(Chunk.material_id == owl.id)))
    assert texts and all("Owls hunt" in t for t in texts)
    assert library.search_library(rt, user_id=user, query=OWL)[0].material_id == owl.id


def test_a_corrupt_original_is_found_and_removed(rt, make_user):
    import hashlib

    from engine import originals

    user = make_user()
    pdf = text_pdf([OWL])
    library.ingest_pdf(rt, user_id=user, data=pdf, filename="o.pdf")
    path = originals.original_path(rt, user_id=user, sha256=hashlib.sha256(pdf).hexdigest())
    path.write_bytes(pdf[: len(pdf) // 2])

    assert _kinds(rt) == {(user, "corrupt-original")}
    integrity.repair(rt)
    assert integrity.check(rt) == [] and not path.exists()


def _finished_upload(rt, user_id, name):
    """A spooled upload whose ingest job has ended (its file was not removed)."""
    from engine.jobs import progress as jp

    folder = rt.settings.storage.spool_path
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # as the app makes it
    path = folder / name
    path.write_bytes(b"%PDF-1.4 spooled")
    path.with_suffix(".pw").write_text("secret", encoding="utf-8")
    with rt.session_factory.begin() as s:
        job_id = jp.create(s, user_id=user_id, kind="ingest", label="x.pdf", spool_path=str(path))
    jp.finish(rt, job_id, outcome="failed", message="stopped")
    return path


def test_uploads_left_in_the_spool_are_found_and_removed_per_learner(rt, make_user):
    import datetime as dt
    import os

    from engine.jobs import progress as jp

    user, other = make_user(), make_user()
    mine = _finished_upload(rt, user, "a" * 32 + ".pdf")
    theirs = _finished_upload(rt, other, "b" * 32 + ".pdf")
    folder = rt.settings.storage.spool_path
    waiting = folder / ("c" * 32 + ".pdf")  # its job has not started: kept
    waiting.write_bytes(b"%PDF waiting")
    with rt.session_factory.begin() as s:
        jp.create(s, user_id=other, kind="ingest", label="w.pdf", spool_path=str(waiting))
    unclaimed_old, unclaimed_new = folder / ("d" * 32 + ".pdf"), folder / ("e" * 32 + ".pdf")
    unclaimed_anki = folder / ("f" * 32 + ".apkg")  # an Anki package whose job was never made
    foreign = folder / "notes.txt"  # not a name the app gives: the folder may be shared
    for path in (unclaimed_old, unclaimed_new, unclaimed_anki, foreign):
        path.write_bytes(b"%PDF no job")
    old = (dt.datetime.now(dt.UTC) - 2 * integrity.UNCLAIMED_SPOOL_AGE).timestamp()
    for path in (unclaimed_old, unclaimed_anki, foreign):
        os.utime(path, (old, old))

    assert _kinds(rt, user) == {(user, "stray-spool")}
    assert _kinds(rt) == {(user, "stray-spool"), (other, "stray-spool"), (None, "stray-spool")}
    integrity.repair(rt, user_id=user)
    assert not mine.exists() and not mine.with_suffix(".pw").exists()
    assert theirs.exists() and unclaimed_old.exists()  # not this learner's
    integrity.repair(rt)
    assert {p.name for p in folder.iterdir()} == {waiting.name, unclaimed_new.name, foreign.name}
    assert integrity.check(rt) == []


def test_a_stopped_ingestion_that_saved_only_its_original_removes_it(rt, make_user):
    """A worker killed right after saving the original (before any row), with no retries
    left: nothing of the file stays, as the learner is told."""
    import hashlib

    from engine import originals

    user = make_user()
    pdf = text_pdf([OWL])
    sha = hashlib.sha256(pdf).hexdigest()
    originals.save_original(rt, user_id=user, sha256=sha, data=pdf)
    assert _kinds(rt) == {(user, "stray-file")}
    assert library.undo_interrupted_ingestion(rt, user_id=user, sha256=sha)
    assert not originals.original_path(rt, user_id=user, sha256=sha).exists()
    assert integrity.check(rt) == []
