"""Classical item analysis of a course question from how a class answered it.

Each learner's first answer to a question counts (later answers are reviews of something already
seen). For question i and learner m:

* x = 1 when m's first answer to i was right, else 0;
* rest score r = share of m's first answers to the OTHER questions of the course that were right
  (learners who answered no other question have no rest score and are left out of the
  correlations).

Then
* difficulty p = mean(x) over the learners (share right on first answers; high = easy);
* discrimination = Pearson correlation of x with r (the corrected point-biserial: the item is
  not part of the score it is compared with);
* per option k: share of first answers choosing k, and its discrimination = correlation of
  "chose k" with r. A right option should correlate positively, a wrong one negatively.

Every correlation is computed from sums a database adds up in one pass (n, sum r, sum r^2,
sum x, sum x*r and, per option, its count and sum of r), so PostgreSQL aggregates the answers
and this module only finishes the formula:
    corr = (n*Sxr - Sx*Sr) / sqrt((n*Sxx - Sx^2) * (n*Srr - Sr^2))
with Sxx = Sx for a 0/1 variable. A variable that does not vary (everyone right, nobody chose
an option) has no correlation (None).

Verdicts follow classical test theory bands: difficulty 0.20-0.80 acceptable; a point-biserial
below 0.20 is poor and below 0 says "check the key"; a wrong option chosen by fewer than 5% of
learners, or chosen more by the stronger learners (positive option discrimination), does not
work as a distractor, and a wrong option with a strongly positive discrimination (>= 0.20) also
points at a wrong key. Below `min_learners` learners no verdict is given.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class Verdict(StrEnum):
    """What the statistics say about an item; an item can earn several."""

    NOT_ENOUGH = "not_enough"  # fewer learners than the minimum: no verdict yet
    GOOD = "good"
    TOO_EASY = "too_easy"
    TOO_HARD = "too_hard"
    POOR_DISCRIMINATION = "poor_discrimination"
    CHECK_KEY = "check_key"
    WEAK_DISTRACTOR = "weak_distractor"


@dataclass(frozen=True)
class AnalysisParams:
    min_learners: int = 30
    easy_above: float = 0.80
    hard_below: float = 0.20
    poor_below: float = 0.20
    key_below: float = 0.0
    distractor_min_share: float = 0.05
    # A wrong option at least this discriminating is more likely the real answer.
    miskey_option_above: float = 0.20

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.min_learners < 1:
            problems.append("min_learners must be >= 1")
        if not 0 <= self.hard_below <= self.easy_above <= 1:
            problems.append("need 0 <= hard_below <= easy_above <= 1")
        if not 0 <= self.distractor_min_share < 1:
            problems.append("distractor_min_share must be in [0, 1)")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True)
class OptionSums:
    """One option's first answers: how many chose it, and among those with a rest score how
    many chose it and the sum of their rest scores."""

    index: int
    chosen: int
    chosen_with_rest: int
    sum_rest: float


@dataclass(frozen=True)
class ItemSums:
    """The sufficient statistics of one question (or one version of it)."""

    learners: int  # distinct learners with a first answer
    answers: int  # every answer, reviews included
    first_correct: int
    with_rest: int  # learners with a rest score (answered another question)
    sum_x: float  # over learners with a rest score
    sum_r: float
    sum_rr: float
    sum_xr: float
    flagged: int  # answers flagged
    median_seconds: float | None  # of first answers
    options: tuple[OptionSums, ...] = ()


@dataclass(frozen=True)
class OptionStats:
    index: int
    share: float  # of first answers
    discrimination: float | None
    correct: bool
    weak: bool  # a wrong option that does not work as a distractor


@dataclass(frozen=True)
class ItemStats:
    learners: int
    answers: int
    difficulty: float | None  # share right on first answers
    discrimination: float | None  # corrected point-biserial
    flag_share: float
    median_seconds: float | None
    options: tuple[OptionStats, ...]
    verdicts: tuple[Verdict, ...]


def correlation(n: int, sum_x: float, sum_xx: float, sum_r: float, sum_rr: float, sum_xr: float):
    """Pearson correlation from sums; None when n < 2 or either variable is constant."""
    if n < 2:
        return None
    cov = n * sum_xr - sum_x * sum_r
    var_x = n * sum_xx - sum_x * sum_x
    var_r = n * sum_rr - sum_r * sum_r
    # Sums of shares carry rounding error: a variance this close to 0 is 0.
    scale = max(1.0, abs(n * sum_xx), abs(n * sum_rr))
    if var_x <= 1e-9 * scale or var_r <= 1e-9 * scale:
        return None
    return float(cov / math.sqrt(var_x * var_r))


def analyse_item(
    sums: ItemSums, *, correct_index: int | None, n_options: int, params: AnalysisParams
) -> ItemStats:
    """Statistics and verdicts of one item from its sums.

    Args:
        sums: the item's sums (`ItemSums`).
        correct_index: the keyed option (None for a question without options).
        n_options: how many options the question has (0 without options).
        params: the bands.
    """
    difficulty = sums.first_correct / sums.learners if sums.learners else None
    disc = correlation(sums.with_rest, sums.sum_x, sums.sum_x, sums.sum_r, sums.sum_rr, sums.sum_xr)
    by_index = {o.index: o for o in sums.options}
    options = tuple(
        _option_stats(sums, by_index.get(k), k, correct_index, params) for k in range(n_options)
    )
    return ItemStats(
        learners=sums.learners,
        answers=sums.answers,
        difficulty=difficulty,
        discrimination=disc,
        flag_share=sums.flagged / sums.answers if sums.answers else 0.0,
        median_seconds=sums.median_seconds,
        options=options,
        verdicts=_verdicts(sums.learners, difficulty, disc, options, params),
    )


def _option_stats(
    sums: ItemSums,
    o: OptionSums | None,
    k: int,
    correct_index: int | None,
    params: AnalysisParams,
) -> OptionStats:
    chosen = o.chosen if o else 0
    n_k = o.chosen_with_rest if o else 0
    disc = correlation(sums.with_rest, n_k, n_k, sums.sum_r, sums.sum_rr, o.sum_rest if o else 0.0)
    share = chosen / sums.learners if sums.learners else 0.0
    correct = k == correct_index
    weak = not correct and (share < params.distractor_min_share or (disc is not None and disc > 0))
    return OptionStats(index=k, share=share, discrimination=disc, correct=correct, weak=weak)


def _verdicts(
    learners: int,
    difficulty: float | None,
    disc: float | None,
    options: Sequence[OptionStats],
    params: AnalysisParams,
) -> tuple[Verdict, ...]:
    if learners < params.min_learners or difficulty is None:
        return (Verdict.NOT_ENOUGH,)
    found: list[Verdict] = []
    miskey = any(
        not o.correct
        and o.discrimination is not None
        and o.discrimination >= params.miskey_option_above
        for o in options
    )
    if (disc is not None and disc < params.key_below) or miskey:
        found.append(Verdict.CHECK_KEY)
    elif disc is None or disc < params.poor_below:
        found.append(Verdict.POOR_DISCRIMINATION)
    if difficulty > params.easy_above:
        found.append(Verdict.TOO_EASY)
    elif difficulty < params.hard_below:
        found.append(Verdict.TOO_HARD)
    if any(o.weak for o in options):
        found.append(Verdict.WEAK_DISTRACTOR)
    return tuple(found) or (Verdict.GOOD,)


def median_from_counts(counts: Mapping[float, int]) -> float | None:
    """The median of values given as {value: how many times} (PostgreSQL's
    percentile_cont(0.5): the mean of the two middle values for an even count)."""
    total = sum(counts.values())
    if total == 0:
        return None
    lo, hi = (total - 1) // 2, total // 2  # 0-based positions of the middle value(s)
    seen, low_value = 0, 0.0
    for value in sorted(counts):
        seen += counts[value]
        if seen - counts[value] <= lo < seen:
            low_value = float(value)
        if seen > hi:
            return (low_value + value) / 2
    raise AssertionError("unreachable: the counts add up to total")


@dataclass(frozen=True)
class FirstAnswer:
    """A learner's first answer to a question (for `sums_from_first_answers`)."""

    learner: str
    question: int
    correct: bool
    chosen_index: int | None = None
    seconds: float = 0.0


