"""Question quality in [0, 1] from its attempts and flags, and the rules that retire it.

score = 0.4 x success + 0.3 x time + 0.2 x calibration + 0.1 x (1 - flag rate), where

* success is 1 when 50-70% of answers are correct, falling linearly to 0 at 0% and at 100%
  (a question everyone gets right, or nobody does, teaches little);
* time is 1 when the median answer takes 60-120 s, falling linearly to 0 at 0 s and at 600 s;
* calibration is 1 - mean((c - correct)^2) with c = (confidence - 1) / 4: confident-and-right
  and unsure-and-wrong score 1, confident-and-wrong 0 (a misleading question);
* flag rate is flags / attempts, capped at 1.

Below `min_attempts` attempts the score is None ("unrated").
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

WEIGHTS = {"success": 0.4, "time": 0.3, "calibration": 0.2, "flags": 0.1}


@dataclass(frozen=True)
class AttemptFacts:
    correct: bool
    confidence: int  # 1-5
    seconds: float


@dataclass(frozen=True)
class QualityParams:
    min_attempts: int = 5
    best_success: tuple[float, float] = (0.5, 0.7)
    best_seconds: tuple[float, float] = (60.0, 120.0)
    worst_seconds: float = 600.0
    retire_below: float = 0.3
    flag_rate_retire: float = 0.10
    flag_min_attempts: int = 10


class Retirement(StrEnum):
    FLAGGED_WRONG = "flagged_wrong"  # out of the queues at once, into the review list
    FLAG_RATE = "flag_rate"
    LOW_SCORE = "low_score"


@dataclass(frozen=True)
class QualityBreakdown:
    score: float | None
    success: float
    time: float
    calibration: float
    flag_rate: float
    attempts: int


def success_score(rate: float, params: QualityParams = QualityParams()) -> float:
    lo, hi = params.best_success
    if rate < lo:
        return max(0.0, rate / lo)
    if rate > hi:
        return max(0.0, (1 - rate) / (1 - hi))
    return 1.0


def time_score(seconds: float, params: QualityParams = QualityParams()) -> float:
    lo, hi = params.best_seconds
    if seconds < lo:
        return max(0.0, seconds / lo)
    if seconds > hi:
        return max(0.0, 1 - (seconds - hi) / (params.worst_seconds - hi))
    return 1.0


def calibration_score(attempts: Sequence[AttemptFacts]) -> float:
    errors = [((a.confidence - 1) / 4 - (1.0 if a.correct else 0.0)) ** 2 for a in attempts]
    return 1 - sum(errors) / len(errors)


def quality_score(
    attempts: Sequence[AttemptFacts], *, flags: int, params: QualityParams | None = None
) -> QualityBreakdown:
    """The question's quality and its parts; `score` is None below `min_attempts`.

    Raises:
        ValueError: bad input, all problems in one message.
    """
    params = params or QualityParams()
    problems: list[str] = []
    if not isinstance(flags, int) or flags < 0:
        problems.append(f"flags must be a non-negative integer, got {flags!r}")
    if any(not 1 <= a.confidence <= 5 for a in attempts):
        problems.append("confidence must be 1-5")
    if any(a.seconds < 0 for a in attempts):
        problems.append("seconds must be non-negative")
    if params.min_attempts < 1:
        problems.append("min_attempts must be >= 1")
    if problems:
        raise ValueError("; ".join(problems))
    n = len(attempts)
    if n == 0:
        return quality_from_aggregates(
            attempts=0,
            correct=0,
            median_seconds=0.0,
            mean_calibration_error=0.0,
            flags=flags,
            params=params,
        )
    errors = [((a.confidence - 1) / 4 - (1.0 if a.correct else 0.0)) ** 2 for a in attempts]
    return quality_from_aggregates(
        attempts=n,
        correct=sum(a.correct for a in attempts),
        median_seconds=statistics.median(a.seconds for a in attempts),
        mean_calibration_error=sum(errors) / n,
        flags=flags,
        params=params,
    )


def quality_from_aggregates(
    *,
    attempts: int,
    correct: int,
    median_seconds: float,
    mean_calibration_error: float,
    flags: int,
    params: QualityParams | None = None,
) -> QualityBreakdown:
    """The same score from aggregates a database computes in one query: the count of attempts
    and of correct ones, the median seconds, and the mean of (c - correct)^2."""
    params = params or QualityParams()
    if attempts < 0 or not 0 <= correct <= attempts or flags < 0:
        raise ValueError("attempts, correct and flags must be counts with correct <= attempts")
    n = attempts
    flag_rate = min(1.0, flags / n) if n else (1.0 if flags else 0.0)
    if n == 0:
        return QualityBreakdown(None, 0.0, 0.0, 0.0, flag_rate, 0)
    success = success_score(correct / n, params)
    time = time_score(median_seconds, params)
    calibration = 1 - mean_calibration_error
    score = (
        WEIGHTS["success"] * success
        + WEIGHTS["time"] * time
        + WEIGHTS["calibration"] * calibration
        + WEIGHTS["flags"] * (1 - flag_rate)
    )
    return QualityBreakdown(
        score=round(min(1.0, max(0.0, score)), 6) if n >= params.min_attempts else None,
        success=success,
        time=time,
        calibration=calibration,
        flag_rate=flag_rate,
        attempts=n,
    )


def retirement(
    breakdown: QualityBreakdown, *, flagged_wrong: bool, params: QualityParams | None = None
) -> Retirement | None:
    """Why the question must leave the queues, or None to keep it.

    A "wrong" flag takes it out at once (for the learner to review); otherwise it is retired
    when its flag rate exceeds `flag_rate_retire` over at least `flag_min_attempts` attempts,
    or when it is rated and scores below `retire_below`.
    """
    params = params or QualityParams()
    if flagged_wrong:
        return Retirement.FLAGGED_WRONG
    if (
        breakdown.attempts >= params.flag_min_attempts
        and breakdown.flag_rate > params.flag_rate_retire
    ):
        return Retirement.FLAG_RATE
    if breakdown.score is not None and breakdown.score < params.retire_below:
        return Retirement.LOW_SCORE
    return None


# A course question answered by enough learners (GROUNDWORK_ITEM_MIN_LEARNERS) is scored from
# the class instead of from one learner's answers: item statistics say far more about a question
# than one person's attempts.
COHORT_WEIGHTS = {"difficulty": 0.4, "discrimination": 0.5, "flags": 0.1}
# A corrected point-biserial of 0.40 or more is an excellent item (Ebel's bands).
EXCELLENT_DISCRIMINATION = 0.40


def cohort_quality_score(
    *,
    difficulty: float,
    discrimination: float | None,
    flag_share: float,
    acceptable: tuple[float, float] = (0.20, 0.80),
) -> float:
    """A course question's quality in [0, 1] from its class statistics:

    0.4 x difficulty (1 inside the acceptable band, falling linearly to 0 at 0 and at 1)
    + 0.5 x discrimination (point-biserial / 0.40, clamped to [0, 1]; none or negative: 0)
    + 0.1 x (1 - flag share).

    Raises:
        ValueError: a share outside [0, 1].
    """
    if not 0 <= difficulty <= 1 or not 0 <= flag_share <= 1:
        raise ValueError("difficulty and flag_share must be shares in [0, 1]")
    lo, hi = acceptable
    if difficulty < lo:
        band = difficulty / lo
    elif difficulty > hi:
        band = (1 - difficulty) / (1 - hi)
    else:
        band = 1.0
    disc = min(1.0, max(0.0, (discrimination or 0.0) / EXCELLENT_DISCRIMINATION))
    score = (
        COHORT_WEIGHTS["difficulty"] * band
        + COHORT_WEIGHTS["discrimination"] * disc
        + COHORT_WEIGHTS["flags"] * (1 - flag_share)
    )
    return round(score, 6)
