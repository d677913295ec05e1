"""Pieces every offline question form uses: picking distractors, the explanation of the
answer and of each wrong option, and the fields every offline draft carries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.domain.passage import page_range_label
from engine.domain.vocabulary import Generator
from engine.generation.lint import nearly_same
from engine.generation.offline_common import (
    OFFLINE_VERSION,
    Batch,
    Candidate,
    difficulty_signal,
    level,
)
from engine.generation.offline_terms import TermSpace
from engine.generation.offline_text import find_term
from engine.generation.validation import normalise

DISTRACTORS = 3
_POOL = 16  # distractors are drawn from this many nearest neighbours


def pages_label(p: Any) -> str:
    """Where a candidate's passage is, cited like every other citation ('pp. 4\u20135')."""
    return page_range_label(p.page_start, p.page_end)


def match_case(term: str, like: str, lang: str = "en") -> str:
    """Give a distractor the answer's leading case, unless it is an acronym or a proper name
    (or a German noun: it keeps its capital wherever it stands)."""
    if like[:1].isupper() == term[:1].isupper() or any(c.isupper() for c in term[1:]):
        return term
    if lang == "de" and term[:1].isupper():
        return term
    return term[:1].upper() + term[1:] if like[:1].isupper() else term[:1].lower() + term[1:]


def pick(
    neighbours: list[tuple[str, float]],
    batch: Batch,
    n: int,
    *,
    avoid: Sequence[str] = (),
    distinct: bool = False,
) -> list[tuple[str, float]]:
    """`n` of the nearest neighbours not yet used as a wrong option in this batch and not
    among `avoid` (terms that would be right as well); with `distinct`, none nearly the same
    as another ("sistema" beside "sistema Debian", which the lint refuses)."""
    avoided = {normalise(a) for a in avoid}
    chosen: list[tuple[str, float]] = []
    for text, sim in neighbours[:_POOL]:
        key = normalise(text)
        if key in avoided or not batch.free(text):
            continue
        if any(
            key == normalise(c) or (distinct and nearly_same(key, normalise(c))) for c, _ in chosen
        ):
            continue
        chosen.append((text, sim))
        if len(chosen) == n:
            break
    return chosen


def snip(sentence: str, term: str, width: int = 150) -> str:
    if len(sentence) <= width:
        return sentence
    m = find_term(term, sentence)
    start = max(0, (m.start() if m else 0) - width // 3)
    return ("\u2026" if start else "") + sentence[start : start + width].strip() + "\u2026"


def why_term(answer: str, wrong: Sequence[str], space: TermSpace, sentence: str, pages: str) -> str:
    """Why the answer is right, from the source, and why each wrong option is not (so the
    learner who chose one reads about it)."""
    why = f"The source ({pages}) uses '{answer}' in this sentence"
    definition = space.definitions.get(answer.casefold())
    why += (
        f" and describes it as \u201c{snip(definition, answer).rstrip('.')}\u201d."
        if definition
        else "."
    )
    notes = option_notes(wrong, space, sentence)
    return f"{why} {notes}" if notes else why


def option_notes(wrong: Sequence[str], space: TermSpace, sentence: str = "") -> str:
    """One note per wrong option: how the source describes that term, or where it uses it."""
    notes = []
    for option in wrong:
        key = option.casefold()
        definition = space.definitions.get(key)
        elsewhere = space.sentences_with.get(key)
        if definition:
            notes.append(
                f"If you chose '{option}': the source describes it as "
                f"\u201c{snip(definition, option).rstrip('.')}\u201d"
            )
        elif elsewhere and normalise(elsewhere) != normalise(sentence):
            notes.append(
                f"If you chose '{option}': the source uses it for another point: "
                f"\u201c{snip(elsewhere, option).rstrip('.')}\u201d"
            )
        else:
            notes.append(
                f"If you chose '{option}': it is another term of the material, not this one"
            )
    return ". ".join(notes) + "." if notes else ""


def common_fields(
    c: Candidate, *, answer: str, excerpt: str, signal: float, topic: str | None, form: str
) -> dict[str, Any]:
    p = c.passage
    return dict(
        answer=answer,
        difficulty=level(signal),
        excerpt=excerpt,
        chunk_ids=[p.chunk_id],
        source_chunk_id=p.chunk_id,
        material_id=p.material_id,
        material_title=p.material_title,
        page_start=p.page_start,
        page_end=p.page_end,
        topic=topic,
        generator=Generator.OFFLINE,
        prompt_version=OFFLINE_VERSION,
        form=form,
        difficulty_signal=signal,
    )


def signal_for(c: Candidate, space: TermSpace, closeness: float) -> float:
    return difficulty_signal(
        count=c.term.count,
        max_count=max(t.count for t in space.terms),
        closeness=closeness,
        words=len(c.sentence.split()),
    )
