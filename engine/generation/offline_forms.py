"""The offline question forms: each builds one draft from a candidate sentence, or None when
the sentence or material cannot support that form. See `engine.generation.offline`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from engine.domain.vocabulary import Generator, QuestionType
from engine.generation import offline as off
from engine.generation.drafts import BLANK, Draft
from engine.generation.validation import normalise

DISTRACTORS = 3
_POOL = 16  # distractors are drawn from this many nearest neighbours


def _pages(p: Any) -> str:
    return (
        f"p. {p.page_start}" if p.page_start == p.page_end else (f"pp. {p.page_start}-{p.page_end}")
    )


def _match_case(term: str, like: str) -> str:
    """Give a distractor the answer's leading case, unless it is an acronym or a proper name."""
    if like[:1].isupper() == term[:1].isupper() or any(c.isupper() for c in term[1:]):
        return term
    return term[:1].upper() + term[1:] if like[:1].isupper() else term[:1].lower() + term[1:]


def _pick(
    neighbours: list[tuple[str, float]], batch: off.Batch, n: int, *, avoid: Sequence[str] = ()
) -> list[tuple[str, float]]:
    """`n` of the nearest neighbours not yet used as a wrong option in this batch and not
    among `avoid` (terms that would be right as well)."""
    avoided = {normalise(a) for a in avoid}
    chosen: list[tuple[str, float]] = []
    for text, sim in neighbours[:_POOL]:
        key = normalise(text)
        if key in avoided or not batch.free(text) or any(key == normalise(c) for c, _ in chosen):
            continue
        chosen.append((text, sim))
        if len(chosen) == n:
            break
    return chosen


