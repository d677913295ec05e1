"""Analytics over answers saved by the product's own submit path (not seeded rows): the time of
the question's previous answer is saved with each answer, local days and hours follow the
learner's zone (a half-hour one here), and a dispute shows in every chart at once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text

from engine import analytics
from engine.analytics import activity
from engine.db.models import Attempt
from engine.practice.dispute import dispute_attempt
from engine.practice.submit import submit_answer
from tests.support.analytics import set_profile
from tests.support.practice import add_question, token

# Asia/Kolkata is UTC+5:30: 18:45 UTC is 00:15 the next local day.
FIRST = dt.datetime(2026, 5, 4, 18, 45, tzinfo=dt.UTC)  # 5 May 00:15 local
SECOND = dt.datetime(2026, 5, 6, 18, 20, tzinfo=dt.UTC)  # 6 May 23:50 local
NOW = dt.datetime(2026, 5, 7, 12, 0, tzinfo=dt.UTC)


def _answer(runtime, uid, qid, response, at, expected):
    return submit_answer(
        runtime,
        user_id=uid,
        question_id=qid,
        token=token(),
        response=response,
        confidence=4,
        seconds=30,
        expected_reviews=expected,
        now=at,
    )


def _scope(runtime, uid, now=NOW):
    return analytics.make_scope(
        runtime, user_id=uid, start=dt.date(2026, 5, 1), end=dt.date(2026, 5, 7), now=now
    )


def _learner(runtime, make_user):
    uid = make_user()
    set_profile(runtime.session_factory, uid, timezone="Asia/Kolkata")
    qid = add_question(runtime.session_factory, uid)
    first = _answer(runtime, uid, qid, 1, FIRST, 0)
    wrong = _answer(runtime, uid, qid, 2, SECOND, 1)
    return uid, first, wrong


def test_submit_saves_when_the_question_was_answered_before(runtime, make_user):
    uid, first, wrong = _learner(runtime, make_user)
    with runtime.session_factory() as s:
        rows = dict(
            s.execute(
                select(Attempt.id, Attempt.previous_answered_at).where(Attempt.user_id == uid)
            ).all()
        )
        in_json = s.execute(
            text(
                "SELECT (state_before->'fsrs'->>'last_reviewed_at')::timestamptz FROM attempts "
                "WHERE id = :a"
            ),
            {"a": wrong.attempt_id},
        ).scalar()
    assert rows == {first.attempt_id: None, wrong.attempt_id: FIRST}
    assert in_json == FIRST


def test_charts_from_submitted_answers_use_half_hour_local_days(runtime, make_user):
    uid, _, _ = _learner(runtime, make_user)
    scope = _scope(runtime, uid)
    cal = activity.calendar(runtime, scope)
    assert list(zip(cal["day"], cal["answers"], cal["correct"])) == [
        (dt.date(2026, 5, 5), 1, 1),
        (dt.date(2026, 5, 6), 1, 0),
    ]
    hours = activity.hourly(runtime, scope).set_index("hour")["answers"]
    assert {h: n for h, n in hours.items() if n} == {0: 1, 23: 1}
    per_day = activity.reviews_per_day(runtime, scope)
    assert list(zip(per_day["day"], per_day["category"])) == [
        (dt.date(2026, 5, 5), "new"),
        (dt.date(2026, 5, 6), "young"),
    ]
    week = activity.true_retention(runtime, scope).set_index("period")
    assert (week.loc["week", "young_total"], week.loc["week", "young_passed"]) == (1, 0)


def test_a_dispute_shows_in_every_activity_chart_at_once(runtime, make_user):
    uid, _, wrong = _learner(runtime, make_user)
    before = _scope(runtime, uid)
    assert activity.hourly(runtime, before).loc[23, "correct"] == 0
    dispute_attempt(runtime, user_id=uid, attempt_id=wrong.attempt_id)
    # The next page load (a later moment, so nothing of the earlier load is reused).
    scope = _scope(runtime, uid, NOW + dt.timedelta(minutes=1))
    cal = activity.calendar(runtime, scope)
    assert list(cal["correct"]) == [1, 1]
    assert activity.hourly(runtime, scope).loc[23, "correct"] == 1
    week = activity.true_retention(runtime, scope).set_index("period")
    assert (week.loc["week", "young_total"], week.loc["week", "young_passed"]) == (1, 1)
    outcomes = activity.outcomes_by_type(runtime, scope)
    assert outcomes["correct"].sum() == 2 and 1 not in set(outcomes["rating"])
    with runtime.session_factory() as s:
        assert s.get(Attempt, wrong.attempt_id).previous_answered_at == FIRST
