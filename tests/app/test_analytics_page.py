"""AppTest for the Analytics page: an honest empty state for a new learner, every chart for a
busy one, the coverage drill-down, exports, and a fresh view after a new answer."""

from __future__ import annotations

import base64
import datetime as dt
import json

import numpy as np
import pytest
from sqlalchemy import func, select

from engine.analytics import anki
from engine.analytics.shaping import MIN_REVIEWS_FOR_PROJECTION
from engine.bank import service as bank
from engine.db.models import Attempt, Question
from engine.generation import service
from tests.support.analytics import add_attempt, add_state, busy, set_profile
from tests.support.generation_data import BIOLOGY, add_material
from tests.support.practice import add_question, answer_today


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test has its own database, but user ids repeat: start with an empty chart cache."""
    from ui.analytics_cache import _chart, _scope

    _chart.clear()
    _scope.clear()
    yield
    _chart.clear()
    _scope.clear()


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [i.value for i in at.info]
    parts += [h.value for h in at.subheader]
    return "\n".join(str(p) for p in parts)


def open_analytics(at, view: str | None = "Everything"):
    """Open Analytics and (when there is something to chart) pick `view`."""
    at.switch_page("pages/analytics.py").run()
    assert not at.exception, at.exception
    if view is not None and any(c.key == "an_view" for c in at.segmented_control):
        at.segmented_control(key="an_view").set_value(view).run()
        assert not at.exception, at.exception
    return at


def test_a_view_shows_its_sections_and_progress_comes_first(signed_in_app, runtime):
    at = signed_in_app()
    busy(runtime.session_factory, at.session_state["gw_account"].user_id)
    open_analytics(at, view=None)
    assert at.segmented_control(key="an_view").value == "Progress"
    headings = [h.value for h in at.subheader]
    assert headings == ["Today", "Activity", "Workload"]
    assert len(at.get("plotly_chart")) == 3  # calendar, reviews per day, reviews due
    at.segmented_control(key="an_view").set_value("Memory").run()
    assert [h.value for h in at.subheader] == [
        "Today",
        "Your questions",
        "Retention",
        "How you answer",
    ]
    at.segmented_control(key="an_view").set_value("Everything").run()
    assert len(at.subheader) == 11 and len(at.get("plotly_chart")) == 14
    assert not at.exception and not at.error


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
    for heading in (
        "Today",
        "Activity",
        "Retention",
        "How you answer",
        "Coverage of your material",
        "Exam readiness",
        "Question quality",
        "Time, XP and model usage",
        "Export",
    ):
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
    listed = next(d.value for d in at.dataframe if "Recall now" in d.value.columns)
    with runtime.session_factory() as s:
        stems = set(s.scalars(select(Question.stem).where(Question.id.in_(qids[1::4]))))
    assert stems <= set(listed["Question"])
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
    assert anki.topics(runtime, user_id=uid) == ["topic 0", "topic 1", "topic 2"]


def test_a_new_answer_refreshes_the_cached_charts(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    qid = add_question(runtime.session_factory, uid)
    open_analytics(at)
    assert [m.value for m in at.metric if m.label == "Answers"] == ["0"]
    at.switch_page("pages/today.py").run()
    answer_today(at, "Mitochondrion", 4)
    assert not at.exception
    with runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Attempt)) == 1
    open_analytics(at)
    assert [m.value for m in at.metric if m.label == "Answers"] == ["1"]
    assert [m.value for m in at.metric if m.label == "Streak"] == ["1 day"]  # not "1 days"
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


def figure_data(at, title: str) -> list[dict]:
    """The traces of the chart titled `title`, as the browser receives them."""
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if spec["layout"].get("title", {}).get("text") == title:
            return spec["data"]
    raise AssertionError(f"no chart titled {title!r}")


def plotted(values) -> list:
    """A trace's values: plotly sends numeric arrays base64-encoded with their dtype."""
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def questions_by_state(at) -> dict[str, int]:
    pie = figure_data(at, "Questions by state")[0]
    return dict(zip(pie["labels"], plotted(pie["values"]), strict=True))


def shown_tables(at) -> str:
    return "\n".join(d.value.to_string() for d in at.dataframe)


def test_question_changes_show_at_once_without_clearing_any_cache(signed_in_app, runtime):
    """Accepting, editing and deleting a question change the charts on the next view: the
    cache is keyed by the learner's data version, so nothing has to be cleared by hand."""
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    add_material(runtime.session_factory, uid, "Biology notes", BIOLOGY)
    drafts = service.generate_questions(runtime, user_id=uid, question_type="mcq", count=3).drafts
    assert len(drafts) >= 2
    (first,) = bank.save_questions(runtime, user_id=uid, drafts=drafts[:1])
    open_analytics(at)
    assert questions_by_state(at)["New"] == 1

    # Accepted from a Generate preview.
    (second,) = bank.save_questions(runtime, user_id=uid, drafts=drafts[1:2])
    open_analytics(at)
    assert questions_by_state(at)["New"] == 2

    # Edited in the bank: a new stem, and flagged.
    view = bank.get_question(runtime, user_id=uid, question_id=second)
    bank.update_question(
        runtime,
        user_id=uid,
        question_id=second,
        stem="Which structure is edited in this test?",
        answer=view.answer,
        explanation=view.explanation,
        difficulty=view.difficulty,
        options=view.options,
        correct_index=view.correct_index,
        status="flagged",
    )
    open_analytics(at)
    assert questions_by_state(at)["Flagged"] == 1
    assert "Which structure is edited in this test?" in shown_tables(at)

    # Deleted.
    bank.delete_question(runtime, user_id=uid, question_id=first)
    open_analytics(at)
    counts = questions_by_state(at)
    assert counts["New"] == 0 and counts["Flagged"] == 1


