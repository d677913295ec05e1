"""Citations in a tutor answer: parsing the model's `[n]` markers, removing invalid ones, and
adding a citation to a sentence the model left uncited when one passage clearly supports it.

Pure functions over plain values (the similarity scores are computed by the caller with our own
embeddings). The support score follows RAGFlow's `insert_citations`: 0.9 x cosine similarity of
the sentence and the passage + 0.1 x the share of the sentence's terms found in the passage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

# [1], [2, 3], [ID:4] (RAGFlow's form) and runs of them like [1][2].
_MARKER = re.compile(r"\s*\[(?:ID:\s*)?(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
# A sentence ends at . ! ? (or a line break) followed by space; markers right after the
# punctuation still belong to the sentence before.
_BOUNDARY = re.compile(r"(?<=[.!?])((?:\s*\[(?:ID:\s*)?\d{1,3}(?:\s*,\s*\d{1,3})*\])*)\s+|\n+")
MAX_CITATIONS_PER_SENTENCE = 3
COSINE_WEIGHT = 0.9
OVERLAP_WEIGHT = 0.1


@dataclass(frozen=True)
class Sentence:
    """One sentence of an answer, without its markers, and the passage numbers it cites."""

    text: str
    refs: tuple[int, ...] = ()
    added: bool = False  # the citation was inserted by us, not written by the model

    @property
    def cited(self) -> bool:
        return bool(self.refs)


@dataclass(frozen=True)
class Checked:
    """An answer after validation: its sentences and what was changed."""

    sentences: list[Sentence]
    removed: list[int] = field(default_factory=list)  # invalid numbers the model wrote
    added: int = 0  # sentences that received a citation from us

    @property
    def cited_share(self) -> float:
        """The share of the answer's claims that keep a validated citation; an answer without
        claims (a one-word reply, a greeting) is measured over all its sentences, so an
        uncited one counts as 0, never as fully cited."""
        countable = [s for s in self.sentences if is_claim(s.text)] or self.sentences
        if not countable:
            return 0.0
        return sum(s.cited for s in countable) / len(countable)

    @property
    def uncited(self) -> list[int]:
        return [i for i, s in enumerate(self.sentences) if is_claim(s.text) and not s.cited]


def _numbers(group: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", group)]


def split_sentences(text: str) -> list[str]:
    """The answer's sentences, each keeping the markers written at its end."""
    parts: list[str] = []
    last = 0
    for m in _BOUNDARY.finditer(text):
        end = m.start() + len(m.group(1) or "")
        parts.append(text[last:end])
        last = m.end()
    parts.append(text[last:])
    return [p.strip() for p in parts if p.strip()]


def parse(text: str) -> list[Sentence]:
    """Sentences with the passage numbers their markers name (in order, without repeats)."""
    sentences = []
    for raw in split_sentences(text):
        refs: list[int] = []
        for m in _MARKER.finditer(raw):
            refs.extend(n for n in _numbers(m.group(1)) if n not in refs)
        clean = re.sub(r"\s+([.!?,;:])", r"\1", _MARKER.sub("", raw)).strip()
        if clean:
            sentences.append(Sentence(clean, tuple(refs)))
    return sentences


def is_claim(text: str) -> bool:
    """Whether a sentence states something a citation should back (not a question to the
    learner, a greeting or a heading-like fragment)."""
    stripped = text.strip()
    return len(re.findall(r"\w+", stripped)) >= 4 and not stripped.endswith("?")


def support_score(cosine: float, sentence_terms: Sequence[str], passage_terms: set[str]) -> float:
    """0.9 x cosine + 0.1 x the share of the sentence's terms that occur in the passage."""
    terms = set(sentence_terms)
    overlap = len(terms & passage_terms) / len(terms) if terms else 0.0
    return COSINE_WEIGHT * cosine + OVERLAP_WEIGHT * overlap


def check(
    sentences: Sequence[Sentence],
    *,
    valid: Sequence[int],
    scores: Sequence[Sequence[float]] | None = None,
    threshold: float,
    min_support: float = 0.0,
) -> Checked:
    """Validate the model's citations and cite what it left uncited where support is clear.

    Args:
        sentences: the parsed answer.
        valid: the passage numbers given to the model (1-based, in prompt order).
        scores: `scores[i][j]` is the support score of sentence i for passage `valid[j]`
            (see `support_score`); None skips insertion and the support check.
        threshold: an uncited sentence gets the best passage when its score reaches this;
            passages within 0.01 of the best are cited too (at most 3).
        min_support: a model citation scoring below this is dropped as unsupported.

    Returns:
        The checked sentences, the invalid numbers removed and the count of inserted citations.
    """
    allowed = list(valid)
    removed: list[int] = []
    out: list[Sentence] = []
    added = 0
    for i, s in enumerate(sentences):
        refs = [n for n in s.refs if n in allowed]
        removed.extend(n for n in s.refs if n not in allowed)
        row = list(scores[i]) if scores is not None else None
        if row is not None and refs:
            refs = [n for n in refs if row[allowed.index(n)] >= min_support]
        refs = refs[:MAX_CITATIONS_PER_SENTENCE]
        if refs or row is None or not is_claim(s.text) or not row:
            out.append(Sentence(s.text, tuple(refs), s.added))
            continue
        best = max(row)
        if best >= threshold:
            picks = [
                allowed[j]
                for j in sorted(range(len(row)), key=lambda j: -row[j])
                if row[j] >= best - 0.01
            ][:MAX_CITATIONS_PER_SENTENCE]
            out.append(Sentence(s.text, tuple(picks), added=True))
            added += 1
        else:
            out.append(Sentence(s.text))
    return Checked(out, removed=removed, added=added)


def render(sentences: Sequence[Sentence]) -> str:
    """The answer as text again, each sentence followed by its markers."""
    parts = []
    for s in sentences:
        parts.append(s.text + "".join(f" [{n}]" for n in s.refs))
    return " ".join(parts)


def strip_markers(text: str) -> str:
    """Text without citation markers (for history given back to the model)."""
    return _MARKER.sub("", text)
