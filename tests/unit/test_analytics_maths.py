"""The analytics arithmetic without a database."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from fsrs import Card, Scheduler, State

from engine.analytics import maths
from engine.scheduling.fsrs6 import DEFAULT_FSRS_PARAMETERS

D = dt.date
NOW = dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC)


def test_maturity_boundaries():
    assert maths.maturity(None) == "new"
    assert maths.maturity(0.99) == "learning"
    assert maths.maturity(1) == "young"
    assert maths.maturity(20.99) == "young"
    assert maths.maturity(21) == "mature"


def test_true_review_needs_an_earlier_local_day():
    assert not maths.is_true_review(None, D(2026, 6, 15))
    assert not maths.is_true_review(D(2026, 6, 15), D(2026, 6, 15))
    assert maths.is_true_review(D(2026, 6, 14), D(2026, 6, 15))


def test_rate_is_none_without_data():
    assert maths.rate(0, 0) is None
    assert maths.rate(3, 4) == 0.75


@pytest.mark.parametrize("days,stability", [(0, 3.0), (1, 0.5), (7, 7.0), (30, 12.5), (365, 200.0)])
def test_retrievability_matches_the_fsrs_package(days, stability):
    decay, factor = maths.forgetting_curve(DEFAULT_FSRS_PARAMETERS)
    card = Card(
        card_id=1,
        state=State.Review,
        stability=stability,
        difficulty=5.0,
        due=NOW,
        last_review=NOW - dt.timedelta(days=days),
    )
    expected = Scheduler().get_card_retrievability(card, NOW)
    assert maths.retrievability(days, stability, decay, factor) == pytest.approx(expected)


def test_retrievability_at_stability_is_ninety_percent_and_vectorises():
    decay, factor = maths.forgetting_curve(DEFAULT_FSRS_PARAMETERS)
    got = maths.retrievability(
        np.array([0.0, 10.0, -5.0]), np.array([10.0, 10.0, 10.0]), decay, factor
    )
    assert got == pytest.approx([1.0, 0.9, 1.0])


def test_projected_recall_keeps_the_schedule():
    decay, factor = maths.forgetting_curve(DEFAULT_FSRS_PARAMETERS)
    day = 86400.0
    exam = NOW + dt.timedelta(days=10)
    t = NOW.timestamp()
    got = maths.projected_recall(
        now=NOW,
        exam=exam,
        last_reviewed=np.array([t - 2 * day, t - day, t - 30 * day]),
        due=np.array([t + 20 * day, t + 3 * day, t - 5 * day]),
        stability=np.array([20.0, 4.0, 30.0]),
        decay=decay,
        factor=factor,
    )
    # Not due before the exam: 12 days since its last review.
    assert got[0] == pytest.approx(maths.retrievability(12, 20.0, decay, factor))
    # Due in 3 days every 4 days: answered on days 3 and 7, so 3 days before the exam.
    assert got[1] == pytest.approx(maths.retrievability(3, 4.0, decay, factor))
    # Overdue: answered now, interval 30 days: 10 days at the exam.
    assert got[2] == pytest.approx(maths.retrievability(10, 30.0, decay, factor))


def test_streaks_current_and_best():
    days = [D(2026, 6, 1), D(2026, 6, 2), D(2026, 6, 3), D(2026, 6, 10), D(2026, 6, 11)]
    assert maths.streaks(days, D(2026, 6, 11)) == (2, 3)
    assert maths.streaks(days, D(2026, 6, 12)) == (2, 3)  # today not over yet
    assert maths.streaks(days, D(2026, 6, 13)) == (0, 3)
    assert maths.streaks([], D(2026, 6, 13)) == (0, 0)
    assert maths.streaks(days + days, D(2026, 6, 11)) == (2, 3)


def test_calibration_bins_and_error():
    counts = pd.DataFrame({"confidence": [1, 5], "answers": [10, 4], "correct": [5, 4]})
    bins = maths.calibration_bins(counts)
    assert list(bins["confidence"]) == [1, 2, 3, 4, 5]
    assert list(bins["answers"]) == [10, 0, 0, 0, 4]
    assert bins.loc[0, "accuracy"] == 0.5 and bins.loc[0, "ideal"] == 0.2
    assert bins.loc[0, "gap"] == pytest.approx(0.3)
    assert pd.isna(bins.loc[1, "accuracy"])
    low, high = bins.loc[0, "low"], bins.loc[0, "high"]
    assert low == pytest.approx(0.2366, abs=1e-3) and high == pytest.approx(0.7634, abs=1e-3)
    assert maths.calibration_error(bins) == pytest.approx((10 * 0.3 + 4 * 0.0) / 14)
    assert maths.calibration_error(maths.calibration_bins(counts.iloc[0:0])) is None


def test_with_cumulative():
    frame = pd.DataFrame({"n": [1, 3, 0, 4]})
    assert list(maths.with_cumulative(frame, "n")["cumulative"]) == [1, 4, 4, 8]
    share = maths.with_cumulative(frame, "n", "s", percent=True)["s"]
    assert list(share) == [0.125, 0.5, 0.5, 1.0]
    assert list(maths.with_cumulative(frame * 0, "n", percent=True)["cumulative"]) == [0] * 4
