"""Question quality score (the design's weights) and the retirement rules."""

from __future__ import annotations

import pytest

from engine.scoring.quality import (
    AttemptFacts,
    QualityParams,
    Retirement,
    calibration_score,
    quality_score,
    retirement,
    success_score,
    time_score,
)


def attempts(n_correct, n_wrong, *, seconds=90.0, conf_right=5, conf_wrong=1):
    return [AttemptFacts(True, conf_right, seconds)] * n_correct + [
        AttemptFacts(False, conf_wrong, seconds)
    ] * n_wrong


def test_ideal_question_scores_one():
    q = quality_score(attempts(6, 4), flags=0)
    assert q.score == pytest.approx(1.0)
    assert (q.success, q.time, q.calibration, q.flag_rate) == (1.0, 1.0, 1.0, 0.0)


def test_weights_are_point_four_point_three_point_two_point_one():
    # Everyone right (success 0), instant answers at 30 s (time 0.5), confidence 3 on right
    # answers (calibration 1 - 0.25 = 0.75), 1 flag in 10 (flag score 0.9).
    q = quality_score(attempts(10, 0, seconds=30, conf_right=3), flags=1)
    assert q.success == 0.0 and q.time == 0.5 and q.calibration == 0.75 and q.flag_rate == 0.1
    assert q.score == pytest.approx(0.4 * 0 + 0.3 * 0.5 + 0.2 * 0.75 + 0.1 * 0.9)


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(0.0, 0.0), (0.25, 0.5), (0.5, 1.0), (0.6, 1.0), (0.7, 1.0), (0.85, 0.5), (1.0, 0.0)],
)
def test_success_is_best_between_fifty_and_seventy_percent(rate, expected):
    assert success_score(rate) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("secs", "expected"),
    [(0, 0.0), (30, 0.5), (60, 1.0), (120, 1.0), (360, 0.5), (600, 0.0), (3600, 0.0)],
)
def test_time_is_best_between_one_and_two_minutes(secs, expected):
    assert time_score(secs) == pytest.approx(expected)


def test_calibration_rewards_confident_right_and_punishes_confident_wrong():
    assert calibration_score([AttemptFacts(True, 5, 60)]) == 1.0
    assert calibration_score([AttemptFacts(False, 1, 60)]) == 1.0
    assert calibration_score([AttemptFacts(False, 5, 60)]) == 0.0
    assert calibration_score([AttemptFacts(True, 1, 60)]) == 0.0


def test_misleading_question_scores_below_a_good_one():
    good = quality_score(attempts(6, 4), flags=0).score
    misleading = quality_score(attempts(6, 4, conf_wrong=5), flags=0).score
    assert misleading < good


def test_unrated_below_minimum_attempts():
    assert quality_score(attempts(2, 2), flags=0).score is None
    assert quality_score(attempts(2, 3), flags=0).score is not None
    assert (
        quality_score(attempts(2, 3), flags=0, params=QualityParams(min_attempts=10)).score is None
    )
    empty = quality_score([], flags=0)
    assert empty.score is None and empty.attempts == 0


def test_flag_wrong_leaves_at_once_even_when_unrated():
    q = quality_score([], flags=1)
    assert retirement(q, flagged_wrong=True) is Retirement.FLAGGED_WRONG


def test_flag_rate_above_ten_percent_retires_with_a_minimum_count():
    assert (
        retirement(quality_score(attempts(6, 4), flags=2), flagged_wrong=False)
        is Retirement.FLAG_RATE
    )  # 20% over 10 attempts
    assert (
        retirement(quality_score(attempts(6, 4), flags=1), flagged_wrong=False) is None
    )  # exactly 10% is not above
    assert (
        retirement(quality_score(attempts(3, 3), flags=2), flagged_wrong=False) is None
    )  # 33% but only 6 attempts


def test_low_score_retires():
    bad = quality_score(attempts(0, 8, seconds=5, conf_wrong=5), flags=0)
    assert bad.score < 0.3
    assert retirement(bad, flagged_wrong=False) is Retirement.LOW_SCORE
    assert retirement(bad, flagged_wrong=False, params=QualityParams(retire_below=0.05)) is None


def test_bad_input():
    with pytest.raises(ValueError, match="flags"):
        quality_score([], flags=-1)
    with pytest.raises(ValueError, match="confidence"):
        quality_score([AttemptFacts(True, 9, 10)], flags=0)
