"""SM-2 as published: replayed histories, property tests, and input validation."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from engine.scheduling import sm2
from engine.scheduling.sm2 import SM2Params, SM2State, review

T0 = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)


def replay(qualities, params=None):
    state, at, out = None, T0, []
    for q in qualities:
        state = review(state, q, reviewed_at=at, params=params)
        out.append((state.repetitions, state.interval_days, state.easiness))
        assert state.due_at == at + dt.timedelta(days=state.interval_days)
        at = state.due_at
    return out


@pytest.mark.parametrize(
    ("qualities", "expected"),
    [
        # Perfect recall: EF grows by 0.1 each time; 6 x 2.7 = 16.2 -> 16, 16 x 2.8 = 44.8 -> 45,
        # 45 x 2.9 = 130.5 -> 131 (halves round up).
        ([5, 5, 5, 5, 5], [(1, 1, 2.6), (2, 6, 2.7), (3, 16, 2.8), (4, 45, 2.9), (5, 131, 3.0)]),
        # q = 4 leaves EF at 2.5: 6 x 2.5 = 15, 15 x 2.5 = 37.5 -> 38, 38 x 2.5 = 95.
        (
            [4, 4, 4, 4, 4, 4],
            [(1, 1, 2.5), (2, 6, 2.5), (3, 15, 2.5), (4, 38, 2.5), (5, 95, 2.5), (6, 238, 2.5)],
        ),
        # q = 3 lowers EF by 0.14; the interval uses EF from before the update:
        # 6 x 2.22 = 13.32 -> 13, 13 x 2.08 = 27.04 -> 27, 27 x 1.94 = 52.38 -> 52.
        ([3, 3, 3, 3, 3], [(1, 1, 2.36), (2, 6, 2.22), (3, 13, 2.08), (4, 27, 1.94), (5, 52, 1.8)]),
        # A lapse resets n and the interval but keeps the (lowered) EF:
        # 2.7 + 0.1 - 3 x (0.08 + 3 x 0.02) = 2.38; then 1, 6, 6 x 2.38 = 14.28 -> 14.
        (
            [5, 5, 2, 4, 4, 4],
            [(1, 1, 2.6), (2, 6, 2.7), (0, 1, 2.38), (1, 1, 2.38), (2, 6, 2.38), (3, 14, 2.38)],
        ),
        # Blackouts drive EF to the 1.3 floor and keep the interval at 1 day.
        ([0, 0, 0, 1], [(0, 1, 1.7), (0, 1, 1.3), (0, 1, 1.3), (0, 1, 1.3)]),
        # From the floor, passes multiply by 1.3: 6 x 1.3 = 7.8 -> 8, 8 x 1.3 = 10.4 -> 10.
        (
            [0, 0, 3, 3, 3, 3],
            [(0, 1, 1.7), (0, 1, 1.3), (1, 1, 1.3), (2, 6, 1.3), (3, 8, 1.3), (4, 10, 1.3)],
        ),
    ],
)
def test_replayed_history_gives_the_published_intervals_and_easiness(qualities, expected):
    assert replay(qualities) == expected


def test_optional_maximum_easiness_caps_growth():
    params = SM2Params(max_easiness=2.6)
    assert [e for _, _, e in replay([5, 5, 5, 5], params)] == [2.6, 2.6, 2.6, 2.6]
    # 6 x 2.6 = 15.6 -> 16, 16 x 2.6 = 41.6 -> 42
    assert [i for _, i, _ in replay([5, 5, 5, 5], params)] == [1, 6, 16, 42]


def test_settings_change_the_constants():
    params = SM2Params(
        initial_easiness=2.0, min_easiness=1.5, first_interval_days=2, second_interval_days=5
    )
    assert replay([4, 4, 4, 0, 0], params) == [
        (1, 2, 2.0),
        (2, 5, 2.0),
        (3, 10, 2.0),
        (0, 2, 1.5),
        (0, 2, 1.5),
    ]


def test_review_returns_a_new_state_and_leaves_the_input_alone():
    before = SM2State(repetitions=2, interval_days=6, easiness=2.5, due_at=T0)
    after = review(before, 4, reviewed_at=T0)
    assert before == SM2State(repetitions=2, interval_days=6, easiness=2.5, due_at=T0)
    assert after.interval_days == 15


def test_other_time_zones_are_accepted_and_due_keeps_the_instant():
    tokyo = dt.timezone(dt.timedelta(hours=9))
    at = dt.datetime(2026, 3, 1, 23, 0, tzinfo=tokyo)
    state = review(None, 5, reviewed_at=at)
    assert state.due_at == at + dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("state", "quality", "reviewed_at", "fragment"),
    [
        (None, 6, T0, "quality"),
        (None, -1, T0, "quality"),
        (None, 3.0, T0, "quality"),
        (None, True, T0, "quality"),
        (None, 3, dt.datetime(2026, 1, 1), "timezone-aware"),
        (SM2State(-1, 1, 2.5, T0), 3, T0, "repetitions"),
        (SM2State(1, -3, 2.5, T0), 3, T0, "interval_days"),
        (SM2State(1, 1, 1.0, T0), 3, T0, "easiness"),
    ],
)
def test_invalid_input_raises_value_error(state, quality, reviewed_at, fragment):
    with pytest.raises(ValueError, match=fragment):
        review(state, quality, reviewed_at=reviewed_at)


def test_all_problems_are_reported_at_once():
    with pytest.raises(ValueError) as e:
        review(SM2State(-1, 1, 2.5, T0), 9, reviewed_at=dt.datetime(2026, 1, 1))
    assert (
        "quality" in str(e.value) and "timezone" in str(e.value) and "repetitions" in str(e.value)
    )


def test_invalid_params_raise():
    with pytest.raises(ValueError, match="max_easiness"):
        review(None, 3, reviewed_at=T0, params=SM2Params(max_easiness=1.0))


states = st.builds(
    SM2State,
    repetitions=st.integers(0, 50),
    interval_days=st.integers(0, 5000),
    easiness=st.floats(1.3, 4.0, allow_nan=False).map(lambda x: round(x, 2)),
    due_at=st.just(T0),
)
moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)


@hsettings(max_examples=300, deadline=None)
@given(state=st.none() | states, quality=st.integers(0, 5), at=moments)
def test_properties_of_every_review(state, quality, at):
    new = review(state, quality, reviewed_at=at)
    assert new.easiness >= 1.3
    assert new.due_at == at + dt.timedelta(days=new.interval_days)
    assert new.interval_days >= 1
    if quality < 3:
        assert new.repetitions == 0 and new.interval_days == 1
    else:
        assert new.repetitions == (state.repetitions if state else 0) + 1


@hsettings(max_examples=100, deadline=None)
@given(qualities=st.lists(st.integers(0, 5), min_size=1, max_size=30))
def test_properties_over_whole_histories(qualities):
    for reps, interval, ef in replay(qualities):
        assert ef >= 1.3 and interval >= 1 and reps >= 0


def test_predicted_recall_is_ninety_percent_when_reviewed_on_time():
    state = review(review(None, 4, reviewed_at=T0), 4, reviewed_at=T0 + dt.timedelta(days=1))
    last = T0 + dt.timedelta(days=1)
    assert sm2.predicted_recall(state, at=state.due_at, last_reviewed_at=last) == pytest.approx(0.9)
    assert sm2.predicted_recall(
        state, at=last + dt.timedelta(days=12), last_reviewed_at=last
    ) == pytest.approx(0.81)


def test_intervals_stop_at_the_maximum_so_long_streaks_keep_a_valid_due_date():
    state, at = None, T0
    for _ in range(60):  # 2.5 ** 60 days would be far past any representable date
        state = review(state, 5, reviewed_at=at)
        at = at + dt.timedelta(minutes=1)
    assert state.interval_days == sm2.DEFAULT_PARAMS.max_interval_days
    assert state.due_at == at - dt.timedelta(minutes=1) + dt.timedelta(days=36500)
    capped = sm2.SM2Params(max_interval_days=30)
    assert (
        review(
            SM2State(repetitions=5, interval_days=25, easiness=2.5, due_at=T0),
            5,
            reviewed_at=T0,
            params=capped,
        ).interval_days
        == 30
    )
