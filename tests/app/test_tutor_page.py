"""AppTest for the Tutor page: empty state, offline answers with citations, a model answer
streamed from the stub, failure mid-stream with Retry, conversations, escaping."""

from __future__ import annotations

import pytest

from engine import library
from engine.config import get_settings
from engine.tutor import store
from tests.support.llm_stub import Reply, fails_mid_stream
from tests.support.tutor_data import OFF_TOPIC, biology_pdf

QUESTION = "How does the Calvin cycle fix carbon dioxide?"
ANSWER = "The Calvin cycle fixes carbon dioxide into sugars using ATP and NADPH [1]."


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [i.value for i in at.info]
    parts += [w.value for w in at.warning] + [x.label for x in at.expander]
    return "\n".join(str(p) for p in parts)


def open_tutor(at):
    at.switch_page("pages/tutor.py").run()
    assert not at.exception
    return at


def ask(at, text):
    at.chat_input(key="tutor_input").set_value(text).run()
    assert not at.exception
    return at


@pytest.fixture
def learner_app(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    library.ingest_pdf(runtime, user_id=uid, data=biology_pdf(), filename="biology.pdf")
    return at, uid


@pytest.fixture
def with_model(llm_stub, monkeypatch):
    for k, v in llm_stub.env_for().items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    return llm_stub


def test_no_materials_says_what_to_do(signed_in_app):
    at = open_tutor(signed_in_app())
    assert "you have none yet" in texts(at)
    assert "Offline mode" in texts(at)


def test_offline_answer_with_citations_and_refusal(learner_app, runtime):
    at, uid = learner_app
    open_tutor(at)
    ask(at, QUESTION)
    shown = texts(at)
    assert "Offline answer" in shown
    assert ":blue-background[**1**]" in shown  # a marker after the cited sentence
    assert any(e.label.startswith("[1] Plant Biology Basics") for e in at.expander)
    convs = store.list_conversations(runtime, user_id=uid)
    assert len(convs) == 1 and convs[0].title == QUESTION
    ask(at, OFF_TOPIC)
    assert "does not cover this" in texts(at)
    assert len(store.list_messages(runtime, user_id=uid, conversation_id=convs[0].id)) == 4


def test_model_answer_streams_and_failure_offers_retry(with_model, learner_app, runtime):
    at, uid = learner_app
    open_tutor(at)
    with_model.script(fails_mid_stream(ANSWER, after_words=3))
    ask(at, QUESTION)
    assert "has no answer yet" in texts(at)
    assert "interrupted" in texts(at)
    retry = next(b for b in at.button if b.label == "Retry")
    with_model.script(Reply(content=ANSWER))
    retry.click().run()
    assert not at.exception
    assert "has no answer yet" not in texts(at)
    assert ":blue-background[**1**]" in texts(at)
    assert len(with_model.chat_requests) == 2
    assert all(r["body"]["stream"] for r in with_model.chat_requests)


def test_general_toggle_labels_answer(with_model, learner_app):
    at, _ = learner_app
    open_tutor(at)
    at.toggle(key="tutor_general").set_value(True).run()
    with_model.script(Reply(content="France won it; Didier Deschamps was the captain."))
    ask(at, OFF_TOPIC)
    assert "General knowledge — not from your materials" in texts(at)


def test_titles_are_escaped_and_delete_needs_confirmation(learner_app, runtime):
    at, uid = learner_app
    conv = store.create_conversation(
        runtime, user_id=uid, title="![x](http://evil.example/p.png) **bold**"
    )
    open_tutor(at)
    label = next(b.label for b in at.button if b.key == f"tutor_conv_{conv.id}")
    assert "\\!\\[x\\]\\(http" in label and "\\*\\*bold\\*\\*" in label
    delete = at.button(key=f"tutor_delete_{conv.id}")
    assert delete.disabled
    at.checkbox(key=f"tutor_confirm_{conv.id}").check().run()
    at.button(key=f"tutor_delete_{conv.id}").click().run()
    assert not at.exception
    assert store.list_conversations(runtime, user_id=uid) == []


def test_hostile_pdf_text_in_answers_renders_no_link_or_image(signed_in_app, runtime):
    from tests.support.hostile import ingest_hostile, renders_link_or_image

    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    material = ingest_hostile(runtime, uid, "http://127.0.0.1:9/hostile")
    store.create_conversation(runtime, user_id=uid, title=material.title)
    open_tutor(at)
    ask(at, "photosynthesis chloroplasts")
    strings = [
        str(e.value)
        for kind in ("markdown", "caption", "info", "warning", "error", "subheader")
        for e in getattr(at, kind)
    ]
    strings += [e.label for e in at.expander] + [b.label for b in at.button]
    assert [s for s in strings if renders_link_or_image(s)] == []
    assert any("click\\]\\(" in s for s in strings)  # the hostile text is shown, literally


def test_quiz_me_hides_answers_until_answered_and_rejected_questions_go(learner_app, runtime):
    at, uid = learner_app
    open_tutor(at)
    at.segmented_control(key="tutor_mode").set_value("quiz").run()
    ask(at, "the Calvin cycle")
    quiz = [
        m
        for c in store.list_conversations(runtime, user_id=uid)
        for m in store.list_messages(runtime, user_id=uid, conversation_id=c.id)
        if m.kind == "quiz"
    ][0]
    items = [s for s in quiz.sentences if "quiz" in s]
    i, item = next((i, s) for i, s in enumerate(items) if s["quiz"]["type"] == "mcq")
    shown = texts(at)
    assert ":material/check_circle:" not in shown  # no option is marked right yet
    assert "**Why:**" not in shown  # nor the explanation
    at.radio(key=f"tutor_quiz_{quiz.id}_{i}_choice").set_value(item["quiz"]["correct_index"])
    # This question's own form (the quiz's first question may be of another form).
    at.button(key=f"FormSubmitter:tutor_quiz_{quiz.id}_{i}_form-Check my answer").click().run()
    assert not at.exception
    shown = texts(at)
    assert "Right." in shown and ":material/check_circle:" in shown and "**Why:**" in shown
    at.button(key=f"tutor_quiz_{quiz.id}_{i}_reject").click().run()
    assert not at.exception
    assert "will not offer this question again" in texts(at)


def test_offline_socratic_mode_shows_a_hint_ladder_and_says_so(learner_app):
    at, _ = learner_app
    open_tutor(at)
    at.segmented_control(key="tutor_mode").set_value("socratic").run()
    ask(at, QUESTION)
    shown = texts(at)
    assert "Offline Socratic mode" in shown and "need a language model" in shown
    assert "\\_\\_\\_\\_\\_" in shown  # the gap, escaped
    assert "no source found" not in shown  # the tutor's own lines are not unsourced claims


def test_an_answer_stored_with_an_older_citation_row_still_shows(learner_app, runtime):
    at, uid = learner_app
    conv = store.create_conversation(runtime, user_id=uid, title="Earlier")
    with runtime.session_factory.begin() as session:
        owned = store.owned(session, uid, conv.id)
        store.add_message(
            session,
            user_id=uid,
            conversation=owned,
            role="user",
            kind="question",
            mode="explain",
            content="What is rubisco?",
        )
        store.add_message(
            session,
            user_id=uid,
            conversation=owned,
            role="assistant",
            kind="offline",
            mode="explain",
            content="Rubisco fixes carbon. [1]",
            sentences=[{"text": "Rubisco fixes carbon.", "refs": [1], "added": False}],
            citations=[{"n": 1, "title": "Old notes", "text": "Rubisco fixes carbon."}],
        )
    open_tutor(at)
    at.button(key=f"tutor_conv_{conv.id}").click().run()
    assert not at.exception
    assert any(e.label == "[1] Old notes" for e in at.expander)
    assert ":blue-background[**1**]" in texts(at)
