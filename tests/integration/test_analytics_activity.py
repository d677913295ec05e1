"""Attempt-based charts against seeded answers, with hand-computed expected values, for a
learner in UTC-10 (Pacific/Honolulu) and one in UTC+13 (Pacific/Tongatapu): answers either side
of local midnight land on the local day, not the UTC one."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from engine import analytics
from engine.analytics import activity
from tests.support.analytics import add_attempt, add_usage, set_profile, utc
from tests.support.practice import add_question

D = dt.date


@pytest.fixture
def honolulu(runtime, make_user):
    """Local today is 15 June (now = 12:00 UTC = 02:00 local)."""
    rt = runtime
    sf = rt.session_factory
    uid = make_user()
    set_profile(sf, uid, timezone="Pacific/Honolulu")
    q1 = add_question(sf, uid)
    q2 = add_question(
        sf,
        uid,
        type="cloze",
        options=None,
        correct_index=None,
        stem="ATP is made in the _____.",
        answer="mitochondrion",
    )
    a3, a1, a2 = utc(2026, 6, 13, 20), utc(2026, 6, 15, 9, 30), utc(2026, 6, 15, 10, 30)
    # local: 13 Jun 10:00, 14 Jun 23:30, 15 Jun 00:30
    add_attempt(sf, uid, q1, a3, number=1, seconds=5, confidence=1, xp=10)
    add_attempt(sf, uid, q1, a1, prev=a3, number=2, seconds=15, confidence=4, xp=20)
    add_attempt(sf, uid, q1, a2, prev=a1, number=3, correct=False, seconds=50, confidence=5, xp=5)
    b1, b2 = utc(2026, 5, 1, 20), utc(2026, 6, 14, 20)  # local 1 May 10:00, 14 Jun 10:00
    add_attempt(sf, uid, q2, b1, number=1, seconds=100, confidence=2, rating=4, xp=10)
    add_attempt(sf, uid, q2, b2, prev=b1, number=2, seconds=700, confidence=4, rating=4, xp=30)
    scope = analytics.make_scope(
        rt, user_id=uid, start=D(2026, 6, 1), end=D(2026, 6, 15), now=utc(2026, 6, 15, 12)
    )
    return rt, scope


@pytest.fixture
def tonga(runtime, make_user):
    """Local today is 16 June (now = 12:00 UTC = 01:00 local next day)."""
    rt = runtime
    sf = rt.session_factory
    uid = make_user()
    set_profile(sf, uid, timezone="Pacific/Tongatapu")
    q = add_question(sf, uid)
    c1, c2, c3 = utc(2026, 6, 14, 10, 30), utc(2026, 6, 14, 11, 30), utc(2026, 6, 15, 11, 30)
    # local: 14 Jun 23:30, 15 Jun 00:30, 16 Jun 00:30
    add_attempt(sf, uid, q, c1, number=1)
    add_attempt(sf, uid, q, c2, prev=c1, number=2)
    add_attempt(sf, uid, q, c3, prev=c2, number=3, correct=False)
    scope = analytics.make_scope(
        rt, user_id=uid, start=D(2026, 6, 1), end=D(2026, 6, 16), now=utc(2026, 6, 15, 12)
    )
    return rt, scope


def as_dict(frame, key, value):
    return {k: int(v) for k, v in zip(frame[key], frame[value])}


def test_heatmap_uses_local_days(honolulu, tonga):
    rt, scope = honolulu
    assert as_dict(activity.calendar(rt, scope), "day", "answers") == {
        D(2026, 5, 1): 1,
        D(2026, 6, 13): 1,
        D(2026, 6, 14): 2,
        D(2026, 6, 15): 1,
    }
    rt, scope = tonga
    assert as_dict(activity.calendar(rt, scope), "day", "answers") == {
        D(2026, 6, 14): 1,
        D(2026, 6, 15): 1,
        D(2026, 6, 16): 1,
    }


def test_streak_counts_local_days(honolulu, tonga):
    # UTC days would be 13, 15 (Honolulu) and 14, 15 (Tonga): streaks of 1 and 2.
    for fixture in (honolulu, tonga):
        rt, scope = fixture
        row = activity.streak(rt, scope).iloc[0]
        assert (row["current"], row["best"]) == (3, 3)


def test_hourly_uses_local_hours(honolulu, tonga):
    rt, scope = honolulu
    got = activity.hourly(rt, scope)
    assert len(got) == 24
    assert {h: n for h, n in as_dict(got, "hour", "answers").items() if n} == {0: 1, 10: 2, 23: 1}
    assert got.loc[got["hour"] == 0, "accuracy"].iloc[0] == 0.0
    assert got.loc[got["hour"] == 23, "accuracy"].iloc[0] == 1.0
    rt, scope = tonga
    got = activity.hourly(rt, scope)
    assert {h: n for h, n in as_dict(got, "hour", "answers").items() if n} == {0: 2, 23: 1}


def test_true_retention_by_local_day(honolulu, tonga):
    rt, scope = honolulu
    got = activity.true_retention(rt, scope).set_index("period")
    # Today (15th): the 00:30 answer, wrong, an hour after the 23:30 one on the 14th.
    assert (got.loc["today", "young_passed"], got.loc["today", "young_total"]) == (0, 1)
    # Yesterday: 23:30 (young, 1.5 days after) right; 10:00 (mature, 44 days after) right.
    assert (got.loc["yesterday", "young_passed"], got.loc["yesterday", "young_total"]) == (1, 1)
    assert (got.loc["yesterday", "mature_passed"], got.loc["yesterday", "mature_total"]) == (1, 1)
    assert got.loc["all", "total"] == 3 and got.loc["all", "rate"] == pytest.approx(2 / 3)
    assert got.loc["all", "young_rate"] == pytest.approx(0.5)
    rt, scope = tonga
    got = activity.true_retention(rt, scope).set_index("period")
    # UTC would put c1 and c2 on one day (c2 not counted); locally they are 14th and 15th.
    assert (got.loc["today", "young_passed"], got.loc["today", "young_total"]) == (0, 1)
    assert (got.loc["yesterday", "young_passed"], got.loc["yesterday", "young_total"]) == (1, 1)
    assert got.loc["all", "mature_total"] == 0 and got.loc["all", "mature_rate"] is None


def test_today_reviews_per_day_and_retention_over_time(honolulu):
    rt, scope = honolulu
    today = activity.today(rt, scope).iloc[0]
    assert (
        today["answers"],
        today["seconds"],
        today["correct"],
        today["new"],
        today["review"],
    ) == (1, 50, 0, 0, 1)
    per_day = activity.reviews_per_day(rt, scope)
    got = {(d, c): n for d, c, n in zip(per_day["day"], per_day["category"], per_day["answers"])}
    # In range 1-15 June: 13th new; 14th young (23:30) and mature (10:00); 15th learning.
    assert got == {
        (D(2026, 6, 13), "new"): 1,
        (D(2026, 6, 14), "mature"): 1,
        (D(2026, 6, 14), "young"): 1,
        (D(2026, 6, 15), "learning"): 1,
    }
    assert list(per_day["running_answers"]) == [1, 2, 3, 4]
    assert per_day["running_minutes"].iloc[-1] == pytest.approx((5 + 700 + 15 + 50) / 60)
    weekly = activity.retention_over_time(rt, scope)
    # Weeks (Monday) 8 June: the two answers of the 14th; 15 June: the wrong one.
    assert list(weekly["week"]) == [D(2026, 6, 8), D(2026, 6, 15)]
    assert list(weekly["retention"]) == [1.0, 0.0]
    assert set(weekly["target"]) == {0.9}


def test_calibration_time_outcomes_and_xp(honolulu):
    rt, scope = honolulu
    cal = activity.calibration(rt, scope).set_index("confidence")
    # In range: conf 1 right, 4 right (twice), 5 wrong; 2 and 3 unused (1 May is out of range).
    assert list(cal["answers"]) == [1, 0, 0, 2, 1]
    assert cal.loc[4, "accuracy"] == 1.0 and cal.loc[5, "accuracy"] == 0.0
    assert pd.isna(cal.loc[2, "accuracy"]) and cal.loc[5, "ideal"] == 1.0
    times = activity.time_per_question(rt, scope).set_index("from_s")
    assert times.loc[0, "answers"] == 1 and times.loc[10, "answers"] == 1
    assert times.loc[45, "answers"] == 1 and times.loc[600, "answers"] == 1
    assert times["cumulative_share"].iloc[-1] == 1.0
    outcomes = activity.outcomes_by_type(rt, scope)
    got = {(t, r): (n, c) for t, r, n, c in outcomes.itertuples(index=False)}
    assert got == {("mcq", 1): (1, 0), ("mcq", 3): (2, 2), ("cloze", 4): (1, 1)}
    xp = activity.xp_progress(rt, scope)
    # 10 XP on 1 May precedes the range: the running total starts from it.
    assert list(xp["xp"]) == [10, 50, 5]
    assert list(xp["total_xp"]) == [20, 70, 75]
    assert list(xp["level"]) == [1, 1, 1]


def test_model_usage_per_local_day(honolulu):
    rt, scope = honolulu
    sf = rt.session_factory
    uid = scope.user_id
    add_usage(sf, uid, utc(2026, 6, 15, 9), "openai/gpt-4o-mini", 0.002)  # local 14th
    add_usage(sf, uid, utc(2026, 6, 15, 11), "openai/gpt-4o-mini", 0.003)  # local 15th
    add_usage(sf, uid, utc(2026, 6, 15, 11), "anthropic/claude", 0.01)
    add_usage(sf, uid, utc(2026, 5, 1, 11), "anthropic/claude", 1.0)  # out of range
    add_usage(sf, uid, utc(2026, 6, 15, 11), "anthropic/claude", 0.5, outcome="reserved")
    got = analytics.chart("model_usage", rt, scope)
    rows = {
        (d, m): (c, cost)
        for d, m, c, cost in zip(got["day"], got["model"], got["calls"], got["cost_usd"])
    }
    assert rows == {
        (D(2026, 6, 14), "openai/gpt-4o-mini"): (1, 0.002),
        (D(2026, 6, 15), "anthropic/claude"): (1, 0.01),
        (D(2026, 6, 15), "openai/gpt-4o-mini"): (1, 0.003),
    }
    assert got["cumulative_cost_usd"].iloc[-1] == pytest.approx(0.015)
    assert int(got["tokens_in"].sum()) == 300
