"""The attempt -> SM-2 quality / FSRS rating mapping, as documented in its module table."""

from __future__ import annotations

import pytest

from engine.scheduling.rating import Grade, RatingParams, grade_attempt, rating_for_quality

FAST, SLOW = 20.0, 200.0


@pytest.mark.parametrize(
    ("correct", "confidence", "seconds", "hinted", "quality", "rating"),
    [
        (False, 5, FAST, False, 0, 1),
        (False, 4, SLOW, False, 0, 1),
        (False, 3, FAST, False, 1, 1),
        (False, 2, FAST, False, 2, 1),
        (False, 1, SLOW, True, 2, 1),
        (True, 5, FAST, True, 3, 2),
        (True, 1, FAST, False, 3, 2),
        (True, 2, SLOW, False, 3, 2),
        (True, 3, FAST, False, 4, 3),
        (True, 3, SLOW, False, 3, 2),
        (True, 4, FAST, False, 5, 4),
        (True, 5, FAST, False, 5, 4),
        (True, 5, SLOW, False, 4, 3),
    ],
)
def test_mapping_table(correct, confidence, seconds, hinted, quality, rating):
    assert grade_attempt(
        correct=correct, confidence=confidence, seconds=seconds, hinted=hinted
    ) == Grade(quality, rating)


def test_confidently_wrong_scores_lowest_of_all():
    grades = {
        (c, conf): grade_attempt(correct=c, confidence=conf, seconds=FAST).quality
        for c in (True, False)
        for conf in range(1, 6)
    }
    assert min(grades.values()) == grades[(False, 5)] == grades[(False, 4)] == 0
    assert all(q > 0 for (c, conf), q in grades.items() if c or conf < 4)


def test_every_correct_answer_passes_and_every_wrong_one_fails_in_both_schedulers():
    for conf in range(1, 6):
        for secs in (1, FAST, SLOW, 3600):
            ok = grade_attempt(correct=True, confidence=conf, seconds=secs)
            bad = grade_attempt(correct=False, confidence=conf, seconds=secs)
            assert ok.quality >= 3 and ok.rating >= 2
            assert bad.quality < 3 and bad.rating == 1


def test_slow_threshold_is_a_setting():
    assert grade_attempt(correct=True, confidence=5, seconds=100).quality == 4
    assert (
        grade_attempt(
            correct=True, confidence=5, seconds=100, params=RatingParams(slow_after_s=150)
        ).quality
        == 5
    )


def test_quality_to_rating():
    assert [rating_for_quality(q) for q in range(6)] == [1, 1, 1, 2, 3, 4]
    with pytest.raises(ValueError):
        rating_for_quality(6)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"correct": 1, "confidence": 3, "seconds": 5}, "correct"),
        ({"correct": True, "confidence": 0, "seconds": 5}, "confidence"),
        ({"correct": True, "confidence": 6, "seconds": 5}, "confidence"),
        ({"correct": True, "confidence": 3, "seconds": -1}, "seconds"),
    ],
)
def test_invalid_input(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        grade_attempt(**kwargs)
