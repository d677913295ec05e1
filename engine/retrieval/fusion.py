"""Fusing a lexical and a dense ranking into one. Pure functions over scores.

`weighted_fusion` (the default) rescales each ranking's scores over the candidate set to
[0, 1] and adds them with a weight; unlike reciprocal rank fusion it keeps how far apart
the scores are, so a passage that one ranking likes much more than the rest wins. A
candidate found by only one ranking gets the other ranking's lowest observed score.
`reciprocal_rank_fusion` is kept for comparison in the retrieval benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping


def _rescale(scores: Mapping[int, float], floor: float | None = None) -> dict[int, float]:
    if not scores:
        return {}
    low = min(scores.values()) if floor is None else floor
    high = max(scores.values())
    span = high - low
    if span <= 0:
        return {key: 1.0 for key in scores}
    return {key: (value - low) / span for key, value in scores.items()}


def weighted_fusion(
    lexical: Mapping[int, float],
    dense: Mapping[int, float],
    *,
    dense_weight: float,
) -> list[tuple[int, float]]:
    """Candidates by fused score, best first.

    Args:
        lexical: candidate -> BM25 score (missing or 0 = the term never occurs).
        dense: candidate -> cosine similarity.
        dense_weight: 0..1, the share of the dense ranking in the fused score.

    Returns:
        (candidate, fused score in [0, 1]) for the union of candidates, best first; ties keep
        the lexical order, then the dense order.
    """
    if not 0.0 <= dense_weight <= 1.0:
        raise ValueError("dense_weight must be between 0 and 1")
    if not dense:
        dense_weight = 0.0
    if not any(v > 0 for v in lexical.values()):
        dense_weight = 1.0 if dense else dense_weight
    # BM25 is 0 for a passage without any query term: keep 0 as the floor so "no match" stays 0.
    lex = _rescale(lexical, floor=0.0)
    den = _rescale(dense)  # a candidate the dense ranking did not return counts as its lowest
    order: dict[int, int] = {}
    for key in [*sorted(lexical, key=lambda c: -lexical[c]), *sorted(dense, key=lambda c: -dense[c])]:
        order.setdefault(key, len(order))
    fused = {
        key: (1 - dense_weight) * lex.get(key, 0.0) + dense_weight * den.get(key, 0.0)
        for key in order
    }
    return sorted(fused.items(), key=lambda kv: (-kv[1], order[kv[0]]))


def reciprocal_rank_fusion(
    *rankings: list[int], k: int = 60, weights: list[float] | None = None
) -> list[tuple[int, float]]:
    """Classic RRF: sum of weight / (k + rank) over the rankings, best first."""
    weights = weights or [1.0] * len(rankings)
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda kv: -kv[1])
