"""The offline question forms: each builds one draft from a candidate sentence, or None when
the sentence or material cannot support that form. See `engine.generation.offline`."""

from __future__ import annotations

import re
from typing import Any

from engine.domain.vocabulary import Generator, QuestionType
from engine.generation import offline as off
from engine.generation.drafts import BLANK, Draft
from engine.generation.validation import normalise

DISTRACTORS = 3
_POOL = 12  # distractors are drawn from this many nearest neighbours
_USAGE_PENALTY = 0.3


def _pages(p: Any) -> str:
    return f"p. {p.page_start}" if p.page_start == p.page_end else (
        f"pp. {p.page_start}-{p.page_end}")


def _match_case(term: str, like: str) -> str:
    """Give a distractor the answer's leading case, unless it is an acronym or a proper name."""
    if like[:1].isupper() == term[:1].isupper() or any(c.isupper() for c in term[1:]):
        return term
    return term[:1].upper() + term[1:] if like[:1].isupper() else term[:1].lower() + term[1:]


def _pick(neighbours: list[tuple[str, float]], usage: Any, n: int) -> list[tuple[str, float]]:
    """`n` varied neighbours: the nearest, less so when already used as distractors."""
    pool = sorted(neighbours[:_POOL], key=lambda x: -(x[1] - _USAGE_PENALTY * usage[x[0]]))
    chosen: list[tuple[str, float]] = []
    for text, sim in pool:
        if all(normalise(text) != normalise(c) for c, _ in chosen):
            chosen.append((text, sim))
        if len(chosen) == n:
            break
    if len(chosen) == n:
        usage.update(t for t, _ in chosen)
    return chosen


