"""A topic focuses generation through the library's real hybrid search (ingested material)."""

from __future__ import annotations

import hashlib

from engine import library
from engine.generation import service
from tests.support.generation_data import BIOLOGY, HISTORY, grounded_responder


def _ingest(runtime, user_id, title, pages):
    data = "\n".join(pages).encode()
    return library.ingest_pages(
        runtime,
        user_id=user_id,
        pages=pages,
        title=title,
        filename=f"{title}.pdf",
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
    ).material.id


def test_topic_selects_matching_passages(runtime, make_user, llm_stub):
    user_id = make_user()
    bio = _ingest(runtime, user_id, "Biology", BIOLOGY)
    rome = _ingest(runtime, user_id, "Rome", HISTORY)

    offline_result = service.generate_questions(
        runtime,
        user_id=user_id,
        topic="Roman consuls, the Senate and the Republic",
        question_type="cloze",
        count=2,
    )
    assert offline_result.drafts
    assert {d.material_id for d in offline_result.drafts} == {rome}
    assert all(
        d.topic == "Roman consuls, the Senate and the Republic" for d in offline_result.drafts
    )

    llm_stub.responder = grounded_responder("mcq")
    s = llm_stub.settings_for(runtime.settings, generation_context_chunks=2)
    result = service.generate_questions(
        runtime.with_settings(s),
        user_id=user_id,
        topic="mitochondria and glycolysis",
        count=1,
        question_type="mcq",
        material_ids=[bio, rome],
    )
    prompt = llm_stub.chat_requests[0]["body"]["messages"][1]["content"]
    assert "Focus on this topic where the passages allow: mitochondria and glycolysis" in prompt
    assert "Glycolysis splits one glucose molecule" in prompt
    assert "consuls" not in prompt
    assert result.drafts[0].material_id == bio
