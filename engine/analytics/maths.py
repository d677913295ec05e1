"""The arithmetic behind the analytics charts: pure functions, no database, no I/O.

Definitions follow Anki's statistics screen where it has one:

* **Maturity**: an answer given under a day after the question's previous answer is
  *learning*, under 21 days *young*, 21 days or more *mature* (Anki uses the scheduled
  interval; we use the time that really passed, which equals it for reviews done on time).
* **True retention**: the pass rate of answers given on a later local day than the question's
  previous answer (so each counts once per day and only after at least a day), split young /
  mature by the interval before the answer.
* **Retrievability** (FSRS): R(t, S) = (1 + F·t/S)^D with D = -w20 and F = 0.9^(1/D) - 1, the
  `fsrs` package's own forgetting curve; **estimated total knowledge** is the sum of R over
  the reviewed questions.
* **Daily load**: the sum of 1/interval over scheduled questions.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

MATURE_DAYS = 21
CONFIDENCE_LEVELS = (1, 2, 3, 4, 5)


def maturity(interval_days: float | None) -> str:
    """'new' (no previous answer), 'learning' (< 1 day since it), 'young' (< 21 days) or
    'mature'."""
    if interval_days is None:
        return "new"
    if interval_days < 1:
        return "learning"
    return "young" if interval_days < MATURE_DAYS else "mature"


def is_true_review(previous_local_day: dt.date | None, local_day: dt.date) -> bool:
    """Counts towards true retention: the question was answered before, on an earlier local day."""
    return previous_local_day is not None and local_day > previous_local_day


def rate(passed: int, total: int) -> float | None:
    """A pass rate, or None when there is nothing to measure (never a made-up 0 %)."""
    return passed / total if total else None


# --- FSRS forgetting curve -----------------------------------------------------------------------


def forgetting_curve(parameters: Sequence[float]) -> tuple[float, float]:
    """(decay, factor) of FSRS-6's power forgetting curve for these parameters (w20 = decay)."""
    decay = -float(parameters[20])
    return decay, 0.9 ** (1 / decay) - 1


def retrievability(elapsed_days, stability, decay: float, factor: float):
    """Probability of recall after `elapsed_days` at `stability` (scalars or numpy arrays)."""
    elapsed = np.maximum(np.asarray(elapsed_days, dtype=float), 0.0)
    stab = np.maximum(np.asarray(stability, dtype=float), 1e-3)
    r = (1 + factor * elapsed / stab) ** decay
    return float(r) if np.ndim(r) == 0 else r


def projected_recall(
    *,
    now: dt.datetime,
    exam: dt.datetime,
    last_reviewed: np.ndarray,
    due: np.ndarray,
    stability: np.ndarray,
    decay: float,
    factor: float,
) -> np.ndarray:
    """Each question's predicted recall at the exam if the learner keeps their schedule.

    A question not due before the exam is recalled with R(exam - last review, S). One due
    before the exam is assumed answered on each due date, with its interval and stability held
    at today's values (a conservative projection: a passed review really lengthens both), so
    at the exam it has been (exam - due) mod interval days since its last review.

    Arrays hold epoch seconds (last_reviewed, due) and days (stability).
    """
    day = 86400.0
    exam_s, now_s = exam.timestamp(), now.timestamp()
    last = np.asarray(last_reviewed, dtype=float)
    due_s = np.maximum(np.asarray(due, dtype=float), now_s)
    interval = np.maximum(due_s - last, day)
    since = np.where(due_s >= exam_s, exam_s - last, np.mod(exam_s - due_s, interval))
    return np.asarray(retrievability(since / day, stability, decay, factor), dtype=float)


# --- streaks -------------------------------------------------------------------------------------


def streaks(active_days: Iterable[dt.date], today: dt.date) -> tuple[int, int]:
    """(current, best) runs of consecutive active local days. The current run still counts
    when today has no activity yet but yesterday had (the day is not over)."""
    days = sorted(set(active_days))
    best = run = 0
    previous: dt.date | None = None
    for day in days:
        run = run + 1 if previous is not None and (day - previous).days == 1 else 1
        best = max(best, run)
        previous = day
    current = run if previous is not None and (today - previous).days <= 1 else 0
    return current, best


# --- confidence calibration ----------------------------------------------------------------------


def stated_probability(confidence: int) -> float:
    """Confidence 1 (guessing) to 5 (certain) read as a probability of being right: k / 5."""
    return confidence / 5


def wilson_interval(passed: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval for a pass rate (0, 1 when there is no data)."""
    if total == 0:
        return 0.0, 1.0
    p = passed / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def calibration_bins(counts: pd.DataFrame) -> pd.DataFrame:
    """Per confidence level: answers, accuracy, the ideal (stated) accuracy, the gap and a 95 %
    interval. `counts` has columns confidence, answers, correct; levels without answers are
    kept with a None accuracy so the chart shows them as missing, not as 0 %."""
    by_level = {
        int(r.confidence): (int(r.answers), int(r.correct)) for r in counts.itertuples(index=False)
    }
    rows = []
    for level in CONFIDENCE_LEVELS:
        answers, correct = by_level.get(level, (0, 0))
        accuracy = rate(correct, answers)
        low, high = wilson_interval(correct, answers)
        ideal = stated_probability(level)
        rows.append(
            {
                "confidence": level,
                "answers": answers,
                "correct": correct,
                "accuracy": accuracy,
                "ideal": ideal,
                "gap": None if accuracy is None else accuracy - ideal,
                "low": low if answers else None,
                "high": high if answers else None,
            }
        )
    return pd.DataFrame(rows)


def calibration_error(bins: pd.DataFrame) -> float | None:
    """Expected calibration error: the answer-weighted mean |accuracy - stated|."""
    total = int(bins["answers"].sum())
    if not total:
        return None
    seen = bins[bins["answers"] > 0]
    return float((seen["answers"] * (seen["accuracy"] - seen["ideal"]).abs()).sum() / total)


# --- histograms and running totals ----------------------------------------------------------------


def with_cumulative(
    frame: pd.DataFrame, column: str, name: str = "cumulative", percent: bool = False
) -> pd.DataFrame:
    """A copy with a running total of `column` (as a share of the total when `percent`)."""
    out = frame.copy()
    running = out[column].cumsum()
    total = out[column].sum()
    out[name] = (running / total if total else running * 0.0) if percent else running
    return out
