"""Hosted embedding calls (a litellm embedding model instead of the bundled one) are logged in
`llm_usage` for the learner they were made for, and count against that learner's daily
allowance of embedded texts; a refused call sends nothing and stores nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import library
from engine.bootstrap import create_runtime
from engine.db.models import LLMUsage, Material
from engine.errors import RateLimited
from tests.support.library_pdfs import text_pdf

BODY = (
    "Glaciers carve U-shaped valleys. A moraine is the ridge of rock and soil a glacier "
    "leaves behind when it retreats."
)


@pytest.fixture
def hosted(runtime, llm_stub):
    """A runtime whose embedding model is hosted (the stub's embeddings endpoint)."""

    def make(**overrides):
        s = llm_stub.settings_for(
            runtime.settings, embedding_model="openai/stub-embed", **overrides
        )
        rt = create_runtime(s, migrate=False)
        made.append(rt)
        return rt

    made = []
    yield make
    for rt in made:
        rt.close()


def _embedding_rows(rt, uid):
    with rt.session_factory() as session:
        return list(
            session.scalars(
                select(LLMUsage)
                .where(LLMUsage.user_id == uid, LLMUsage.task == "embedding")
                .order_by(LLMUsage.id)
            )
        )


def test_ingest_and_search_embeddings_are_logged_for_the_learner(hosted, llm_stub, make_user):
    rt = hosted()
    alice, bob = make_user(), make_user()
    m = library.ingest_pdf(
        rt, user_id=alice, data=text_pdf([BODY], title="Glaciers"), filename="glaciers.pdf"
    ).material
    [ingest] = _embedding_rows(rt, alice)
    assert (ingest.outcome, ingest.model, ingest.generator) == ("ok", "openai/stub-embed", "llm")
    assert ingest.units == m.chunk_count and ingest.tokens_in > 0
    assert ingest.account_key and ingest.expires_at is None

    assert library.search_library(rt, user_id=alice, query="moraine")[0].material_id == m.id
    rows = _embedding_rows(rt, alice)
    assert len(rows) == 2 and rows[1].units == 1
    assert len(llm_stub.embedding_requests) == 2
    # Nothing of it is Bob's.
    assert _embedding_rows(rt, bob) == []


def test_hosted_embeddings_count_against_the_daily_text_allowance(hosted, llm_stub, make_user):
    rt = hosted(hosted_embedding_max_texts_per_day=2)
    alice, bob = make_user(), make_user()
    library.ingest_pdf(
        rt, user_id=alice, data=text_pdf([BODY], title="Glaciers"), filename="glaciers.pdf"
    )
    library.search_library(rt, user_id=alice, query="moraine")
    assert sum(r.units for r in _embedding_rows(rt, alice)) == 2
    sent = len(llm_stub.embedding_requests)

    with pytest.raises(RateLimited, match="up to 2 passages and searches a day") as refused:
        library.search_library(rt, user_id=alice, query="valley")
    assert refused.value.retry_after_s > 0
    with pytest.raises(RateLimited):
        library.ingest_pdf(
            rt,
            user_id=alice,
            data=text_pdf(["Rivers cut V-shaped valleys."], title="Rivers"),
            filename="rivers.pdf",
        )
    assert len(llm_stub.embedding_requests) == sent
    with rt.session_factory() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(Material)
                .where(Material.user_id == alice, Material.status == "ready")
            )
            == 1
        )
        assert (
            session.scalar(
                select(func.count()).select_from(LLMUsage).where(LLMUsage.outcome == "reserved")
            )
            == 0
        )

    # Re-embedding the installation does for the learner (a rebuild after a change of model)
    # is logged but never refused, and leaves the allowance as it was.
    assert library.reindex(rt, user_id=alice) == 1
    rebuilt = _embedding_rows(rt, alice)[-1]
    assert (rebuilt.outcome, rebuilt.units) == ("ok", 0) and rebuilt.tokens_in > 0
    with pytest.raises(RateLimited):
        library.search_library(rt, user_id=alice, query="valley")

    # Another learner's allowance is untouched.
    library.ingest_pdf(
        rt, user_id=bob, data=text_pdf([BODY], title="Glaciers"), filename="glaciers.pdf"
    )
    assert library.search_library(rt, user_id=bob, query="moraine")
