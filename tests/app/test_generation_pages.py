"""AppTest for Generate: offline and with a model (stub server), preview, accept/edit/reject,
and the messages for each failure."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.config import get_settings
from engine.db.models import Question, RejectedQuestion
from tests.app.conftest import click_generate
from tests.support.generation_data import BIOLOGY, add_material, grounded_responder
from tests.support.llm_stub import unauthorized

GLOSSARY = [
    "A trace tree is a tree of traces that share one loop header in the program. "
    "The recorder extends the trace tree whenever a side exit becomes hot during execution.",
    "A side exit is a point where execution leaves a trace because a guard fails at run time. "
    "Each guard checks one condition that the recorder assumed while recording the trace.",
    "A type map is a table that gives the type of every variable at the start of a trace. "
    "The compiler specialises each trace to one type map, so the machine code stays small.",
    "An interpreter is a program that executes the bytecode of a function one step at a time. "
    "The interpreter runs the program until a loop header becomes hot enough to be recorded.",
]


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [w.value for w in at.warning]
    return "\n".join(str(p) for p in parts).replace("\\", "")


def button(at, label):
    return next(b for b in at.button if b.label == label)


def generate(at, timeout_s: float = 120.0):
    """Click Generate and rerun until the background generation job has been shown."""
    return click_generate(at, timeout_s)


def open_generate(at):
    at.switch_page("pages/generate.py").run()
    assert not at.exception
    return at


def saved(runtime, uid):
    with runtime.session_factory() as s:
        return s.scalars(
            select(Question).where(Question.user_id == uid).order_by(Question.id)
        ).all()


def rejected_stems(runtime, uid):
    with runtime.session_factory() as s:
        return s.scalars(select(RejectedQuestion.stem).where(RejectedQuestion.user_id == uid)).all()


@pytest.fixture
def with_model(llm_stub, monkeypatch):
    """The app configured with a generation model served by the stub."""
    for k, v in llm_stub.env_for().items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    return llm_stub


def test_no_materials_says_what_to_do(signed_in_app):
    at = open_generate(signed_in_app())
    assert "no materials yet" in texts(at)
    assert "Offline mode" in texts(at)


def test_offline_generate_preview_and_accept_all(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    add_material(runtime.session_factory, uid, "Biology notes", BIOLOGY)
    open_generate(at)
    # Short answers are not offered offline; self-rated flashcards are.
    assert at.selectbox(key="gen_type").options == [
        "A mix",
        "Multiple choice",
        "Cloze",
        "Flashcards (self-rated)",
    ]
    at.number_input(key="gen_count").set_value(3)
    generate(at)
    assert not at.exception
    shown = texts(at)
    assert "3 of 3 question(s) passed the checks" in shown
    assert "offline generator" in shown and "Biology notes" in shown
    assert saved(runtime, uid) == []  # a preview saves nothing
    button(at, "Accept all").click().run()
    assert not at.exception
    rows = saved(runtime, uid)
    assert len(rows) == 3 and {q.generator for q in rows} == {"offline"}
    assert "saved to your bank" in texts(at)


def test_offline_flashcards_show_their_back_in_the_preview_and_are_saved_as_flashcards(
    signed_in_app, runtime
):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    add_material(runtime.session_factory, uid, "Tracing glossary", GLOSSARY)
    open_generate(at)
    at.selectbox(key="gen_type").set_value("flashcard")
    at.number_input(key="gen_count").set_value(2)
    generate(at)
    assert not at.exception
    shown = texts(at)
    assert "2 of 2 question(s) passed the checks" in shown
    assert shown.count("Back of the card:") == 2 and "flashcard" in shown
    assert "What does the source mean by" in shown
    button(at, "Accept all").click().run()
    rows = saved(runtime, uid)
    assert [(q.type, q.form) for q in rows] == [("short", "flashcard")] * 2


def test_llm_generate_accept_edit_reject(signed_in_app, runtime, with_model):
    with_model.responder = grounded_responder("mcq")
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    add_material(runtime.session_factory, uid, "Biology notes", BIOLOGY)
    open_generate(at)
    assert "Offline mode" not in texts(at)
    assert "openai/stub-model" in texts(at)
    at.selectbox(key="gen_type").set_value("mcq")
    at.number_input(key="gen_count").set_value(3)
    generate(at)
    assert not at.exception
    assert "3 of 3 question(s) passed the checks" in texts(at)
    assert "Last 24 hours: 3 of 300 model-written questions, 1 call(s)" in texts(at)
    batch = at.session_state["gen_preview"]["batch"]
    # Edit the first, then accept it; reject the second; leave the third. No card holds an
    # edit form until its Edit is clicked.
    assert not [t for t in at.text_area if t.key and t.key.startswith(f"gen_{batch}_")]
    at.button(key=f"gen_{batch}_0_edit_open").click().run()
    assert [t.key for t in at.text_area if t.key and t.key.endswith("_stem")] == [
        f"gen_{batch}_0_stem"
    ]
    assert not [b for b in at.button if b.key == f"gen_{batch}_0_accept"]  # save first
    at.text_area(key=f"gen_{batch}_0_stem").set_value("Edited stem: which word fits here?")
    button(at, "Save changes").click().run()
    assert not [t for t in at.text_area if t.key and t.key.endswith("_stem")]  # form closed
    assert "Edited stem: which word fits here?" in texts(at)
    at.button(key=f"gen_{batch}_0_accept").click().run()
    at.button(key=f"gen_{batch}_1_reject").click().run()
    assert not at.exception
    rows = saved(runtime, uid)
    assert [q.stem for q in rows] == ["Edited stem: which word fits here?"]
    assert rows[0].model == "openai/stub-model" and rows[0].excerpt
    assert "rejected" in texts(at)
    # The rejection is kept (regeneration and Quiz me leave it out); Undo forgets it.
    second = at.session_state["gen_preview"]["items"][1]["draft"]
    assert rejected_stems(runtime, uid) == [second["stem"]]
    at.button(key=f"gen_{batch}_1_undo").click().run()
    assert not at.exception and rejected_stems(runtime, uid) == []


def test_llm_errors_are_shown_not_raised(signed_in_app, runtime, with_model):
    with_model.default = unauthorized()
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    add_material(runtime.session_factory, uid, "Biology notes", BIOLOGY)
    open_generate(at)
    generate(at)
    assert not at.exception
    assert any("API key" in e.value for e in at.error)
    assert saved(runtime, uid) == []


def test_edit_that_breaks_the_rules_is_refused_on_accept(signed_in_app, runtime, with_model):
    with_model.responder = grounded_responder("mcq")
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    add_material(runtime.session_factory, uid, "Biology notes", BIOLOGY)
    open_generate(at)
    at.selectbox(key="gen_type").set_value("mcq")
    at.number_input(key="gen_count").set_value(1)
    generate(at)
    batch = at.session_state["gen_preview"]["batch"]
    at.button(key=f"gen_{batch}_0_edit_open").click().run()
    at.text_input(key=f"gen_{batch}_0_opt1").set_value(
        at.text_input(key=f"gen_{batch}_0_opt0").value
    )
    button(at, "Save changes").click().run()
    at.button(key=f"gen_{batch}_0_accept").click().run()
    assert not at.exception
    assert any("repeated options" in e.value for e in at.error)
    assert saved(runtime, uid) == []


def test_a_material_in_an_unsupported_language_is_named_on_the_generate_and_library_pages(
    signed_in_app, runtime
):
    from engine.db.models import Material

    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    mid, _ = add_material(runtime.session_factory, uid, "Appunti", BIOLOGY)
    with runtime.session_factory.begin() as s:
        s.get(Material, mid).language = "it"
    at.switch_page("pages/generate.py").run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "Appunti" in warnings and "Italian" in warnings
    assert "English, German, French, Spanish" in warnings
    at.switch_page("pages/library.py").run()
    at.selectbox(key="library_open").set_value(mid).run()
    assert not at.exception
    assert any("Italian" in w.value for w in at.warning)


def test_accept_reject_and_undo_redraw_the_card_in_the_same_run(
    signed_in_app, runtime, monkeypatch
):
    """Each preview card is a fragment whose clicks are handled by callbacks: Accept, Reject
    and Undo never call `st.rerun` (a second run of the whole page)."""
    import streamlit

    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    add_material(runtime.session_factory, uid, "Biology notes", BIOLOGY)
    open_generate(at)
    at.number_input(key="gen_count").set_value(2)
    generate(at)
    batch = at.session_state["gen_preview"]["batch"]
    reruns = []
    monkeypatch.setattr(streamlit, "rerun", lambda *a, **k: reruns.append(a) or 1 / 0)
    at.button(key=f"gen_{batch}_0_accept").click().run()
    assert not at.exception and "saved to your bank" in texts(at)
    at.button(key=f"gen_{batch}_1_reject").click().run()
    assert not at.exception and "rejected" in texts(at)
    at.button(key=f"gen_{batch}_1_undo").click().run()
    assert not at.exception and "rejected" not in texts(at)
    assert reruns == []
    assert len(saved(runtime, uid)) == 1
