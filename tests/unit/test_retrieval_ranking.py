"""Lexical tokens and the fusion of the lexical and dense rankings."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from engine.retrieval.fusion import reciprocal_rank_fusion, weighted_fusion
from engine.retrieval.lexical import LexicalIndex, lexical_tokens


def test_lexical_tokens_stem_and_drop_stopwords():
    assert lexical_tokens("The wings were stalling at high angles of attack") == [
        "wing",
        "were",
        "stall",
        "high",
        "angl",
        "attack",
    ]


def test_cjk_runs_become_bigrams_and_other_scripts_stay_words():
    assert lexical_tokens("日本語テスト") == ["日本", "本語", "語テ", "テス", "スト"]
    assert lexical_tokens("風") == ["風"]
    assert "שלום" in lexical_tokens("שלום עולם")
    assert lexical_tokens("tracking 文字ツメ") == ["track", "文字", "字ツ", "ツメ"]


def test_bm25_index_ranks_and_filters_by_material():
    docs = [
        "boundary layer transition on a flat plate",
        "shock waves in supersonic flow",
        "heat transfer in a laminar boundary layer",
    ]
    index = LexicalIndex.build([10, 11, 12], [1, 2, 3], [lexical_tokens(d) for d in docs])
    positions, scores = index.top("laminar boundary layer", 5)
    assert [int(index.chunk_ids[p]) for p in positions] == [12, 10]
    assert scores[0] > scores[1] > 0
    positions, _ = index.top("laminar boundary layer", 5, material_ids=[1])
    assert [int(index.chunk_ids[p]) for p in positions] == [10]
    assert index.top("unknownword", 5)[0].size == 0


def test_empty_index_returns_nothing():
    index = LexicalIndex.build([], [], [])
    assert index.top("anything", 5)[0].size == 0


def test_weighted_fusion_uses_both_rankings():
    lexical = {1: 9.0, 2: 6.0, 3: 0.9}
    dense = {1: 0.2, 2: 0.8, 3: 0.9, 4: 0.1}
    fused = dict(weighted_fusion(lexical, dense, dense_weight=0.5))
    assert set(fused) == {1, 2, 3, 4}
    # BM25 is scaled by the best BM25 score, the cosine is kept as it is
    assert fused[1] == pytest.approx(0.5 * 1.0 + 0.5 * 0.2)
    assert fused[4] == pytest.approx(0.5 * 0.1)
    # 2 is good in both rankings and beats 1 (lexical) and 3 (dense)
    assert [k for k, _ in weighted_fusion(lexical, dense, dense_weight=0.5)][0] == 2
    assert [k for k, _ in weighted_fusion(lexical, dense, dense_weight=0.0)][:3] == [1, 2, 3]
    assert [k for k, _ in weighted_fusion(lexical, dense, dense_weight=1.0)][:3] == [3, 2, 1]


def test_weak_dense_matches_are_not_inflated():
    # every cosine is low: they must not be rescaled into a "perfect" match
    fused = dict(weighted_fusion({1: 5.0}, {1: 0.05, 2: 0.1}, dense_weight=0.5))
    assert fused[2] == pytest.approx(0.05)
    assert fused[1] > fused[2]


def test_weighted_fusion_falls_back_to_the_ranking_that_has_signal():
    assert [k for k, _ in weighted_fusion({}, {5: 0.3, 6: 0.7}, dense_weight=0.2)] == [6, 5]
    assert [k for k, _ in weighted_fusion({7: 1.0, 8: 3.0}, {}, dense_weight=0.9)] == [8, 7]
    with pytest.raises(ValueError):
        weighted_fusion({1: 1.0}, {1: 1.0}, dense_weight=1.5)


@given(
    lexical=st.dictionaries(st.integers(0, 30), st.floats(0, 50), max_size=20),
    dense=st.dictionaries(st.integers(0, 30), st.floats(0, 1), max_size=20),
    weight=st.floats(0, 1),
)
def test_fused_scores_are_bounded_and_sorted(lexical, dense, weight):
    fused = weighted_fusion(lexical, dense, dense_weight=weight)
    assert {k for k, _ in fused} == set(lexical) | set(dense)
    scores = [s for _, s in fused]
    assert scores == sorted(scores, reverse=True)
    assert all(-1e-9 <= s <= 1 + 1e-9 for s in scores)  # cosines of normalised vectors


def test_reciprocal_rank_fusion():
    fused = reciprocal_rank_fusion([1, 2, 3], [3, 1, 4], k=60)
    assert [k for k, _ in fused][:2] == [1, 3]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
