"""The per-process BM25 cache: bounded by bytes (least recently used dropped first) and keyed
by the library fingerprint read from PostgreSQL, so a stale index is never served."""

from __future__ import annotations

from engine.retrieval.lexical import IndexCache, LexicalIndex


def _index(n: int) -> LexicalIndex:
    words = [[f"w{i}", f"w{i + 1}", "common"] for i in range(n)]
    return LexicalIndex.build(list(range(1, n + 1)), [1] * n, words)


def test_size_grows_with_the_library():
    small, large = _index(10), _index(1000)
    assert 0 < small.nbytes < large.nbytes


def test_least_recently_used_is_dropped_past_the_budget():
    a, b, c = _index(200), _index(200), _index(200)
    cache = IndexCache(budget_bytes=int(a.nbytes * 2.5))
    cache.put(("db", 1), (1,), a)
    cache.put(("db", 2), (1,), b)
    assert cache.get(("db", 1), (1,)) is a  # 1 is now the most recently used
    cache.put(("db", 3), (1,), c)
    assert len(cache) == 2 and cache.size_bytes <= cache.budget_bytes
    assert cache.get(("db", 2), (1,)) is None  # the least recently used went
    assert cache.get(("db", 1), (1,)) is a and cache.get(("db", 3), (1,)) is c


def test_a_changed_fingerprint_is_a_miss_and_replacing_keeps_the_count_right():
    cache = IndexCache(budget_bytes=10**9)
    first, second = _index(50), _index(60)
    cache.put(("db", 1), (1, 1, 50), first)
    assert cache.get(("db", 1), (2, 2, 60)) is None  # another process added a material
    cache.put(("db", 1), (2, 2, 60), second)
    assert cache.size_bytes == second.nbytes and len(cache) == 1


def test_one_index_larger_than_the_budget_is_still_kept():
    big = _index(500)
    cache = IndexCache(budget_bytes=10)
    cache.put(("db", 1), (1,), big)
    assert cache.get(("db", 1), (1,)) is big


def test_passages_without_a_single_word_give_zero_scores_not_a_division_by_zero():
    """A library whose passages hold no indexable word (numbers, symbols) is found by meaning
    only: its BM25 scores are zeros, one per passage, and building it warns of nothing
    (the test run turns warnings into errors)."""
    index = LexicalIndex.build([7, 8], [1, 1], [[], []])
    assert index.scores("anything").tolist() == [0.0, 0.0]
    assert index.doc_freq("anything") == 0
    positions, _ = index.top("anything", 5)
    assert len(positions) == 0