def rest_scores(answers: Iterable[FirstAnswer]) -> dict[tuple[str, int], float | None]:
    """Each (learner, question)'s rest score: the learner's share right on their other first
    answers (None when there is no other)."""
    answers = list(answers)
    total: dict[str, int] = defaultdict(int)
    right: dict[str, int] = defaultdict(int)
    for a in answers:
        total[a.learner] += 1
        right[a.learner] += int(a.correct)
    return {
        (a.learner, a.question): (
            (right[a.learner] - int(a.correct)) / (total[a.learner] - 1)
            if total[a.learner] > 1
            else None
        )
        for a in answers
    }


def sums_from_first_answers(
    answers: Sequence[FirstAnswer], question: int, *, answers_count: int = 0, flagged: int = 0
) -> ItemSums:
    """One question's sums from the course's first answers (one per learner and question):
    the same sums the service adds up in SQL, for small data and tests."""
    rest = rest_scores(answers)
    mine = [a for a in answers if a.question == question]
    with_rest = [(a, rr) for a in mine if (rr := rest[(a.learner, a.question)]) is not None]
    x = np.array([float(a.correct) for a, _ in with_rest])
    r = np.array([rr for _, rr in with_rest], dtype=float)
    options: dict[int, list[float]] = defaultdict(list)
    counts: dict[int, int] = defaultdict(int)
    for a in mine:
        if a.chosen_index is not None:
            counts[a.chosen_index] += 1
    for a, rr in with_rest:
        if a.chosen_index is not None:
            options[a.chosen_index].append(rr)
    return ItemSums(
        learners=len(mine),
        answers=answers_count or len(mine),
        first_correct=sum(a.correct for a in mine),
        with_rest=len(with_rest),
        sum_x=float(x.sum()),
        sum_r=float(r.sum()),
        sum_rr=float((r * r).sum()),
        sum_xr=float((x * r).sum()),
        flagged=flagged,
        median_seconds=float(np.median([a.seconds for a in mine])) if mine else None,
        options=tuple(
            OptionSums(k, counts[k], len(options[k]), float(sum(options[k])))
            for k in sorted(counts)
        ),
    )
