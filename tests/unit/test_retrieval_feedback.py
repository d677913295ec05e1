"""Pseudo-relevance feedback: RM3 term weights, the moved query vector, and the weighted BM25
scores the expanded query is ranked by."""

from __future__ import annotations

import numpy as np
import pytest

from engine.retrieval.feedback import FeedbackParams, expanded_terms, shifted_query
from engine.retrieval.lexical import LexicalIndex, lexical_tokens

DOCS = [
    "laminar boundary layer transition on a flat plate",
    "boundary layer separation and transition near the leading edge",
    "shock waves in supersonic flow over a wedge",
    "heat transfer through a laminar boundary layer",
    "supersonic wedge flow with attached shock",
]


def _index() -> LexicalIndex:
    return LexicalIndex.build(
        list(range(100, 100 + len(DOCS))), [1] * len(DOCS), [lexical_tokens(d) for d in DOCS]
    )


def test_weighted_scores_with_unit_weights_equal_the_plain_bm25_scores():
    index = _index()
    terms = lexical_tokens("laminar boundary layer")
    plain = index.scores("laminar boundary layer")
    weighted = index.weighted_scores({t: 1.0 for t in terms})
    assert np.allclose(weighted, plain, atol=1e-6)
    half = index.weighted_scores({t: 0.5 for t in terms})
    assert np.allclose(half, plain / 2, atol=1e-6)
    assert not index.weighted_scores({"unknownterm": 1.0}).any()


def test_document_frequency_counts_the_chunks_holding_a_term():
    index = _index()
    assert index.doc_freq(lexical_tokens("boundary")[0]) == 3
    assert index.doc_freq(lexical_tokens("shock")[0]) == 2
    assert index.doc_freq("unknownterm") == 0
    assert LexicalIndex.build([], [], []).doc_freq("boundary") == 0


def test_expansion_keeps_the_query_share_and_adds_terms_of_the_best_passages():
    index = _index()
    params = FeedbackParams(passages=2, terms=5, query_weight=0.6)
    query = lexical_tokens("supersonic flow")
    feedback = [
        (lexical_tokens(DOCS[2]), 0.9),
        (lexical_tokens(DOCS[4]), 0.8),
        (lexical_tokens(DOCS[0]), 0.1),
    ]
    weights = expanded_terms(
        query, feedback, doc_freq=index.doc_freq, n_docs=len(DOCS), params=params
    )
    assert sum(weights.values()) == pytest.approx(1.0)
    assert sum(weights[t] for t in query) >= 0.6 - 1e-9
    added = set(weights) - set(query)
    # the expansion comes from the two passages given as feedback, never from the third
    assert added and added <= set(lexical_tokens(DOCS[2] + " " + DOCS[4]))
    assert set(lexical_tokens("wedge shock")) <= added
    assert not set(lexical_tokens("laminar plate")) & set(weights)


def test_a_term_in_every_passage_adds_nothing_and_empty_feedback_keeps_the_query():
    params = FeedbackParams(passages=3, terms=5, query_weight=0.5)
    everywhere = [(["flow", "wing"], 1.0), (["flow"], 1.0)]
    weights = expanded_terms(
        ["lift"], everywhere, doc_freq=lambda t: 2 if t == "flow" else 1, n_docs=2, params=params
    )
    assert "flow" not in weights
    assert weights["wing"] == pytest.approx(0.5)
    assert expanded_terms(["lift"], [], doc_freq=lambda t: 1, n_docs=5, params=params) == {
        "lift": 0.5
    }


def test_the_query_vector_moves_towards_the_weighted_centroid_and_stays_unit_length():
    query = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    near = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32)
    moved = shifted_query(query, near, [3.0, 1.0], shift=1.0)
    assert np.linalg.norm(moved) == pytest.approx(1.0, abs=1e-6)
    assert moved[1] > moved[2] > 0  # the better-scored passage pulls harder
    assert moved[0] > moved[1]  # with shift 1 the query still leads
    assert np.array_equal(shifted_query(query, near[:0], [], shift=3.0), query)
    assert np.array_equal(shifted_query(query, near, [0.0, 0.0], shift=3.0), query)
