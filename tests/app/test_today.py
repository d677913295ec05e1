"""AppTest for the Today page: answer, feedback with source, dispute, flag, empty states."""

from __future__ import annotations

from sqlalchemy import select

from engine.db.models import Attempt, Flag, Profile, Question
from tests.support.practice import add_question, answer_today, open_popover, shown_position
from ui.text import escape_markdown


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [w.value for w in at.warning]
    parts += [h.value for h in at.subheader] + [t.value for t in at.text]
    return "\n".join(str(p) for p in parts)


def button(at, label):
    return next(b for b in at.button if b.label == label)


def open_today(signed_in_app):
    at = signed_in_app()
    at.switch_page("pages/today.py").run()
    assert not at.exception
    return at, at.session_state["gw_account"].user_id


def test_empty_bank_says_what_to_do(signed_in_app):
    at, _ = open_today(signed_in_app)
    assert "no questions in your bank yet" in texts(at)


def test_answer_shows_feedback_source_and_xp_then_the_next_question(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    first = add_question(runtime.session_factory, uid, stem="Which organelle makes ATP?")
    add_question(
        runtime.session_factory,
        uid,
        type="cloze",
        options=None,
        correct_index=None,
        stem="Proteins are made by the _____.",
        answer="ribosome",
    )
    at.switch_page("pages/today.py").run()
    assert at.subheader[0].value == "Which organelle makes ATP?"
    answer_today(at, "Mitochondrion", 5)
    assert not at.exception
    shown = texts(at)
    assert "Right!" in shown and "Mitochondrion" in shown
    assert "Cell Biology, p. 4" in shown and "site of aerobic respiration" in shown
    assert "+25 XP" in shown and "next review tomorrow" in shown
    with runtime.session_factory() as s:
        assert s.get(Profile, uid).xp == 25
        assert s.scalars(select(Attempt.question_id)).all() == [first]
    button(at, "Next question").click().run()
    # Shown literally: the stem is escaped before Markdown renders it.
    assert at.subheader[0].value == escape_markdown("Proteins are made by the _____.")
    at.button(key="today_sure_2").click().run()
    at.text_input(key="today_text").input("nucleus")
    button(at, "Check answer").click().run()
    assert "Not quite" in texts(at) and "ribosome" in texts(at)
    # "I was right" re-scores the attempt.
    open_popover(at, "today_dispute_open")
    button(at, "Count it as right").click().run()
    assert not at.exception and "counts as right" in texts(at)
    with runtime.session_factory() as s:
        assert all(s.scalars(select(Attempt.correct)).all())
    button(at, "Next question").click().run()
    assert "All done for now" in texts(at) and "tomorrow at" in texts(at)


def test_flag_from_feedback_takes_the_question_out(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    qid = add_question(runtime.session_factory, uid)
    at.switch_page("pages/today.py").run()
    answer_today(at, "Nucleus", 3)
    # The flag form is drawn only once its popover is open (a small card on every answer).
    assert not [r for r in at.radio if r.key == "today_flag_reason"]
    open_popover(at, "today_flag_open")
    at.radio(key="today_flag_reason").set_value("wrong")
    at.text_area(key="today_flag_note").input("Two options are right")
    button(at, "Flag question").click().run()
    assert not at.exception
    with runtime.session_factory() as s:
        assert s.get(Question, qid).status == "flagged"
        assert s.scalars(select(Flag.note)).all() == ["Two options are right"]


def test_learn_more_after_the_daily_target(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    with runtime.session_factory.begin() as s:
        s.get(Profile, uid).daily_target = 1
    add_question(runtime.session_factory, uid, stem="First?")
    add_question(runtime.session_factory, uid, stem="Second?")
    at.switch_page("pages/today.py").run()
    answer_today(at, "Mitochondrion", 4)
    button(at, "Next question").click().run()
    assert "All done for now" in texts(at)
    button(at, "Learn 1 more new question").click().run()
    assert at.subheader[0].value == "Second?"


def test_missed_questions_are_asked_again_then_a_session_summary(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    missed = add_question(runtime.session_factory, uid, stem="Which organelle makes ATP?")
    add_question(
        runtime.session_factory,
        uid,
        stem="Which organelle holds DNA?",
        options=["Nucleus", "Mitochondrion", "Ribosome", "Golgi body"],
        correct_index=0,
        answer="Nucleus",
    )
    at.switch_page("pages/today.py").run()
    answer_today(at, "Nucleus", 3)  # wrong
    shown = texts(at)
    # One verdict, and the source sentence once.
    assert shown.count("Not quite") == 1
    assert shown.count("The mitochondrion is the site of aerobic respiration.") == 1
    button(at, "Next question").click().run()
    assert at.subheader[0].value == "Which organelle holds DNA?"
    answer_today(at, "Nucleus", 4)  # right
    button(at, "Next question").click().run()
    # Before the end, the missed question comes back once.
    assert at.subheader[0].value == "Which organelle makes ATP?"
    assert "you missed this one earlier" in texts(at)
    answer_today(at, "Mitochondrion", 4)
    assert "Right!" in texts(at)
    button(at, "Next question").click().run()
    assert not at.exception
    shown = texts(at)
    assert "Session summary" in shown and "All done for now" in shown
    assert "asked again before the end" in shown and "Next review due" in shown
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Answered"] == "3" and metrics["Accuracy"] == "67%"
    with runtime.session_factory() as s:
        assert s.scalars(select(Attempt.question_id).order_by(Attempt.id)).all()[-1] == missed
        xp = s.get(Profile, uid).xp
    assert metrics["XP earned"] == f"+{xp}"


def test_untrusted_question_text_is_shown_literally(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    add_question(
        runtime.session_factory,
        uid,
        stem="Is ![x](http://evil/p.png) **bold**?",
        options=["[a](http://x)", "b", "c", "d"],
        correct_index=1,
        answer="b",
    )
    at.switch_page("pages/today.py").run()
    assert at.subheader[0].value == escape_markdown("Is ![x](http://evil/p.png) **bold**?")


def test_options_are_shown_shuffled_and_the_chosen_text_is_what_is_graded(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    options = ["Nucleus", "Mitochondrion", "Ribosome", "Golgi body", "Vacuole", "Lysosome"]
    qid = add_question(runtime.session_factory, uid, options=options, correct_index=1)
    at.switch_page("pages/today.py").run()

    def shown_options() -> list[str]:
        return [at.button(key=f"today_option_{i}").label for i in range(len(options))]

    shown = shown_options()
    assert sorted(shown) == sorted(options)
    at.run()  # a rerun of the page keeps the order under the learner
    assert shown_options() == shown
    answer_today(at, "Mitochondrion", 4)
    assert "Right!" in texts(at)
    with runtime.session_factory() as s:
        assert s.scalars(select(Attempt.correct).where(Attempt.question_id == qid)).all() == [True]


def test_keys_are_on_the_buttons_and_checking_never_waits_for_a_confidence(signed_in_app, runtime):
    """Keyboard first: 1-4 pick an option, Shift+1..5 say how sure, Enter checks and moves on.
    Checking without saying how sure records "Fairly sure" (3) instead of refusing."""
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    add_question(runtime.session_factory, uid, stem="First: which organelle makes ATP?")
    add_question(runtime.session_factory, uid, stem="Second: which organelle makes ATP?")
    at.switch_page("pages/today.py").run()
    shortcuts = {b.key: b.proto.shortcut for b in at.button}
    assert [shortcuts[f"today_option_{i}"] for i in range(4)] == ["1", "2", "3", "4"]
    assert [shortcuts[f"today_sure_{n}"] for n in range(1, 6)] == [
        f"shift+{n}" for n in range(1, 6)
    ]
    assert shortcuts["today_check"] == "enter"
    at.button(key=f"today_option_{shown_position(at, 'Mitochondrion')}").click().run()
    at.button(key="today_sure_5").click().run()
    assert (
        at.button(key=f"today_option_{shown_position(at, 'Mitochondrion')}").proto.type == "primary"
    )
    at.button(key="today_check").click().run()
    assert not at.exception and not at.error
    assert "Right!" in texts(at) and "You said: Certain · +25 XP" in texts(at)
    assert at.button(key="today_next").proto.shortcut == "enter"
    # The next question starts with nothing picked and "Fairly sure" again.
    at.button(key="today_next").click().run()
    assert "Second" in at.subheader[0].value
    assert all(at.button(key=f"today_option_{i}").proto.type != "primary" for i in range(4))
    assert at.button(key="today_sure_3").proto.type == "primary"
    at.button(key="today_check").click().run()
    assert "Choose or type an answer first." in texts(at)
    at.button(key=f"today_option_{shown_position(at, 'Mitochondrion')}").click().run()
    at.button(key="today_check").click().run()
    assert not at.error and "Right!" in texts(at)
    with runtime.session_factory() as s:
        assert s.scalars(select(Attempt.confidence).order_by(Attempt.id)).all() == [5, 3]


def test_check_next_dispute_and_flag_are_drawn_in_the_same_run(signed_in_app, runtime, monkeypatch):
    """Feedback appears in the run the click starts: no `st.rerun` round trip (which would
    run the whole page a second time) for Check, Next, "I was right", Flag or a flashcard."""
    import streamlit

    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    qid = add_question(runtime.session_factory, uid, stem="First: which organelle makes ATP?")
    add_question(
        runtime.session_factory,
        uid,
        type="short",
        form="flashcard",
        options=None,
        correct_index=None,
        stem="perro",
        answer="dog",
    )
    reruns = []
    monkeypatch.setattr(streamlit, "rerun", lambda *a, **k: reruns.append(a) or 1 / 0)
    at.switch_page("pages/today.py").run()
    answer_today(at, "Nucleus")
    assert not at.exception and "Not quite" in texts(at)
    open_popover(at, "today_dispute_open")
    button(at, "Count it as right").click().run()
    assert not at.exception and "counts as right" in texts(at)
    open_popover(at, "today_flag_open")
    at.radio(key="today_flag_reason").set_value("unclear")
    button(at, "Flag question").click().run()
    assert not at.exception
    assert [t.value for t in at.toast] == ["Thanks, flagged."]
    assert "Thanks, flagged." in [s.value for s in at.success]  # stays on the card
    button(at, "Next question").click().run()
    assert at.subheader[0].value == "perro"
    button(at, "Show answer").click().run()
    button(at, "Good").click().run()
    assert not at.exception and "You rated your recall Good" in texts(at)
    assert reruns == []
    with runtime.session_factory() as s:
        assert s.scalars(select(Flag.question_id)).all() == [qid]


def test_header_counts_and_xp_include_the_answer_just_checked(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    add_question(runtime.session_factory, uid, stem="Which organelle makes ATP?")
    add_question(runtime.session_factory, uid, stem="Which organelle makes proteins?")
    at.switch_page("pages/today.py").run()
    before = {m.label: m.value for m in at.metric}
    assert before["XP"] == "0" and before["Answered today"].startswith("0 /")
    answer_today(at, "Mitochondrion", 5)
    after = {m.label: m.value for m in at.metric}
    with runtime.session_factory() as s:
        profile = s.get(Profile, uid)
        assert after["XP"] == f"{profile.xp:,}" and profile.xp > 0
    assert after["Answered today"].startswith("1 /")


def test_the_verdict_is_drawn_before_the_counts_are_read(signed_in_app, runtime, monkeypatch):
    """An answer's verdict is on the card before the counts that include it are read (the
    counts fill the header's row last): when that read fails, the question and then the
    verdict are still shown, and the header's row says why."""
    import engine.practice.queue
    from engine.errors import DatabaseUnavailable

    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    add_question(runtime.session_factory, uid, stem="Which organelle makes ATP?")
    at.switch_page("pages/today.py").run()

    def unavailable(*args, **kwargs):
        raise DatabaseUnavailable("The counts cannot be read right now.")

    monkeypatch.setattr(engine.practice.queue, "build_queue", unavailable)
    answer_today(at, "Mitochondrion")
    assert not at.exception
    assert "Right!" in [s.value for s in at.success]
    assert "The counts cannot be read right now." in [e.value for e in at.error]
    with runtime.session_factory() as s:
        assert s.scalar(select(Attempt.correct)) is True
