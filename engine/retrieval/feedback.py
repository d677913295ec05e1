"""Pseudo-relevance feedback: a second, expanded query built from the best passages of the first.

A learner's question often uses other words than the passage that answers it ("pressure
distribution" vs "pressure gradient along the chord"). The first search still finds a few
right passages near the top; their words and their vectors say what the question is about.

- Lexical side, RM3 (Lavrenko & Croft's relevance model mixed with the query, as in Anserini
  and Pyserini): each term of the top `passages` passages is weighted by its frequency in the
  passage, the passage's first-stage score and the term's rarity (log N/df); the best `terms`
  of them get weight 1 - `query_weight`, the query's own terms `query_weight`.
- Dense side, Rocchio: the query vector moved towards the score-weighted centroid of the top
  `dense_passages` passages (`dense_shift` x the centroid), then normalised.

The expanded queries are fused like the first (BM25 scaled by its best score, plus the cosine
with weight `fusion_dense_weight`). Pure functions over terms, scores and vectors; the search
service reads the inputs. Measured on the Cranfield split with `python -m bench.retrieval`.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter

import numpy as np


@dataclass(frozen=True)
class FeedbackParams:
    passages: int = 10
    terms: int = 40
    query_weight: float = 0.6
    dense_passages: int = 5
    dense_shift: float = 1.0
    fusion_dense_weight: float = 0.8

    @property
    def enabled(self) -> bool:
        return self.passages > 0


def expanded_terms(
    query_terms: Sequence[str],
    feedback: Sequence[tuple[Sequence[str], float]],
    *,
    doc_freq: Callable[[str], int],
    n_docs: int,
    params: FeedbackParams,
) -> dict[str, float]:
    """RM3 term weights (summing to 1) for the expanded lexical query.

    Args:
        query_terms: the query's lexical tokens.
        feedback: (lexical tokens, first-stage score) of the best passages, best first.
        doc_freq: in how many of the learner's passages a term occurs.
        n_docs: how many passages the learner has.
        params: how many passages and terms, and the query's share.
    """
    query = Counter(query_terms)
    weights: defaultdict[str, float] = defaultdict(float)
    if query:
        total = sum(query.values())
        for term, count in query.items():
            weights[term] += params.query_weight * count / total
    scored = [(tokens, max(score, 0.0)) for tokens, score in feedback[: params.passages] if tokens]
    mass = sum(score for _, score in scored)
    if not scored or mass <= 0:
        return dict(weights) if weights else {}
    relevance: defaultdict[str, float] = defaultdict(float)
    for tokens, score in scored:
        share = score / mass / len(tokens)
        for term, count in Counter(tokens).items():
            rarity = math.log(n_docs / max(doc_freq(term), 1))
            if rarity > 0:
                relevance[term] += share * count * rarity
    best = heapq.nlargest(params.terms, relevance.items(), key=itemgetter(1))
    expansion_mass = sum(v for _, v in best)
    if expansion_mass <= 0:
        return dict(weights)
    share = 1.0 if not query else 1 - params.query_weight
    for term, value in best:
        weights[term] += share * value / expansion_mass
    return dict(weights)


def shifted_query(
    query: np.ndarray, vectors: np.ndarray, scores: Sequence[float], *, shift: float
) -> np.ndarray:
    """The query vector moved towards the score-weighted centroid of `vectors`, unit length."""
    query = np.asarray(query, dtype=np.float32)
    weights = np.maximum(np.asarray(scores, dtype=np.float32), 0.0)
    if len(vectors) == 0 or weights.sum() <= 0:
        return query
    centroid = (np.asarray(vectors, dtype=np.float32) * weights[:, None]).sum(axis=0)
    moved = query + shift * centroid / weights.sum()
    norm = float(np.linalg.norm(moved))
    return moved / norm if norm > 0 else query
