"""Item analysis against statistics computed by hand on small answer tables."""

from __future__ import annotations

import math

import pytest

from engine.domain.item_analysis import (
    AnalysisParams,
    FirstAnswer,
    ItemSums,
    Verdict,
    analyse_item,
    correlation,
    median_from_counts,
    rest_scores,
    sums_from_first_answers,
)
from engine.scoring.quality import cohort_quality_score

# Four learners, three questions; question 1 is multiple choice (options 0, 1, 2).
#
#   learner  Q1 (chosen)  Q2  Q3   rest score for Q1 (share right on Q2, Q3)
#   A        right (0)    1   1    2/2 = 1.0
#   B        right (0)    1   0    1/2 = 0.5
#   C        wrong (1)    0   1    1/2 = 0.5
#   D        wrong (2)    0   0    0/2 = 0.0
#
# x = [1, 1, 0, 0] (mean .5), r = [1, .5, .5, 0] (mean .5)
# deviations: x [.5, .5, -.5, -.5], r [.5, 0, 0, -.5]
# sum dx*dr = .25 + .25 = .5; sum dx^2 = 1; sum dr^2 = .5
# point-biserial = .5 / sqrt(1 * .5) = 1/sqrt(2) = 0.7071
# option 1 chosen by C: dI = [-.25, -.25, .75, -.25]; sum dI*dr = -.125 + .125 = 0 -> 0
# option 2 chosen by D: dI = [-.25, -.25, -.25, .75]; sum dI*dr = -.125 - .375 = -.5;
#   sum dI^2 = .75 -> -.5 / sqrt(.75 * .5) = -sqrt(2/3) = -0.8165
TABLE = [
    ("A", (True, 0), True, True),
    ("B", (True, 0), True, False),
    ("C", (False, 1), False, True),
    ("D", (False, 2), False, False),
]


def _answers(key: int = 0) -> list[FirstAnswer]:
    out: list[FirstAnswer] = []
    for learner, (_, chosen), q2, q3 in TABLE:
        out.append(FirstAnswer(learner, 1, chosen == key, chosen, seconds=10.0 * len(out) + 10))
        out.append(FirstAnswer(learner, 2, q2))
        out.append(FirstAnswer(learner, 3, q3))
    return out


PARAMS = AnalysisParams(min_learners=4)


def test_rest_scores_leave_the_question_out() -> None:
    rest = rest_scores(_answers())
    assert [rest[(name, 1)] for name in "ABCD"] == [1.0, 0.5, 0.5, 0.0]
    # Q2 for A: Q1 right, Q3 right -> 1.0; for C: Q1 wrong, Q3 right -> 0.5
    assert rest[("A", 2)] == 1.0 and rest[("C", 2)] == 0.5
    assert rest_scores([FirstAnswer("alone", 1, True)]) == {("alone", 1): None}


def test_difficulty_discrimination_and_options_match_the_hand_computation() -> None:
    stats = analyse_item(
        sums_from_first_answers(_answers(), 1), correct_index=0, n_options=3, params=PARAMS
    )
    assert stats.learners == 4 and stats.difficulty == 0.5
    assert stats.discrimination == pytest.approx(1 / math.sqrt(2))
    assert [o.share for o in stats.options] == [0.5, 0.25, 0.25]
    assert stats.options[0].discrimination == pytest.approx(1 / math.sqrt(2))
    assert stats.options[1].discrimination == pytest.approx(0.0, abs=1e-12)
    assert stats.options[2].discrimination == pytest.approx(-math.sqrt(2 / 3))
    # median of first-answer seconds of Q1: 10, 40, 70, 100 -> 55
    assert stats.median_seconds == 55.0
    assert stats.verdicts == (Verdict.GOOD,)


def test_a_wrong_key_is_caught_by_the_discriminating_wrong_option() -> None:
    # Keyed as option 1: only C is "right": x = [0, 0, 1, 0] against r = [1, .5, .5, 0]:
    # correlation 0 (as option 1 above), so the item alone only looks poor, but option 0
    # (now a wrong option) correlates +0.7071 with the rest score: the real answer.
    stats = analyse_item(
        sums_from_first_answers(_answers(key=1), 1), correct_index=1, n_options=3, params=PARAMS
    )
    assert stats.difficulty == 0.25
    assert stats.discrimination == pytest.approx(0.0, abs=1e-12)
    assert stats.options[0].weak and not stats.options[2].weak
    assert stats.verdicts == (Verdict.CHECK_KEY, Verdict.WEAK_DISTRACTOR)


