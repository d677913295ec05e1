"""The offline tutor answers short questions in the library's language: the question is
stemmed as the library was, even when it is too short for its own language to be told."""

from __future__ import annotations

import hashlib

import pytest

from engine import library
from engine.search import lexical_index, query_coverage, search
from engine.tutor import service, store
from tests.support.tutor_data import TRACING, ZEIGER


def _ingest_text(runtime, user_id, pages, title):
    body = "\n\n".join(pages)
    [result] = library.ingest_documents(
        runtime,
        user_id=user_id,
        documents=[
            library.DocumentInput(
                pages=pages,
                title=title,
                filename=f"{title}.txt",
                sha256=hashlib.sha256(body.encode()).hexdigest(),
                size_bytes=len(body.encode()),
                pages_without_text=[],
            )
        ],
    )
    return result.material


def _ask(runtime, user_id, text):
    conv = store.create_conversation(runtime, user_id=user_id)
    return service.ask(runtime, user_id=user_id, conversation_id=conv.id, message=text)


@pytest.mark.parametrize(
    ("question", "page", "opening"),
    [
        ("Was ist ein Zeiger?", 2, "Ein Zeiger ist eine Variable"),
        ("Was sind member variables?", 3, "Die Daten einer Klasse heißen member variables"),
    ],
)
def test_short_german_question_is_answered_offline_from_the_right_page(
    runtime, make_user, question, page, opening
):
    user_id = make_user()
    material = _ingest_text(runtime, user_id, ZEIGER, title="zeiger")
    assert material.language == "de"
    turn = _ask(runtime, user_id, question)
    assert turn.kind == "offline"  # not refused
    first = turn.message.sentences[0]
    assert first["text"].startswith(opening)
    cited = next(c for c in turn.message.citations if c.n == first["refs"][0])
    assert cited.page_start <= page <= cited.page_end


def test_short_german_question_finds_the_german_passage_by_its_words(runtime, make_user):
    user_id = make_user()
    _ingest_text(runtime, user_id, ZEIGER, title="zeiger")
    passages = search(runtime, user_id=user_id, query="Was ist ein Zeiger?", k=3)
    assert passages[0].page_start <= 2 <= passages[0].page_end
    with runtime.session_factory() as session:
        in_library, in_passage = query_coverage(
            runtime, session, user_id=user_id, query="Was ist ein Zeiger?", passages=passages
        )
    assert in_library == 1.0 and in_passage == 1.0


def test_english_library_still_answers_and_refuses_as_before(runtime, make_user):
    user_id = make_user()
    _ingest_text(runtime, user_id, TRACING, title="tracing")
    turn = _ask(runtime, user_id, "What is a trace tree?")
    assert turn.kind == "offline"
    assert turn.message.sentences[0]["text"].startswith("A trace tree is a set of traces")
    assert _ask(runtime, user_id, "Was ist ein Zeiger?").kind == "refusal"


def test_a_learners_query_stemming_follows_only_their_own_library(runtime, make_user):
    german, english = make_user(), make_user()
    _ingest_text(runtime, german, ZEIGER, title="zeiger")
    _ingest_text(runtime, english, TRACING, title="tracing")
    with runtime.session_factory() as session:
        assert lexical_index(runtime, session, german).languages == ("de",)
        assert lexical_index(runtime, session, english).languages == ("en",)
    passages = search(runtime, user_id=english, query="Was ist ein Zeiger?", k=3)
    assert all(p.material_title == "tracing" for p in passages)
