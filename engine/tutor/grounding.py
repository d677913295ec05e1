"""What ties an answer to the passages: the refusal rule, support scores with our own embeddings,
and the offline extractive answer (the best sentences of the top passages, each cited)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.retrieval.embeddings import Embedder
from engine.retrieval.lexical import lexical_tokens
from engine.tutor.citations import Sentence, support_score

# Sentence ends inside PDF text: punctuation then a space and a capital, digit or quote.
_PDF_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
MIN_SENTENCE_WORDS = 6
MAX_SENTENCE_WORDS = 70
MAX_EMBEDDED = 6  # candidate sentences scored with embeddings per offline answer


def should_refuse(scores: Sequence[float], threshold: float) -> bool:
    """Refuse (no model call) when no passage's fused retrieval score reaches the threshold."""
    return not scores or max(scores) < threshold


def support_scores(sentences: Sequence[str], passages: Sequence[str],
                   embedder: Embedder) -> list[list[float]]:
    """`scores[i][j]`: how well passage j supports sentence i (0.9 cosine + 0.1 term overlap)."""
    if not sentences or not passages:
        return [[] for _ in sentences]
    vectors = embedder.embed_documents([*sentences, *passages])
    s_vec, p_vec = vectors[:len(sentences)], vectors[len(sentences):]
    cosines = np.asarray(s_vec @ p_vec.T, dtype=np.float64)
    p_terms = [set(lexical_tokens(p)) for p in passages]
    return [[support_score(float(cosines[i, j]), lexical_tokens(s), p_terms[j])
             for j in range(len(passages))] for i, s in enumerate(sentences)]


def pdf_sentences(text: str) -> list[str]:
    """Sentences of a passage of PDF text (line breaks and hyphenation undone)."""
    flat = re.sub(r"-\n(?=[a-z])", "", text)
    flat = re.sub(r"\s+", " ", flat).strip()
    return [s.strip() for s in _PDF_SENTENCE_END.split(flat) if s.strip()]


@dataclass(frozen=True)
class Extract:
    sentences: list[Sentence]
    text: str


def extractive_answer(query: str, passages: Sequence[str], embedder: Embedder, *,
                      max_sentences: int = 3, max_passages: int = 3) -> Extract:
    """The sentences of the top passages that best answer the query, each citing its passage.

    Args:
        query: the standalone search query.
        passages: passage texts in prompt order (passage i is cited as [i + 1]).
        embedder: our embedding model.
        max_sentences: sentences in the answer.
        max_passages: how many of the top passages to draw from.

    Returns:
        The chosen sentences in passage order, and the answer text with markers.
    """
    candidates: list[tuple[int, int, str]] = []
    for n, text in enumerate(passages[:max_passages], start=1):
        for position, sentence in enumerate(pdf_sentences(text)):
            words = len(sentence.split())
            if MIN_SENTENCE_WORDS <= words <= MAX_SENTENCE_WORDS:
                candidates.append((n, position, sentence))
    if not candidates:  # short fragments only: quote the best passage's start
        for n, text in enumerate(passages[:1], start=1):
            flat = re.sub(r"\s+", " ", text).strip()
            if flat:
                candidates.append((n, 0, " ".join(flat.split()[:MAX_SENTENCE_WORDS])))
    if not candidates:
        return Extract([], "")
    q_terms = set(lexical_tokens(query))
    if len(candidates) > MAX_EMBEDDED:
        # Only the sentences sharing most query terms are embedded (the costly step).
        def shared(c: tuple[int, int, str]) -> float:
            return len(q_terms & set(lexical_tokens(c[2]))) - 0.01 * c[0]
        candidates = sorted(candidates, key=lambda c: -shared(c))[:MAX_EMBEDDED]
    vectors = embedder.embed_documents([query, *(c[2] for c in candidates)])
    cosines = vectors[1:] @ vectors[0]
    scored = []
    for (n, position, sentence), cosine in zip(candidates, cosines, strict=True):
        # Here the overlap is the share of the query's terms the sentence contains.
        score = support_score(float(cosine), sorted(q_terms), set(lexical_tokens(sentence)))
        scored.append((score, n, position, sentence))
    scored.sort(key=lambda x: -x[0])
    chosen: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    for _, n, position, sentence in scored:
        key = sentence.lower()
        if key in seen:
            continue
        seen.add(key)
        chosen.append((n, position, sentence))
        if len(chosen) == max_sentences:
            break
    chosen.sort(key=lambda c: (c[0], c[1]))
    sentences = [Sentence(s, (n,)) for n, _, s in chosen]
    text = " ".join(f"{s.text} [{s.refs[0]}]" for s in sentences)
    return Extract(sentences, text)