def test_negative_discrimination_checks_the_key_and_bands_mark_easy_and_hard() -> None:
    # x = [0, 0, 1, 1] against r = [1, .5, .5, 0]: the mirror of the first table, -0.7071.
    sums = ItemSums(
        learners=4, answers=4, first_correct=2, with_rest=4, sum_x=2, sum_r=2.0,
        sum_rr=1.5, sum_xr=0.5, flagged=1, median_seconds=None,
    )  # fmt: skip
    stats = analyse_item(sums, correct_index=None, n_options=0, params=PARAMS)
    assert stats.discrimination == pytest.approx(-1 / math.sqrt(2))
    assert stats.verdicts == (Verdict.CHECK_KEY,) and stats.flag_share == 0.25
    # 9 of 10 right (0.9 > 0.80) with r uncorrelated enough to be poor too
    easy = ItemSums(
        learners=10, answers=10, first_correct=9, with_rest=0, sum_x=0, sum_r=0, sum_rr=0,
        sum_xr=0, flagged=0, median_seconds=None,
    )  # fmt: skip
    verdicts = analyse_item(easy, correct_index=None, n_options=0, params=PARAMS).verdicts
    assert verdicts == (Verdict.POOR_DISCRIMINATION, Verdict.TOO_EASY)
    hard = ItemSums(
        learners=10, answers=10, first_correct=1, with_rest=0, sum_x=0, sum_r=0, sum_rr=0,
        sum_xr=0, flagged=0, median_seconds=None,
    )  # fmt: skip
    verdicts = analyse_item(hard, correct_index=None, n_options=0, params=PARAMS).verdicts
    assert Verdict.TOO_HARD in verdicts


def test_a_rarely_chosen_distractor_is_weak_and_few_learners_get_no_verdict() -> None:
    # 40 learners: 20 right (option 0), 19 chose option 1, 1 chose option 2 (2.5% < 5%).
    answers = []
    for i in range(40):
        chosen = 0 if i < 20 else (1 if i < 39 else 2)
        answers.append(FirstAnswer(f"l{i}", 1, chosen == 0, chosen))
        answers.append(FirstAnswer(f"l{i}", 2, i < 22))
        answers.append(FirstAnswer(f"l{i}", 3, i % 3 != 0))
    sums = sums_from_first_answers(answers, 1)
    stats = analyse_item(sums, correct_index=0, n_options=3, params=AnalysisParams())
    assert stats.options[2].share == 0.025 and stats.options[2].weak
    assert Verdict.WEAK_DISTRACTOR in stats.verdicts
    few = analyse_item(sums, correct_index=0, n_options=3, params=AnalysisParams(min_learners=41))
    assert few.verdicts == (Verdict.NOT_ENOUGH,)


def test_correlation_is_none_without_variation() -> None:
    assert correlation(3, 3, 3, 1.5, 1.0, 1.5) is None  # everyone right
    assert correlation(1, 1, 1, 1, 1, 1) is None
    assert correlation(4, 2, 2, 2.0, 1.5, 1.5) == pytest.approx(1 / math.sqrt(2))


def test_bad_bands_are_reported_together() -> None:
    with pytest.raises(ValueError, match="min_learners.*hard_below"):
        AnalysisParams(min_learners=0, hard_below=0.9, easy_above=0.1)


def test_median_from_counts_matches_the_median_of_the_values() -> None:
    # 10, 20, 20, 50 -> (20 + 20) / 2; 10, 20, 20, 50, 70 -> 20; 10, 50 -> 30
    assert median_from_counts({10.0: 1, 20.0: 2, 50.0: 1}) == 20.0
    assert median_from_counts({70.0: 1, 10.0: 1, 20.0: 2, 50.0: 1}) == 20.0
    assert median_from_counts({10.0: 1, 50.0: 1}) == 30.0
    assert median_from_counts({}) is None


def test_cohort_quality_score_from_class_statistics() -> None:
    # in band, rpb 0.40, no flags: 0.4 + 0.5 + 0.1 = 1
    assert cohort_quality_score(difficulty=0.5, discrimination=0.45, flag_share=0.0) == 1.0
    # p 0.9: band (1 - .9) / .2 = .5 -> .2; rpb .2 / .4 = .5 -> .25; flags .1 -> .09: 0.54
    assert cohort_quality_score(difficulty=0.9, discrimination=0.2, flag_share=0.1) == 0.54
    # a miskeyed item (negative rpb) keeps only its band and flag parts: .4 + 0 + .1
    assert cohort_quality_score(difficulty=0.3, discrimination=-0.3, flag_share=0.0) == 0.5
    with pytest.raises(ValueError):
        cohort_quality_score(difficulty=1.5, discrimination=None, flag_share=0.0)