def test_day_one_makes_no_projection_and_says_how_many_reviews_are_needed(signed_in_app, runtime):
    """After a first session every interval is the first one: no "daily load" or exam
    projection yet, but how many reviews it takes."""
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    sf = runtime.session_factory
    now = dt.datetime.now(dt.UTC)
    set_profile(sf, uid, exam_date=(now + dt.timedelta(days=30)).date())
    for i in range(15):
        qid = add_question(sf, uid)
        answered = now - dt.timedelta(minutes=30 - i)
        add_attempt(sf, uid, qid, answered)
        add_state(
            sf,
            uid,
            qid,
            last=answered,
            due=answered + dt.timedelta(days=1),
            stability=1.0,
            difficulty=5.0,
        )
    open_analytics(at)
    shown = texts(at)
    assert "Daily load" not in shown
    assert not any(m.label.startswith("Predicted recall on") for m in at.metric)
    assert (
        f"Projections appear after {MIN_REVIEWS_FOR_PROJECTION} reviews" in shown
        and f"you have 0, so {MIN_REVIEWS_FOR_PROJECTION} more to go" in shown
    )


def test_tables_have_human_headings_and_no_internal_ids(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    mid, _ = busy(runtime.session_factory, uid)
    open_analytics(at)
    at.selectbox(key="an_cov_material").set_value(mid).run()
    at.number_input(key="an_cov_page").set_value(2).run()
    assert not at.exception
    headings = [list(d.value.columns) for d in at.dataframe]
    assert [
        "Material",
        "Questions",
        "Reviewed",
        "Expected to recall",
        "Predicted recall",
    ] in headings
    assert ["Type", "Question", "Status", "Reviews", "Recall now"] in headings
    assert ["Status", "Question", "Material", "Page", "Quality", "Open flags"] in headings
    for columns in headings:
        assert not any("_" in str(c) or str(c).islower() for c in columns), columns
    quality = next(d.value for d in at.dataframe if "Open flags" in d.value.columns)
    assert set(quality["Status"]) <= {"Active", "Flagged", "Retired"}


def test_sections_draw_in_order_and_one_that_fails_leaves_the_others(
    signed_in_app, runtime, monkeypatch
):
    """The page is a list of sections, each loading its own data: the first (Today) comes
    first, and a section whose data cannot be read says so while the rest still draw."""
    from engine import analytics
    from engine.errors import EngineError

    def unreadable(rt, scope):
        raise EngineError("Coverage cannot be read right now.")

    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    busy(runtime.session_factory, uid)
    monkeypatch.setitem(analytics.CHARTS, "coverage", unreadable)
    open_analytics(at)
    headings = [h.value for h in at.subheader]
    assert headings[0] == "Today"
    assert headings.index("Coverage of your material") < headings.index("Exam readiness")
    assert headings[-1] == "Export"
    assert [e.value for e in at.error] == ["Coverage cannot be read right now."]
    assert any(m.label.startswith("Predicted recall on") for m in at.metric)
    assert [b.label for b in at.button if b.label == "Build the deck"] == ["Build the deck"]


def test_many_materials_share_one_other_bar_and_charts_come_with_the_apps_look(
    signed_in_app, runtime
):
    """Nine materials due in the next days: the due chart names the five with most reviews
    due and sums the rest into "Other materials" (the same total); every chart is sent
    without Streamlit's theme, carrying the app's own text colour instead."""
    from ui.analytics_charts import TEXT

    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    sf = runtime.session_factory
    now = dt.datetime.now(dt.UTC)
    for k in range(9):
        title = f"Material {k}"
        mid = add_material(sf, uid, title, ["A page of notes."])[0]
        for n in range(k + 1):
            qid = add_question(sf, uid, material_id=mid, material_title=title)
            due = now + dt.timedelta(days=1 + n % 3)
            add_state(sf, uid, qid, last=now, due=due, stability=3.0, difficulty=5.0)
    open_analytics(at)
    bars = [t for t in figure_data(at, "Reviews due") if t["type"] == "bar"]
    assert sorted(t["name"] for t in bars) == [
        "Material 4",
        "Material 5",
        "Material 6",
        "Material 7",
        "Material 8",
        "Other materials",
    ]
    assert sum(sum(plotted(t["y"])) for t in bars) == sum(range(1, 10))
    other = next(t for t in bars if t["name"] == "Other materials")
    assert sum(plotted(other["y"])) == 1 + 2 + 3 + 4
    charts = at.get("plotly_chart")
    assert charts
    for chart in charts:
        assert chart.proto.theme == ""  # no Streamlit theme merged in the browser
        layout = json.loads(chart.proto.spec)["layout"]
        assert layout["template"]["layout"]["font"]["color"] == TEXT
