"""`engine.integrity` finds each kind of drift between PostgreSQL, Chroma and the data folder,
repairs it, and never touches another learner."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from engine import integrity, library
from engine.db.models import Chunk
from engine.retrieval.collections import current_collection
from engine.runtime import create_runtime
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
    store.add(name, user_id=user, chunk_ids=[987654], material_ids=[owl.id],
              embeddings=np.ones((1, 16), dtype=np.float32), model="openai/stub-embed")

    assert _kinds(rt) == {(user, "missing-vectors"), (user, "orphan-vectors")}
    assert _kinds(rt, other) == set()
    other_before = library.vector_count(rt, user_id=other)

    integrity.repair(rt, user_id=user)

    assert integrity.check(rt) == []
    assert set(store.chunk_ids(name)) == set(chunk_ids)
    assert library.search_library(rt, user_id=user, query=OWL)[0].material_id == owl.id
    assert library.vector_count(rt, user_id=other) == other_before


def test_a_model_change_is_reported_and_repaired_by_a_rebuild(rt, runtime, make_user,
                                                              llm_stub):
    user = make_user()
    library.ingest_pdf(rt, user_id=user, data=text_pdf([MOSS]), filename="m.pdf")
    changed = create_runtime(llm_stub.settings_for(
        runtime.settings, embedding_model="openai/stub-embed-b"), migrate=False)
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
    fern = library.ingest_pdf(rt, user_id=user, data=text_pdf([FERN]),
                              filename="f.pdf").material
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
