"""The offline forms built on a defining sentence ("A trace tree is a tree of traces ..."):
definition from term (`definition`), term from definition (`naming`) and a self-rated
flashcard (`flashcard`: the term on the front, the source's definition on the back)."""

from __future__ import annotations

import re

import numpy as np

from engine.domain.vocabulary import FLASHCARD_FORM, QuestionType
from engine.generation.drafts import Draft
from engine.generation.offline_common import Batch, Candidate, shuffled
from engine.generation.offline_parts import (
    DISTRACTORS,
    common_fields,
    match_case,
    option_notes,
    pages_label,
    signal_for,
    snip,
)
from engine.generation.offline_terms import TermSpace
from engine.generation.offline_text import as_sentence, defined_term, definition_of, find_term
from engine.generation.validation import content_words


def _spelled(key: str, space: TermSpace) -> str:
    """A term as the material writes it (keys are case-folded): its first use inside a
    sentence, else its first use."""
    inside = re.search(rf"(?<=[\w,;] ){re.escape(key)}(?![\w-])", space.text, re.IGNORECASE)
    m = inside or find_term(key, space.text)
    return m.group(0) if m else key


def _defined(c: Candidate, space: TermSpace) -> str | None:
    """The term the candidate sentence defines, when the material's definitions hold it."""
    term = defined_term(c.sentence, space.text, c.language)
    return term if term is not None and term.casefold() in space.definitions else None


def _other_definitions(
    key: str, space: TermSpace, batch: Batch, *, difficulty: int, avoid: str
) -> list[tuple[float, str]]:
    """Three other defined terms of the material, as (similarity, key): the closest in
    meaning at difficulty 3 and over, else the farthest; none whose definition or name was a
    wrong option earlier in the batch or that the definition itself names."""
    mine = space.definition_vectors.get(key)
    others = []
    for k, definition in space.definitions.items():
        if k == key or not batch.free(definition) or not batch.free(k) or find_term(k, avoid):
            continue
        v = space.definition_vectors.get(k)
        sim = float(v @ mine) if v is not None and mine is not None else 0.0
        others.append((sim, k))
    others.sort(reverse=True)
    if len(others) < DISTRACTORS:
        return []
    return others[:DISTRACTORS] if difficulty >= 3 else others[-DISTRACTORS:]


def definition(
    c: Candidate, space: TermSpace, *, difficulty: int, topic: str | None, batch: Batch
) -> Draft | None:
    """ "What is X?": the source's definition among those of three other terms."""
    term = _defined(c, space)
    if term is None:
        return None
    key = term.casefold()
    picked = _other_definitions(key, space, batch, difficulty=difficulty, avoid="")
    if not picked:
        return None
    answer = definition_of(c.sentence, c.language)
    options, correct = shuffled(
        [answer, *(space.definitions[k] for _, k in picked)],
        answer,
        f"def:{c.passage.chunk_id}:{key}",
    )
    notes = ". ".join(
        f"If you chose \u201c{snip(space.definitions[k], k, 60).rstrip('.')}\u201d: that is how "
        f"the source describes '{_spelled(k, space)}', not {term}"
        for _, k in picked
    )
    # The definition, not the whole sentence again: the reason, and what each other one is.
    why = f"The source ({pages_label(c.passage)}) defines {term} as \u201c{answer}\u201d. {notes}."
    return Draft(
        type=QuestionType.MCQ,
        options=options,
        correct_index=correct,
        stem=f"What is {term}? Choose the description that the source gives.",
        explanation=why,
        **common_fields(
            c,
            answer=answer,
            excerpt=c.sentence,
            topic=topic,
            form="definition",
            signal=signal_for(c, space, float(np.mean([s for s, _ in picked]))),
        ),
    )


def naming(
    c: Candidate, space: TermSpace, *, difficulty: int, topic: str | None, batch: Batch
) -> Draft | None:
    """Term from definition: the source's description of a term, and four terms the
    material defines to choose from."""
    term = _defined(c, space)
    if term is None:
        return None
    described = definition_of(c.sentence, c.language)
    if content_words(term) & content_words(described):
        return None  # the description names its term: nothing to recall
    picked = _other_definitions(
        term.casefold(), space, batch, difficulty=difficulty, avoid=described
    )
    if not picked:
        return None
    answer = _spelled(term.casefold(), space)
    wrong = [match_case(_spelled(k, space), answer, space.language) for _, k in picked]
    if any(len(w.split()) - len(answer.split()) > 2 for w in wrong):
        return None
    options, correct = shuffled([answer, *wrong], answer, f"name:{c.passage.chunk_id}:{term}")
    why = (
        f"The source ({pages_label(c.passage)}) gives this description of '{answer}'. "
        + option_notes(wrong, space, c.sentence)
    )
    return Draft(
        type=QuestionType.MCQ,
        options=options,
        correct_index=correct,
        stem=f"Which term does the source describe this way? \u201c{described}\u201d",
        explanation=why,
        **common_fields(
            c,
            answer=answer,
            excerpt=c.sentence,
            topic=topic,
            form="naming",
            signal=signal_for(c, space, float(np.mean([s for s, _ in picked]))),
        ),
    )


def flashcard(
    c: Candidate, space: TermSpace, *, difficulty: int, topic: str | None, batch: Batch
) -> Draft | None:
    """A self-rated card: the term on the front, the source's defining sentence on the
    back; the learner recalls it, turns the card over and rates their recall."""
    term = _defined(c, space)
    if term is None:
        return None
    back, name = as_sentence(c.sentence), _spelled(term.casefold(), space)
    return Draft(
        type=QuestionType.SHORT,
        stem=f"What does the source mean by \u2018{name}\u2019? Recall it, then turn the card.",
        key_points=[definition_of(c.sentence, c.language)],
        explanation=(
            f"The source ({pages_label(c.passage)}) defines \u2018{name}\u2019 in this sentence; "
            " rate yourself on whether you recalled its point, not its wording."
        ),
        **common_fields(
            c,
            answer=back,
            excerpt=c.sentence,
            topic=topic,
            form=FLASHCARD_FORM,
            signal=signal_for(c, space, 0.3),
        ),
    )
