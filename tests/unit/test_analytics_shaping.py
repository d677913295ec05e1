"""Day-one analytics: projections wait for enough reviews, count axes start at zero and never
show -1..1, and date axes never repeat a day."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from engine.analytics.shaping import (
    MIN_REVIEWS_FOR_PROJECTION,
    count_range,
    day_ticks,
    projection_basis,
)
from ui import analytics_charts as charts

D = dt.date


def test_a_projection_waits_for_enough_reviews_and_says_how_many_are_missing():
    first_session = projection_basis(0)
    assert not first_session.ready and first_session.missing == MIN_REVIEWS_FOR_PROJECTION
    almost = projection_basis(MIN_REVIEWS_FOR_PROJECTION - 1)
    assert not almost.ready and almost.missing == 1
    enough = projection_basis(MIN_REVIEWS_FOR_PROJECTION)
    assert enough.ready and enough.missing == 0
    assert projection_basis(5, needed=3).ready


def test_projection_basis_reports_every_bad_argument_at_once():
    with pytest.raises(ValueError, match="reviews must be >= 0.*needed must be >= 1"):
        projection_basis(-1, needed=0)


@pytest.mark.parametrize("values", [[], [0, 0, 0], [None], [float("nan"), 0.0]])
def test_a_count_axis_with_nothing_to_show_runs_from_zero_to_one(values):
    assert count_range(values) == (0.0, 1.0)


def test_a_count_axis_starts_at_zero_with_room_above_the_largest_value():
    low, high = count_range([3, 12, 7])
    assert low == 0.0 and 12 < high <= 13


@pytest.mark.parametrize(
    "first,last",
    [
        (D(2026, 12, 7), D(2026, 12, 7)),
        (D(2026, 12, 6), D(2026, 12, 7)),
        (D(2026, 12, 1), D(2026, 12, 9)),
        (D(2026, 9, 9), D(2026, 12, 7)),
    ],
)
def test_day_ticks_are_distinct_days_within_the_range(first, last):
    ticks = day_ticks(first, last)
    assert ticks[0] == first and ticks[-1] <= last
    assert len(ticks) == len(set(ticks)) <= 8
    assert ticks == sorted(ticks)
    if (last - first).days < 8:  # a short range gets every day
        assert len(ticks) == (last - first).days + 1


def test_week_ticks_fall_on_the_weeks_given():
    monday = D(2026, 9, 7)
    ticks = day_ticks(monday, monday + dt.timedelta(weeks=13), step_days=7)
    assert all((t - monday).days % 7 == 0 for t in ticks) and len(ticks) <= 8


def test_day_ticks_reject_a_backwards_range():
    with pytest.raises(ValueError, match="before first"):
        day_ticks(D(2026, 12, 7), D(2026, 12, 6))


def _ticks(axis) -> list[str]:
    return list(axis.tickvals)


def test_one_day_of_answers_has_one_tick_per_day_and_no_negative_axis():
    day = D(2026, 12, 7)
    df = pd.DataFrame(
        {
            "day": [day, day],
            "category": ["new", "learning"],
            "answers": [12, 3],
            "seconds": [300, 90],
        }
    )
    fig = charts.reviews_per_day(df, "answers")
    assert _ticks(fig.layout.xaxis) == ["2026-12-07"]
    assert list(fig.layout.xaxis.ticktext) == ["07 Dec"]
    assert fig.layout.yaxis.range[0] == 0 and fig.layout.yaxis.range[1] >= 15
    assert fig.layout.yaxis2.range[0] == 0


def test_free_model_calls_chart_calls_not_a_money_axis_from_minus_one():
    day = D(2026, 12, 7)
    df = pd.DataFrame(
        {
            "day": [day],
            "model": ["offline"],
            "calls": [4],
            "tokens_in": [0],
            "tokens_out": [0],
            "cost_usd": [0.0],
            "cumulative_cost_usd": [0.0],
        }
    )
    fig = charts.model_usage(df)
    assert fig.layout.title.text == "Model calls (no cost)"
    assert fig.layout.yaxis.title.text == "Calls per day"
    assert tuple(fig.layout.yaxis.range) == (0.0, 4 * 1.08)
    assert list(fig.data[0].y) == [4]
    costly = charts.model_usage(df.assign(cost_usd=[0.02]))
    assert costly.layout.title.text == "Model cost (US$)"
    assert costly.layout.yaxis.range[0] == 0


@pytest.mark.parametrize(
    "builder,frame",
    [
        (
            charts.hourly,
            pd.DataFrame({"hour": range(24), "answers": [0] * 24, "accuracy": [None] * 24}),
        ),
        (
            charts.time_per_question,
            pd.DataFrame({"bucket": ["<10 s"], "answers": [0], "cumulative_share": [0.0]}),
        ),
        (
            charts.intervals,
            pd.DataFrame({"interval_days": [1], "questions": [0], "cumulative_share": [0.0]}),
        ),
    ],
)
def test_empty_count_charts_start_at_zero(builder, frame):
    assert tuple(builder(frame).layout.yaxis.range) == (0.0, 1.0)
