"""How well a scheduler predicts recall: log loss, RMSE over probability bins, and AUC.

Used by the scheduler benchmark and by the per-learner FSRS optimisation, so the product and
the benchmark judge schedulers the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_EPS = 1e-6


@dataclass(frozen=True)
class Metrics:
    n: int
    log_loss: float
    rmse_bins: float
    auc: float


def log_loss(predicted: Sequence[float], recalled: Sequence[int]) -> float:
    """Mean binary cross-entropy of predicted recall against what happened (1 recalled)."""
    _check(predicted, recalled)
    total = 0.0
    for p, y in zip(predicted, recalled, strict=True):
        p = min(1 - _EPS, max(_EPS, p))
        total -= math.log(p) if y else math.log(1 - p)
    return total / len(predicted)


def rmse_bins(predicted: Sequence[float], recalled: Sequence[int], *, bins: int = 20) -> float:
    """RMSE between mean prediction and observed recall rate over equal-width probability bins,
    weighted by the number of reviews in each bin."""
    _check(predicted, recalled)
    sums: dict[int, list[float]] = {}
    for p, y in zip(predicted, recalled, strict=True):
        b = min(bins - 1, int(p * bins))
        s = sums.setdefault(b, [0.0, 0.0, 0.0])
        s[0] += p
        s[1] += y
        s[2] += 1
    sq = sum(n * (sp / n - sy / n) ** 2 for sp, sy, n in sums.values())
    return math.sqrt(sq / len(predicted))


def auc(predicted: Sequence[float], recalled: Sequence[int]) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half); 0.5 when one class is absent."""
    _check(predicted, recalled)
    pos = sum(1 for y in recalled if y)
    neg = len(recalled) - pos
    if pos == 0 or neg == 0:
        return 0.5
    order = sorted(range(len(predicted)), key=lambda i: predicted[i])
    rank_sum = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and predicted[order[j + 1]] == predicted[order[i]]:
            j += 1
        avg_rank = (i + j) / 2 + 1
        rank_sum += avg_rank * sum(1 for k in range(i, j + 1) if recalled[order[k]])
        i = j + 1
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def metrics(predicted: Sequence[float], recalled: Sequence[int], *, bins: int = 20) -> Metrics:
    return Metrics(
        n=len(predicted),
        log_loss=log_loss(predicted, recalled),
        rmse_bins=rmse_bins(predicted, recalled, bins=bins),
        auc=auc(predicted, recalled),
    )


def _check(predicted: Sequence[float], recalled: Sequence[int]) -> None:
    if len(predicted) != len(recalled):
        raise ValueError(f"{len(predicted)} predictions for {len(recalled)} outcomes")
    if not predicted:
        raise ValueError("nothing to evaluate")
