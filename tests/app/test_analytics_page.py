"""AppTest for the Analytics page: an honest empty state for a new learner, every chart for a
busy one, the coverage drill-down, exports, and a fresh view after a new answer."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from engine.analytics import anki
from engine.db.models import Attempt
from tests.support.analytics import busy, set_profile
from tests.support.practice import add_question


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test has its own database, but user ids repeat: start with an empty chart cache."""
    from ui.analytics_cache import _page_data

    _page_data.clear()
    yield
    _page_data.clear()


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [i.value for i in at.info]
    parts += [h.value for h in at.subheader]
    return "\n".join(str(p) for p in parts)


def open_analytics(at):
    at.switch_page("pages/analytics.py").run()
    assert not at.exception, at.exception
    return at


def test_new_learner_sees_what_to_do_and_no_charts(signed_in_app):
    at = open_analytics(signed_in_app())
    assert "Nothing to chart yet" in texts(at)
    assert not at.get("plotly_chart")
    assert not at.error


def test_busy_learner_sees_every_chart(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    mid, qids = busy(runtime.session_factory, uid)
    open_analytics(at)
    shown = texts(at)
    assert "Nothing to chart yet" not in shown and not at.error
    charts = at.get("plotly_chart")
    # calendar, reviews, due, counts, intervals, 2 SM-2/FSRS panels at most, retention,
    # hourly, outcomes, calibration, coverage, time, XP, model usage
    assert len(charts) == 14
    for heading in ("Today", "Activity", "Retention", "How you answer",
                    "Coverage of your material", "Exam readiness", "Question quality",
                    "Time, XP and model usage", "Export"):
        assert heading in shown
    assert any(m.label.startswith("Predicted recall on") for m in at.metric)
    # Select boxes draw their options as plain text (no Markdown), so an untrusted title
    # shows as typed there; escaping it would show its backslashes (seen in Chromium).
    title = "Cell ![x](http://evil/p.png) Biology"
    assert at.selectbox(key="an_material").options[1] == title
    assert title in at.selectbox(key="an_cov_material").options
    assert title in at.selectbox(key="an_anki_material").options
    # The coverage drill-down lists a page's questions.
    at.selectbox(key="an_cov_material").set_value(mid).run()
    at.number_input(key="an_cov_page").set_value(2).run()
    assert not at.exception
    assert set(qids[1::4]) <= set(
        next(d.value for d in at.dataframe if "question_id" in d.value.columns
             and "recall" in d.value.columns)["question_id"])
    # Filtering by a date range without answers shows the empty captions, not errors.
    at.date_input(key="an_dates").set_value((dt.date(2020, 1, 1), dt.date(2020, 1, 2))).run()
    assert not at.exception and not at.error
    assert "No answers in this range yet" in texts(at)


def test_anki_deck_is_built_and_offered(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    busy(runtime.session_factory, uid)
    open_analytics(at)
    at.radio(key="an_anki_kind").set_value("topic")
    at.selectbox(key="an_anki_topic").set_value("topic 1")
    next(b for b in at.button if b.label == "Build the deck").click().run()
    assert not at.exception and not at.error
    payload, n = at.session_state["an_apkg"]
    assert n == 4 and payload[:2] == b"PK"
    assert anki.topics(runtime, user_id=uid) == ["topic 0", "topic 1",
                                                                 "topic 2"]


def test_a_new_answer_refreshes_the_cached_charts(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    qid = add_question(runtime.session_factory, uid)
    open_analytics(at)
    assert [m.value for m in at.metric if m.label == "Answers"] == ["0"]
    at.switch_page("pages/today.py").run()
    at.radio(key="today_choice").set_value(1)
    at.radio(key="today_confidence").set_value(4)
    next(b for b in at.button if b.label == "Check answer").click().run()
    assert not at.exception
    with runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Attempt)) == 1
    open_analytics(at)
    assert [m.value for m in at.metric if m.label == "Answers"] == ["1"]
    assert qid


def test_fsrs_learner_sees_stability_difficulty_and_retrievability(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    busy(runtime.session_factory, uid)
    set_profile(runtime.session_factory, uid, scheduler="fsrs")
    open_analytics(at)
    assert not at.error
    # Three FSRS panels (stability, difficulty, retrievability) instead of SM-2 easiness.
    assert len(at.get("plotly_chart")) == 16
