"""Switching the embedding model: the collection records its model, search keeps working on the
lexical ranking meanwhile, and a rebuild re-embeds every chunk (here through litellm against the
stub OpenAI-compatible server) with progress."""

from __future__ import annotations

from engine import library
from engine.bootstrap import create_runtime
from engine.search import search_in
from tests.support.library_pdfs import text_pdf

SOIL = (
    "Soil forms slowly as rock weathers and organic matter accumulates; a centimetre of "
    "topsoil can take centuries to form."
)
BEES = "Honey bees communicate the direction of flowers with a waggle dance on the comb."


def test_model_change_is_detected_and_rebuilt_with_progress(runtime, make_user, llm_stub):
    user = make_user()
    library.ingest_pdf(runtime, user_id=user, data=text_pdf([SOIL]), filename="soil.pdf")
    assert library.index_model(runtime, user_id=user) == "all-MiniLM-L6-v2-int8"
    assert library.index_is_current(runtime, user_id=user)

    hosted = llm_stub.settings_for(runtime.settings, embedding_model="openai/stub-embed")
    rt2 = create_runtime(hosted, migrate=False)
    try:
        assert not library.index_is_current(rt2, user_id=user)
        # until the rebuild, search still answers from the lexical ranking
        with rt2.session_factory() as s:
            assert "topsoil" in search_in(rt2, s, user_id=user, query="topsoil centuries")[0].text

        seen = []
        total = library.reindex(rt2, user_id=user, progress=lambda d, t: seen.append((d, t)))
        assert total == 1 and seen[-1] == (1, 1)
        assert library.index_model(runtime, user_id=user) == "openai/stub-embed"
        assert library.index_is_current(rt2, user_id=user)
        assert library.vector_count(runtime, user_id=user) == 1
        assert any(r["path"].endswith("/embeddings") for r in llm_stub.requests)

        # new material is embedded by the hosted model and both are searchable
        m = library.ingest_pdf(
            rt2, user_id=user, data=text_pdf([BEES]), filename="bees.pdf"
        ).material
        assert m.embedding_model == "openai/stub-embed"
        assert library.vector_count(runtime, user_id=user) == 2
        with rt2.session_factory() as s:
            hits = search_in(rt2, s, user_id=user, query="waggle dance of honey bees", k=2)
        assert hits[0].material_id == m.id
    finally:
        rt2.close()


def test_a_material_still_being_read_is_not_a_stale_index(runtime, make_user):
    """Its passages are saved before its first vectors exist; the Library page must not take
    that for an index built by another model and queue a rebuild."""
    from engine.db.models import Material
    from engine.domain.vocabulary import MaterialStatus
    from tests.support.generation_data import add_material

    user = make_user()
    material_id, _ = add_material(runtime.session_factory, user, "Soil", [SOIL])
    with runtime.session_factory.begin() as session:
        session.get(Material, material_id).status = MaterialStatus.INDEXING
    assert library.index_is_current(runtime, user_id=user)
    with runtime.session_factory.begin() as session:
        session.get(Material, material_id).status = MaterialStatus.READY
    assert not library.index_is_current(runtime, user_id=user)  # ready, and no vectors at all