def _snip(sentence: str, term: str, width: int = 150) -> str:
    if len(sentence) <= width:
        return sentence
    m = off._find(term, sentence)
    start = max(0, (m.start() if m else 0) - width // 3)
    return ("\u2026" if start else "") + sentence[start:start + width].strip() + "\u2026"


def _why(answer: str, nearest: str | None, space: off.TermSpace, pages: str) -> str:
    why = f"'{answer}' is the term the source uses in this sentence ({pages})"
    definition = space.definitions.get(answer.casefold())
    why += f"; it describes it as \u201c{_snip(definition, answer)}\u201d." if definition else "."
    if nearest is None:
        return why
    elsewhere = space.sentences_with.get(nearest.casefold())
    if elsewhere:
        return (f"{why} The closest alternative, '{nearest}', belongs to another point of the "
                f"material: \u201c{_snip(elsewhere, nearest)}\u201d")
    return (f"{why} The closest alternative, '{nearest}', is a related term of this material, "
            "but this sentence is not about it.")


def _common(c: Any, *, answer: str, excerpt: str, signal: float, topic: str | None,
            form: str) -> dict[str, Any]:
    p = c.passage
    return dict(answer=answer, difficulty=off.level(signal), excerpt=excerpt,
                chunk_ids=[p.chunk_id], source_chunk_id=p.chunk_id, material_id=p.material_id,
                material_title=p.material_title, page_start=p.page_start, page_end=p.page_end,
                topic=topic, generator=Generator.OFFLINE, prompt_version=off.OFFLINE_VERSION,
                form=form, difficulty_signal=signal)


def _signal(c: Any, space: off.TermSpace, closeness: float) -> float:
    return off.difficulty_signal(count=c.term.count, max_count=max(t.count for t in space.terms),
                                 closeness=closeness, words=len(c.sentence.split()))


def _blanked(c: Any) -> tuple[str, str] | None:
    m = off._find(c.term.text, c.sentence)
    if m is None:
        return None
    return m.group(0), f"{c.sentence[:m.start()]}{BLANK}{c.sentence[m.end():]}"


def term_mcq(c: Any, space: off.TermSpace, *, difficulty: int, topic: str | None) -> Draft | None:
    found = _blanked(c)
    if found is None:
        return None
    answer, blanked = found
    chosen = _pick(space.neighbours(c.term.text, avoid=c.sentence, hard=difficulty >= 3),
                   space.usage, DISTRACTORS)
    if len(chosen) < DISTRACTORS:
        return None
    closeness = sum(s for _, s in chosen) / len(chosen)
    options, correct = off.shuffled([answer, *(_match_case(d, answer) for d, _ in chosen)],
                                    answer, f"{c.passage.chunk_id}:{normalise(c.sentence)}")
    return Draft(type=QuestionType.MCQ, options=options, correct_index=correct,
                 stem=f"Which term completes this sentence from the source? \u201c{blanked}\u201d",
                 explanation=_why(answer, chosen[0][0], space, _pages(c.passage)),
                 **_common(c, answer=answer, excerpt=c.sentence, topic=topic, form="term",
                           signal=_signal(c, space, closeness)))


def cloze(c: Any, space: off.TermSpace, *, difficulty: int, topic: str | None) -> Draft | None:
    found = _blanked(c)
    if found is None:
        return None
    answer, blanked = found
    near = space.neighbours(c.term.text, avoid=c.sentence)
    closeness = near[0][1] if near else 0.1
    return Draft(type=QuestionType.CLOZE, stem=f"Fill in the blank: {blanked}",
                 explanation=_why(answer, near[0][0] if near else None, space,
                                  _pages(c.passage)),
                 **_common(c, answer=answer, excerpt=c.sentence, topic=topic, form="cloze",
                           signal=_signal(c, space, closeness)))


def definition(c: Any, space: off.TermSpace, *, difficulty: int,
               topic: str | None) -> Draft | None:
    term = off.defined_term(c.sentence, space.text)
    if term is None or term.casefold() not in space.definition_vectors:
        return None
    key = term.casefold()
    mine = space.definition_vectors[key]
    others = sorted(((float(v @ mine), k) for k, v in space.definition_vectors.items()
                     if k != key), reverse=True)
    if len(others) < DISTRACTORS:
        return None
    picked = others[:DISTRACTORS] if difficulty >= 3 else others[-DISTRACTORS:]
    answer = off.definition_of(c.sentence)
    options, correct = off.shuffled(
        [answer, *(space.definitions[k] for _, k in picked)], answer,
        f"def:{c.passage.chunk_id}:{key}")
    closeness = sum(s for s, _ in picked) / len(picked)
    why = (f"The source ({_pages(c.passage)}) describes {term} this way. The closest "
           f"alternative is how it describes '{picked[0][1]}', a different term of the "
           "material.")
    return Draft(type=QuestionType.MCQ, options=options, correct_index=correct,
                 stem=f"What is {term}? Choose the description that the source gives.",
                 explanation=why,
                 **_common(c, answer=answer, excerpt=c.sentence, topic=topic, form="definition",
                           signal=_signal(c, space, closeness)))


def statement(c: Any, space: off.TermSpace, *, difficulty: int,
              topic: str | None) -> Draft | None:
    """One true sentence and three from elsewhere in the material, each with a term swapped."""
    i = space.index(c.term.text)
    sims = space.similarities(i)
    order = sorted(range(len(space.terms)), key=lambda j: -sims[j])
    false: list[tuple[str, str, str, float]] = []  # (statement, real term, swapped in, sim)
    seen = {normalise(c.sentence)}
    for j in order:
        t = space.terms[j]
        s = space.sentences_with.get(t.text.casefold())
        if not s or normalise(s) in seen or abs(len(s) - len(c.sentence)) > 2 * len(c.sentence):
            continue
        near = space.neighbours(t.text, avoid=s, hard=difficulty >= 3)
        m = off._find(t.text, s)
        if not near or m is None:
            continue
        swapped = _match_case(near[0][0], m.group(0))
        false.append((f"{s[:m.start()]}{swapped}{s[m.end():]}", m.group(0), swapped, near[0][1]))
        seen.add(normalise(s))
        if len(false) == DISTRACTORS:
            break
    if len(false) < DISTRACTORS:
        return None
    options, correct = off.shuffled([c.sentence, *(f[0] for f in false)], c.sentence,
                                    f"st:{c.passage.chunk_id}:{normalise(c.sentence)}")
    _, real, swapped, _ = false[0]
    why = (f"The chosen statement is what the source says ({_pages(c.passage)}). Each of the "
           f"others has one term swapped: for example the source says '{real}', not "
           f"'{swapped}'.")
    closeness = sum(f[3] for f in false) / len(false)
    return Draft(type=QuestionType.MCQ, options=options, correct_index=correct,
                 stem="Which statement matches the source? Each of the others changes one term.",
                 explanation=why,
                 **_common(c, answer=c.sentence, excerpt=c.sentence, topic=topic,
                           form="statement", signal=_signal(c, space, closeness)))


def list_cloze(c: Any, space: off.TermSpace, *, difficulty: int,
               topic: str | None) -> Draft | None:
    items = off.list_items(c.sentence, space.text)
    if items is None:
        return None
    stem_sentence = c.sentence
    for start, end, _ in reversed(items):
        stem_sentence = f"{stem_sentence[:start]}{BLANK}{stem_sentence[end:]}"
    answer = "; ".join(it for _, _, it in items)
    why = (f"The source ({_pages(c.passage)}) lists these three in this order: "
           f"{', '.join(repr(it) for _, _, it in items)}.")
    signal = min(1.0, _signal(c, space, 0.3) + 0.15)  # several terms to recall
    return Draft(type=QuestionType.CLOZE, stem=f"Fill in the blanks, in order: {stem_sentence}",
                 explanation=why,
                 **_common(c, answer=answer, excerpt=c.sentence, topic=topic, form="list",
                           signal=signal))


_BUILDERS = {"term": term_mcq, "cloze": cloze, "definition": definition,
             "statement": statement, "list": list_cloze}


def build_draft(form: str, c: Any, space: off.TermSpace, *, difficulty: int,
                topic: str | None) -> Draft | None:
    if form == "list" and not re.search(r",.*\b(and|or)\b", c.sentence):
        return None
    return _BUILDERS[form](c, space, difficulty=difficulty, topic=topic)
