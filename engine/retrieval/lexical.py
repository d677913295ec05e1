"""Lexical ranking with bm25s: stemming and stopwords in the text's language (English by
default), CJK text as character bigrams.

A query is stemmed the way the library it searches was (`LexicalIndex.languages`): a short
question ("Was ist ein Zeiger?") has too few letters to tell its language, and a German library
stemmed as German matches it only when the question is stemmed as German too.

Chunks are tokenised once at ingestion (`lexical_tokens`) and the tokens stored beside the
chunk, so building a learner's BM25 index is only a read and a bm25s `index()` call. Indexes
are cached per learner in the runtime (`Runtime.lexical_indexes`) and rebuilt when the
learner's library changes (the fingerprint is read from PostgreSQL on every search, so several
app processes stay correct).
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from engine.domain.language import (
    SUPPORTED,
    UNKNOWN,
    detect_language,
    stemmer_name,
    stopwords,
)

# A query this long (in letters) has its language told: a wrong guess only adds stems.
QUERY_MIN_LETTERS = 20
# One code per stemmer, so that 'und' (stemmed as English) and 'en' count as one language.
_STEMMED_AS = {"english": "en"}
_WORD = re.compile(r"\w+", re.UNICODE)
# Han, Hiragana, Katakana, Hangul and their compatibility blocks: no spaces between words.
_CJK = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u1100-\u11ff\u3130-\u318f"
    r"\uac00-\ud7af\uff66-\uff9f]+"
)


@lru_cache(maxsize=8)
def _stemmer(algorithm: str = "english"):  # Stemmer.Stemmer
    import Stemmer

    return Stemmer.Stemmer(algorithm)


@lru_cache(maxsize=8)
def _stopwords(language: str = "en") -> frozenset[str]:
    if language != "en":
        return stopwords(language)
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def lexical_tokens(text: str, language: str = "en") -> list[str]:
    """The terms BM25 sees: lower-cased words without stop words, stemmed in the language
    (ISO 639-1; Snowball's stemmer for it, English for one it lacks); CJK runs as bigrams."""
    stop = _stopwords(language if language in SUPPORTED else "en")
    words: list[str] = []
    cjk: list[str] = []
    for match in _WORD.finditer(text.lower()):
        word = match.group()
        if _CJK.search(word):
            position = 0
            for run in _CJK.finditer(word):
                rest = word[position : run.start()]
                if len(rest) >= 2:
                    words.append(rest)
                chars = run.group()
                if len(chars) == 1:
                    cjk.append(chars)
                else:
                    cjk.extend(chars[i : i + 2] for i in range(len(chars) - 1))
                position = run.end()
            if len(word) - position >= 2:
                words.append(word[position:])
        elif len(word) >= 2 and word not in stop:
            words.append(word)
    return _stemmer(stemmer_name(language)).stemWords(words) + cjk


def query_tokens(
    query: str, languages: Sequence[str] = (), vocabulary: Container[str] | None = None
) -> list[str]:
    """A query's terms, stemmed as the chunks it is matched against were.

    Args:
        query: the question or keywords.
        languages: the languages those chunks were stemmed in (`stemming_languages`, most
            used first). Empty: English, and the query's own language when it can be told.
        vocabulary: the terms of those chunks (the index's). Given, the query is stemmed in
            the one language of `languages` in which the largest share of its terms is in it (the
            query's own language when told and among them, then the most used, win ties);
            otherwise in its own language when told and among them, else in each of them.

    A short question ("Was ist ein Zeiger?") has too few letters for its language to be told,
    and one of German with English terms ("Was sind member variables?") is told as English;
    the library's own stems decide instead. One stemming rather than all of the library's:
    stems of another language hardly match, but each would count as a term the library
    lacks when the tutor weighs how much of the question it covers.
    """
    told = detect_language(query, min_letters=QUERY_MIN_LETTERS)
    if not languages:
        return _stemmed(query, ["en", told])
    by_stemmer = {stemmer_name(lang): lang for lang in reversed(languages)}
    own = by_stemmer.get(stemmer_name(told)) if told != UNKNOWN else None
    if vocabulary is None:
        return _stemmed(query, [own] if own else list(languages))
    best: list[str] = []
    best_share = -1.0
    best_language = languages[0]
    for language in dict.fromkeys([own or languages[0], *languages]):
        tokens = lexical_tokens(query, language)
        # A share, not a count: another language's stemmer keeps this one's function words.
        share = sum(t in vocabulary for t in tokens) / len(tokens) if tokens else 0.0
        if share > best_share:
            best, best_share, best_language = tokens, share, language
    if stemmer_name(best_language) == "german":
        # The split verb's two parts stand for its whole ("fahrt", "herunter": "herunterfahr").
        for parts, whole in separable_verbs(query, vocabulary):
            best = [t for t in best if t not in parts] + ([] if whole in best else [whole])
    return best


# German verb particles that stand apart from their verb at a clause's end ("Wie fährt man das
# System herunter?" of "herunterfahren").
_PARTICLES = frozenset(
    """ab an auf aus bei ein fest her herunter herauf heraus hin hinein hinaus hinzu los mit
nach vor weg zu zurück zusammen durch um wieder""".split()
)


def separable_verbs(query: str, vocabulary: Container[str]) -> list[tuple[set[str], str]]:
    """A German verb a question splits ("fährt ... herunter"), as (the stems of its two
    parts, the stem of the whole: "herunterfahr", as "herunterfahren" is stemmed), when the
    library holds the whole: the particle at the question's end joined to each of its other
    words' stems (a third person's "-t" dropped too)."""
    words = re.findall(r"[^\W\d_]+", query.lower())
    if len(words) < 2 or words[-1] not in _PARTICLES:
        return []
    stemmer = _stemmer("german")
    particle = words[-1]
    found: list[tuple[set[str], str]] = []
    for stem in stemmer.stemWords(words[:-1]):
        for verb in (stem, stem[:-1] if stem.endswith("t") else ""):
            joined = stemmer.stemWord(particle + verb + "en") if verb else ""
            if joined and joined in vocabulary:
                found.append(({stem, stemmer.stemWord(particle)}, joined))
                break
    return found


def _stemmed(query: str, languages: list[str]) -> list[str]:
    """The query's terms in each of the languages' stemmings (each stemmer once)."""
    tokens: list[str] = []
    seen_stemmers: set[str] = set()
    for language in languages:
        if language == UNKNOWN or stemmer_name(language) in seen_stemmers:
            continue
        seen_stemmers.add(stemmer_name(language))
        tokens += [t for t in lexical_tokens(query, language) if t not in tokens]
    return tokens


def stemming_languages(chunk_languages: Iterable[str | None]) -> tuple[str, ...]:
    """The languages a library's chunks were stemmed in (one per chunk, from the language of
    its first page; None for chunks stored before languages were, stemmed as English), one
    per Snowball stemmer, most chunks first."""
    counts: Counter[str] = Counter()
    for language in chunk_languages:
        counts[_STEMMED_AS.get(stemmer_name(language), language or "en")] += 1
    return tuple(language for language, _ in counts.most_common()) or ("en",)


@dataclass
class LexicalIndex:
    """A BM25 index over one learner's chunks."""

    chunk_ids: np.ndarray  # int64, position -> chunk id
    material_ids: np.ndarray  # int64, position -> material id
    retriever: Any  # bm25s.BM25 (imported lazily), None for an empty library
    position_of: dict[int, int]  # chunk id -> position
    # The languages its chunks were stemmed in, most chunks first (`stemming_languages`).
    languages: tuple[str, ...] = ("en",)

    @classmethod
    def build(
        cls,
        chunk_ids: list[int],
        material_ids: list[int],
        token_lists: list[list[str]],
        languages: Iterable[str | None] = (),
    ) -> LexicalIndex:
        """The index of these chunks; `languages` holds each chunk's language (see
        `stemming_languages`; English when not given)."""
        import bm25s

        retriever = None
        # No words at all (passages of numbers or symbols only): BM25's average passage
        # length would be 0, and every score 0/0. Such a library is found by meaning only.
        if any(token_lists):
            retriever = bm25s.BM25()
            retriever.index(token_lists, show_progress=False)
        return cls(
            np.asarray(chunk_ids, dtype=np.int64),
            np.asarray(material_ids, dtype=np.int64),
            retriever,
            {c: i for i, c in enumerate(chunk_ids)},
            stemming_languages(languages),
        )

    def query_tokens(self, query: str) -> list[str]:
        """The query's terms, stemmed as this index's chunks were (see `query_tokens`)."""
        vocabulary = self.retriever.vocab_dict if self.retriever is not None else None
        return query_tokens(query, self.languages, vocabulary)

    @property
    def nbytes(self) -> int:
        """Estimated memory: the id arrays, the id map and bm25s's sparse score matrix and
        vocabulary."""
        size = self.chunk_ids.nbytes + self.material_ids.nbytes + 100 * len(self.position_of)
        if self.retriever is not None:
            for part in getattr(self.retriever, "scores", {}).values():
                size += getattr(part, "nbytes", 0)
            size += 90 * len(getattr(self.retriever, "vocab_dict", {}))
        return size

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for the query (zeros when no term is known)."""
        if self.retriever is None:
            return np.zeros(len(self.chunk_ids), dtype=np.float32)
        vocab = self.retriever.vocab_dict
        terms = [t for t in self.query_tokens(query) if t in vocab]
        if not terms:
            return np.zeros(len(self.chunk_ids), dtype=np.float32)
        return np.asarray(self.retriever.get_scores(terms), dtype=np.float32)

    def doc_freq(self, term: str) -> int:
        """In how many chunks a (lexical) term occurs."""
        term_id = self._term_id(term)
        if term_id is None:
            return 0
        indptr = self.retriever.scores["indptr"]
        return int(indptr[term_id + 1] - indptr[term_id])

    def weighted_scores(self, weights: dict[str, float]) -> np.ndarray:
        """Sum over terms of weight x the term's BM25 score, for every chunk (the expanded
        query of pseudo-relevance feedback)."""
        scores = np.zeros(len(self.chunk_ids), dtype=np.float32)
        if self.retriever is None:
            return scores
        parts = self.retriever.scores
        postings, values = [], []
        for term, weight in weights.items():
            term_id = self._term_id(term)
            if term_id is None or weight == 0:
                continue
            start, end = int(parts["indptr"][term_id]), int(parts["indptr"][term_id + 1])
            postings.append(parts["indices"][start:end])
            values.append(parts["data"][start:end] * np.float32(weight))
        if postings:
            scores += np.bincount(
                np.concatenate(postings), weights=np.concatenate(values), minlength=len(scores)
            ).astype(np.float32)
        return scores

    def _term_id(self, term: str) -> int | None:
        if self.retriever is None:
            return None
        term_id = self.retriever.vocab_dict.get(term)
        indptr = self.retriever.scores["indptr"]
        return term_id if term_id is not None and term_id + 1 < len(indptr) else None

    def top(
        self, query: str, n: int, material_ids: list[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(positions, scores) of the best `n` chunks with a positive score."""
        return self.best_of(self.scores(query), n, material_ids)

    def best_of(
        self, scores: np.ndarray, n: int, material_ids: list[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(positions, scores) of the `n` highest positive `scores` (one per chunk)."""
        if scores.size == 0:
            return np.zeros(0, dtype=np.int64), scores
        if material_ids is not None:
            scores = np.where(np.isin(self.material_ids, material_ids), scores, 0.0)
        n = min(n, scores.size)
        positions = np.argpartition(-scores, n - 1)[:n]
        positions = positions[np.argsort(-scores[positions], kind="stable")]
        keep = scores[positions] > 0
        return positions[keep], scores[positions][keep]


class IndexCache:
    """Learners' BM25 indexes in one runtime, least recently used dropped first once their
    estimated size passes the byte budget (`cache_budget_mb`). Each entry carries the
    library fingerprint read from PostgreSQL, so an index another process made stale is
    rebuilt on the next search."""

    def __init__(self, budget_bytes: int = 256 * 1024 * 1024) -> None:
        self._entries: OrderedDict[tuple, tuple[tuple, LexicalIndex, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.budget_bytes = budget_bytes
        self._bytes = 0

    def get(self, key: tuple, fingerprint: tuple) -> LexicalIndex | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != fingerprint:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: tuple, fingerprint: tuple, index: LexicalIndex) -> None:
        size = index.nbytes
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[2]
            self._entries[key] = (fingerprint, index, size)
            self._bytes += size
            while self._bytes > self.budget_bytes and len(self._entries) > 1:
                _, (_, _, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