def _snip(sentence: str, term: str, width: int = 150) -> str:
    if len(sentence) <= width:
        return sentence
    m = off._find(term, sentence)
    start = max(0, (m.start() if m else 0) - width // 3)
    return ("\u2026" if start else "") + sentence[start : start + width].strip() + "\u2026"


def _why(answer: str, nearest: str | None, space: off.TermSpace, pages: str) -> str:
    """Why the answer is right, from the source; and, for a wrong option, where the source
    uses that term instead (only when it says so in a sentence of its own)."""
    why = f"The source ({pages}) says '{answer}' here"
    definition = space.definitions.get(answer.casefold())
    why += f"; it describes it as \u201c{_snip(definition, answer)}\u201d." if definition else "."
    elsewhere = space.sentences_with.get(nearest.casefold()) if nearest else None
    if nearest and elsewhere:
        return (
            f"{why} '{nearest}' is about another point of the material: "
            f"\u201c{_snip(elsewhere, nearest)}\u201d"
        )
    return why


def _common(
    c: Any, *, answer: str, excerpt: str, signal: float, topic: str | None, form: str
) -> dict[str, Any]:
    p = c.passage
    return dict(
        answer=answer,
        difficulty=off.level(signal),
        excerpt=excerpt,
        chunk_ids=[p.chunk_id],
        source_chunk_id=p.chunk_id,
        material_id=p.material_id,
        material_title=p.material_title,
        page_start=p.page_start,
        page_end=p.page_end,
        topic=topic,
        generator=Generator.OFFLINE,
        prompt_version=off.OFFLINE_VERSION,
        form=form,
        difficulty_signal=signal,
    )


def _signal(c: Any, space: off.TermSpace, closeness: float) -> float:
    return off.difficulty_signal(
        count=c.term.count,
        max_count=max(t.count for t in space.terms),
        closeness=closeness,
        words=len(c.sentence.split()),
    )


def _blanked(c: Any) -> tuple[str, str] | None:
    sentence = off.as_sentence(c.sentence)
    m = off._find(c.term.text, sentence)
    if m is None:
        return None
    return m.group(0), f"{sentence[: m.start()]}{BLANK}{sentence[m.end() :]}"


def _rivals(c: Any, space: off.TermSpace) -> list[str]:
    m = off._find(c.term.text, c.sentence)
    return off.rivals(space, c.term.text, c.sentence, m) if m else []


def term_mcq(
    c: Any, space: off.TermSpace, *, difficulty: int, topic: str | None, batch: off.Batch
) -> Draft | None:
    found = _blanked(c)
    if found is None:
        return None
    answer, blanked = found
    rivals = _rivals(c, space)
    if rivals:
        batch.reject("ambiguous_option")  # kept out of the options below
    chosen = _pick(
        space.neighbours(c.term.text, avoid=c.sentence, hard=difficulty >= 3),
        batch,
        DISTRACTORS,
        avoid=rivals,
    )
    if len(chosen) < DISTRACTORS:
        return None
    closeness = sum(s for _, s in chosen) / len(chosen)
    options, correct = off.shuffled(
        [answer, *(_match_case(d, answer) for d, _ in chosen)],
        answer,
        f"{c.passage.chunk_id}:{normalise(c.sentence)}",
    )
    return Draft(
        type=QuestionType.MCQ,
        options=options,
        correct_index=correct,
        stem=f"Which term completes this sentence from the source? \u201c{blanked}\u201d",
        explanation=_why(answer, chosen[0][0], space, _pages(c.passage)),
        **_common(
            c,
            answer=answer,
            excerpt=c.sentence,
            topic=topic,
            form="term",
            signal=_signal(c, space, closeness),
        ),
    )


def cloze(
    c: Any, space: off.TermSpace, *, difficulty: int, topic: str | None, batch: off.Batch
) -> Draft | None:
    found = _blanked(c)
    if found is None:
        return None
    if _rivals(c, space):  # a typed answer could be another term, just as right
        batch.reject("ambiguous_blank")
        return None
    answer, blanked = found
    near = space.neighbours(c.term.text, avoid=c.sentence)
    closeness = near[0][1] if near else 0.1
    return Draft(
        type=QuestionType.CLOZE,
        stem=f"Fill in the blank: {blanked}",
        explanation=_why(answer, near[0][0] if near else None, space, _pages(c.passage)),
        **_common(
            c,
            answer=answer,
            excerpt=c.sentence,
            topic=topic,
            form="cloze",
            signal=_signal(c, space, closeness),
        ),
    )


def definition(
    c: Any, space: off.TermSpace, *, difficulty: int, topic: str | None, batch: off.Batch
) -> Draft | None:
    term = off.defined_term(c.sentence, space.text)
    if term is None or term.casefold() not in space.definition_vectors:
        return None
    key = term.casefold()
    mine = space.definition_vectors[key]
    others = sorted(
        (
            (float(v @ mine), k)
            for k, v in space.definition_vectors.items()
            if k != key and batch.free(space.definitions[k])
        ),
        reverse=True,
    )
    if len(others) < DISTRACTORS:
        return None
    picked = others[:DISTRACTORS] if difficulty >= 3 else others[-DISTRACTORS:]
    answer = off.definition_of(c.sentence)
    options, correct = off.shuffled(
        [answer, *(space.definitions[k] for _, k in picked)],
        answer,
        f"def:{c.passage.chunk_id}:{key}",
    )
    closeness = sum(s for s, _ in picked) / len(picked)
    why = (
        f"The source ({_pages(c.passage)}) gives this description of {term}. The others "
        f"describe other terms of the material (such as '{picked[0][1]}')."
    )
    return Draft(
        type=QuestionType.MCQ,
        options=options,
        correct_index=correct,
        stem=f"What is {term}? Choose the description that the source gives.",
        explanation=why,
        **_common(
            c,
            answer=answer,
            excerpt=c.sentence,
            topic=topic,
            form="definition",
            signal=_signal(c, space, closeness),
        ),
    )


def _swap(sentence: str, m: re.Match[str], new: str, lang: str) -> str:
    """The sentence with the match replaced by `new`, its article agreeing (English a/an)."""
    before, after = sentence[: m.start()], sentence[m.end() :]
    if m.start() == 0 or (lang != "de" and not m.group(0)[:1].isupper()):
        new = _match_case(new, m.group(0))  # German nouns keep their capital
    if lang == "en":
        art = re.search(r"\b([Aa]n?)\s+$", before)
        if art:
            want = "an" if new[:1].casefold() in "aeiou" else "a"
            want = want.capitalize() if art.group(1)[:1].isupper() else want
            before = before[: art.start(1)] + want + before[art.end(1) :]
    return f"{before}{new}{after}"


def _same_form(a: str, b: str) -> bool:
    """Whether two terms can stand in the same place of a sentence: same number, and a
    gerund only for a gerund."""
    ing = [t.split()[-1].casefold().endswith("ing") for t in (a, b)]
    return off._plural(a) == off._plural(b) and ing[0] == ing[1]


_DETERMINERS = {
    "en": "the|a|an|this|these|that|those|each|every|its|their|our|any|no",
    "fr": "le|la|les|un|une|des|du|ce|cette|ces",
    "es": "el|la|los|las|un|una|unos|unas|este|esta",
}


def _determined(term: str, space: off.TermSpace) -> bool:
    """Whether the material uses the term as a noun phrase (after a determiner; in German any
    capitalised term, as nouns are) or it is an acronym: only such terms are swapped."""
    if term.isupper() or space.language == "de":
        return True
    dets = _DETERMINERS.get(space.language, _DETERMINERS["en"])
    return bool(re.search(rf"\b({dets})\s+{re.escape(term)}(?![\w-])", space.text, re.IGNORECASE))


_SLOT_BEFORE = {
    "en": "the|a|an|this|these|that|those|each|every|its|their|our|any|no|of|in|on|"
    "at|for|with|by|from|into|about|and|or",
    "fr": "le|la|les|un|une|des|du|de|ce|cette|ces|en|dans|sur|par|pour|avec|et|ou",
    "es": "el|la|los|las|un|una|unos|unas|de|del|en|con|por|para|y|o",
}


def _noun_slot(sentence: str, m: re.Match[str], lang: str) -> bool:
    """Whether this occurrence stands where a noun phrase does: right after a determiner or a
    preposition (in German, any capitalised occurrence), so a noun swapped in still reads."""
    if lang == "de":
        return m.group(0)[:1].isupper()
    before = re.findall(r"([^\W\d_]+)\s*$", sentence[: m.start()])
    words = _SLOT_BEFORE.get(lang, _SLOT_BEFORE["en"]).split("|")
    return bool(before) and before[0].casefold() in words


def statement(
    c: Any, space: off.TermSpace, *, difficulty: int, topic: str | None, batch: off.Batch
) -> Draft | None:
    """One true sentence and three other real sentences of the material, each with one key
    term swapped for a neighbour of the same kind and form; each still reads as a sentence
    and none is reused within the batch."""
    i = space.index(c.term.text)
    if i is None:  # a candidate's term always comes from the space
        return None
    sims = space.similarities(i)
    order = sorted(range(len(space.terms)), key=lambda j: -sims[j])
    false: list[tuple[str, str, str, float]] = []  # (statement, real term, swapped in, sim)
    seen = {normalise(c.sentence)}
    for j in order:
        t = space.terms[j]
        s = space.sentences_with.get(t.text.casefold())
        if (
            not s
            or normalise(s) in seen
            or normalise(s) in batch.used_sources
            or abs(len(s) - len(c.sentence)) > 2 * len(c.sentence)
        ):
            continue
        m = off._find(t.text, s)
        if m is None or not off.blankable(t, s, m, space, space.language):
            continue
        if not _determined(t.text, space) or not _noun_slot(s, m, space.language):
            continue
        near = [
            (x, sim)
            for x, sim in space.neighbours(t.text, avoid=s, hard=difficulty >= 3)
            if _same_form(x, t.text) and _determined(x, space)
        ]
        if not near:
            continue
        made = off.as_sentence(_swap(s, m, near[0][0], space.language))
        if not off.is_candidate(made, space.language) or not batch.free(made):
            continue
        false.append((made, m.group(0), near[0][0], near[0][1]))
        seen.add(normalise(s))
        if len(false) == DISTRACTORS:
            break
    if len(false) < DISTRACTORS:
        return None
    batch.used_sources |= seen - {normalise(c.sentence)}
    true = off.as_sentence(c.sentence)
    options, correct = off.shuffled(
        [true, *(f[0] for f in false)], true, f"st:{c.passage.chunk_id}:{normalise(c.sentence)}"
    )
    _, real, swapped, _ = false[0]
    why = (
        f"The chosen statement is what the source says ({_pages(c.passage)}). Each of the "
        f"others is another sentence of the material with one term changed: for example "
        f"the source says '{real}' where one of them says '{swapped}'."
    )
    closeness = sum(f[3] for f in false) / len(false)
    return Draft(
        type=QuestionType.MCQ,
        options=options,
        correct_index=correct,
        stem="Which statement matches the source? Each of the others changes one term.",
        explanation=why,
        **_common(
            c,
            answer=true,
            excerpt=c.sentence,
            topic=topic,
            form="statement",
            signal=_signal(c, space, closeness),
        ),
    )


def list_cloze(
    c: Any, space: off.TermSpace, *, difficulty: int, topic: str | None, batch: off.Batch
) -> Draft | None:
    items = off.list_items(c.sentence, space.text)
    if items is None:
        return None
    stem_sentence = c.sentence
    for start, end, _ in reversed(items):
        stem_sentence = f"{stem_sentence[:start]}{BLANK}{stem_sentence[end:]}"
    answer = "; ".join(it for _, _, it in items)
    why = (
        f"The source ({_pages(c.passage)}) lists these three in this order: "
        f"{', '.join(repr(it) for _, _, it in items)}."
    )
    signal = min(1.0, _signal(c, space, 0.3) + 0.15)  # several terms to recall
    return Draft(
        type=QuestionType.CLOZE,
        stem=f"Fill in the blanks, in order: {stem_sentence}",
        explanation=why,
        **_common(c, answer=answer, excerpt=c.sentence, topic=topic, form="list", signal=signal),
    )


_BUILDERS = {
    "term": term_mcq,
    "cloze": cloze,
    "definition": definition,
    "statement": statement,
    "list": list_cloze,
}


def build_draft(
    form: str,
    c: Any,
    space: off.TermSpace,
    *,
    difficulty: int,
    topic: str | None,
    batch: off.Batch | None = None,
) -> Draft | None:
    if form == "list" and not re.search(r",.*\b(and|or|und|oder|et|ou|y|o)\b", c.sentence):
        return None
    return _BUILDERS[form](
        c,
        space,
        difficulty=difficulty,
        topic=topic,
        batch=batch if batch is not None else off.Batch(),
    )
