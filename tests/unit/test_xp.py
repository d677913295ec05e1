"""XP per answer, the level curve, and streaks in the learner's time zone."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, strategies as st

from engine.scoring.xp import (
    Streak,
    XPParams,
    current_streak,
    level_for_xp,
    local_date,
    record_activity,
    xp_for_answer,
    xp_for_level,
)


@pytest.mark.parametrize(
    ("correct", "difficulty", "confidence", "xp"),
    [
        (False, 3, 5, 10),  # base only: no bonus for confident wrong answers
        (False, 3, 1, 10),
        (True, 3, 3, 20),  # base + correctness
        (True, 3, 4, 25),  # + calibrated high confidence
        (True, 5, 5, 35),  # x1.5: 15 + 15 + 5
        (True, 1, 2, 10),  # x0.5: 5 + 5
        (False, 5, 2, 15),
    ],
)
def test_xp_per_answer(correct, difficulty, confidence, xp):
    assert xp_for_answer(correct=correct, difficulty=difficulty, confidence=confidence) == xp


def test_xp_settings():
    p = XPParams(base=2, correct_bonus=3, calibration_bonus=7)
    assert xp_for_answer(correct=True, difficulty=3, confidence=5, params=p) == 12


def test_xp_bad_input():
    with pytest.raises(ValueError, match="difficulty"):
        xp_for_answer(correct=True, difficulty=0, confidence=3)
    with pytest.raises(ValueError, match="confidence"):
        xp_for_answer(correct=True, difficulty=3, confidence=6)


def test_level_curve():
    assert [xp_for_level(level) for level in range(1, 6)] == [0, 100, 300, 600, 1000]
    assert [level_for_xp(x) for x in (0, 99, 100, 299, 300, 599, 600, 1000, 1_000_000)] == [
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        5,
        141,
    ]


@given(st.integers(0, 10**9))
def test_level_is_consistent_with_thresholds(xp):
    level = level_for_xp(xp)
    assert xp_for_level(level) <= xp < xp_for_level(level + 1)


def at(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s)


def test_streak_counts_days_in_the_learners_time_zone():
    s = Streak(0, 0, None)
    # 23:30 in New York on 1 March is already 2 March in UTC.
    s = record_activity(s, at=at("2026-03-02T04:30:00+00:00"), timezone="America/New_York")
    assert s == Streak(1, 1, dt.date(2026, 3, 1))
    # 00:30 UTC on 3 March is still 2 March in New York: the next day, streak 2.
    s = record_activity(s, at=at("2026-03-03T00:30:00+00:00"), timezone="America/New_York")
    assert s == Streak(2, 2, dt.date(2026, 3, 2))
    # Later the same local day: unchanged.
    assert record_activity(s, at=at("2026-03-03T03:00:00+00:00"), timezone="America/New_York") == s
    # A missed day starts again at 1 and keeps the best.
    s = record_activity(s, at=at("2026-03-05T15:00:00+00:00"), timezone="America/New_York")
    assert s == Streak(1, 2, dt.date(2026, 3, 5))


def test_same_instant_differs_by_zone():
    moment = at("2026-03-02T04:30:00+00:00")
    assert local_date(moment, "UTC") == dt.date(2026, 3, 2)
    assert local_date(moment, "America/New_York") == dt.date(2026, 3, 1)
    with pytest.raises(ValueError, match="time zone"):
        local_date(moment, "Mars/Base")
    with pytest.raises(ValueError, match="aware"):
        local_date(dt.datetime(2026, 1, 1), "UTC")


def test_current_streak_lapses_after_a_missed_day():
    s = Streak(4, 6, dt.date(2026, 3, 1))
    assert current_streak(s, now=at("2026-03-02T23:00:00+00:00"), timezone="UTC") == 4
    assert current_streak(s, now=at("2026-03-03T00:01:00+00:00"), timezone="UTC") == 0
    assert (
        current_streak(Streak(0, 0, None), now=at("2026-03-03T00:01:00+00:00"), timezone="UTC") == 0
    )
