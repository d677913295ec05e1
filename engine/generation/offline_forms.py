"""The offline question forms: each builds one draft from a candidate sentence, or None when
the sentence or material cannot support that form. See `engine.generation.offline`."""

from __future__ import annotations

import re

from engine.domain import language as lang_
from engine.domain.vocabulary import FLASHCARD_FORM, QuestionType
from engine.generation.drafts import BLANK, Draft
from engine.generation.offline_common import (
    Batch,
    Candidate,
    shuffled,
)
from engine.generation.offline_definitions import definition, flashcard, naming
from engine.generation.offline_lists import list_items
from engine.generation.offline_options import (
    _head_alone,
    _is_subject,
    _rivals,
    term_options,
)
from engine.generation.offline_parts import (
    DISTRACTORS,
    common_fields,
    match_case,
    pages_label,
    signal_for,
    why_term,
)
from engine.generation.offline_rivals import distinctive
from engine.generation.offline_terms import TermSpace, blankable
from engine.generation.offline_text import (
    as_sentence,
    find_term,
    is_candidate,
    is_plural,
    noun_like,
)
from engine.generation.validation import normalise


def _blanked(c: Candidate) -> tuple[str, str] | None:
    sentence = as_sentence(c.sentence)
    m = find_term(c.term.text, sentence)
    if m is None:
        return None
    return m.group(0), f"{sentence[: m.start()]}{BLANK}{sentence[m.end() :]}"


def term_mcq(
    c: Candidate, space: TermSpace, *, difficulty: int, topic: str | None, batch: Batch
) -> Draft | None:
    found = _blanked(c)
    if found is None:
        return None
    answer, blanked = found
    chosen = term_options(c, space, difficulty=difficulty, batch=batch)
    if chosen is None:
        return None
    closeness = sum(s for _, s in chosen) / len(chosen)
    options, correct = shuffled(
        [answer, *(match_case(d, answer, space.language) for d, _ in chosen)],
        answer,
        f"{c.passage.chunk_id}:{normalise(c.sentence)}",
    )
    return Draft(
        type=QuestionType.MCQ,
        options=options,
        correct_index=correct,
        stem=f"Which term completes this sentence from the source? \u201c{blanked}\u201d",
        explanation=why_term(
            answer, [o for o in options if o != answer], space, c.sentence, pages_label(c.passage)
        ),
        **common_fields(
            c,
            answer=answer,
            excerpt=c.sentence,
            topic=topic,
            form="term",
            signal=signal_for(c, space, closeness),
        ),
    )


def cloze(
    c: Candidate, space: TermSpace, *, difficulty: int, topic: str | None, batch: Batch
) -> Draft | None:
    found = _blanked(c)
    if found is None or _is_subject(c, space):
        return None
    if _rivals(c, space, typed=True) or _head_alone(c.term.text, space):
        # A typed answer could be another term, or the key's head alone, just as right.
        batch.reject("ambiguous_blank")
        return None
    if not distinctive(c.term, space):
        # A common word typed: a synonym the material never uses is just as right.
        batch.reject("common_word_blank")
        return None
    answer, blanked = found
    near = space.neighbours(c.term.text, avoid=c.sentence)
    closeness = near[0][1] if near else 0.1
    return Draft(
        type=QuestionType.CLOZE,
        stem=f"Fill in the blank: {blanked}",
        explanation=why_term(answer, [], space, c.sentence, pages_label(c.passage)),
        **common_fields(
            c,
            answer=answer,
            excerpt=c.sentence,
            topic=topic,
            form="cloze",
            signal=signal_for(c, space, closeness),
        ),
    )


def _swap(sentence: str, m: re.Match[str], new: str, lang: str) -> str:
    """The sentence with the match replaced by `new`, its article agreeing (English a/an)."""
    before, after = sentence[: m.start()], sentence[m.end() :]
    if m.start() == 0 or (lang != "de" and not m.group(0)[:1].isupper()):
        new = match_case(new, m.group(0))  # German nouns keep their capital
    if lang == "en":
        art = re.search(r"\b([Aa]n?)\s+$", before)
        if art:
            want = "an" if _vowel_sound(new) else "a"
            want = want.capitalize() if art.group(1)[:1].isupper() else want
            before = before[: art.start(1)] + want + before[art.end(1) :]
    return f"{before}{new}{after}"


def _vowel_sound(word: str) -> bool:
    """Whether an English word starts with a vowel sound ("an interpreter", but "a usage",
    "a user", "a unit", "a one-way")."""
    w = word.casefold()
    if re.match(r"(us|uni|uti|uri|eu|one\b|once)", w):
        return False
    return w[:1] in "aeiou" or w.startswith(("hour", "honest", "honor", "honour"))


_SINGULAR_BEFORE = frozenset("a an each every one another".split())
_PLURAL_BEFORE = frozenset("these those many several both few".split())


def _agrees(sentence: str, m: re.Match[str], new: str, lang: str) -> bool:
    """Whether an English term swapped in at `m` agrees with the determiner before it: no
    plural after "a" or "every" ("a letters of questions", where "a series" stood: a word
    in "-s" of one form in both numbers), no singular after "these"."""
    if lang != "en":
        return True
    before = re.findall(r"([^\W\d_]+)\s*$", sentence[: m.start()])
    word = before[0].casefold() if before else ""
    if word in _SINGULAR_BEFORE:
        return not is_plural(new)
    return word not in _PLURAL_BEFORE or is_plural(new)


def _same_form(a: str, b: str) -> bool:
    """Whether two terms can stand in the same place of a sentence: same number, and a
    gerund only for a gerund."""
    ing = [t.split()[-1].casefold().endswith("ing") for t in (a, b)]
    return is_plural(a) == is_plural(b) and ing[0] == ing[1]


_DETERMINERS = {
    "en": "the|a|an|this|these|that|those|each|every|its|their|our|any|no",
    "fr": "le|la|les|un|une|des|du|ce|cette|ces",
    "es": "el|la|los|las|un|una|unos|unas|este|esta",
}


def _determined(term: str, space: TermSpace) -> bool:
    """Whether the material uses the term as a noun (after a determiner, ending in a word
    used as a noun and not mostly as a modifier of the next word; in German any capitalised
    term, as nouns are) or it is an acronym: only such terms are swapped. The answer is kept
    on the space: a batch asks about the same terms many times, and each answer searches the
    whole material."""
    if term.isupper() or space.language == "de":
        return True
    known = space.nouns.get(term)
    if known is None:
        known = space.nouns[term] = _used_as_noun(term, space)
    return known


def _used_as_noun(term: str, space: TermSpace) -> bool:
    dets = _DETERMINERS.get(space.language, _DETERMINERS["en"])
    if not re.search(rf"\b({dets})\s+{re.escape(term)}(?![\w-])", space.text, re.IGNORECASE):
        return False
    last = term.split()[-1]
    return noun_like(last, space.text, space.language) and not _modifier_mostly(term, space)


def _modifier_mostly(term: str, space: TermSpace) -> bool:
    """A term mostly followed by another content word ("applicable law"): an adjective."""
    stop = lang_.stopwords(space.language)
    after = re.findall(rf"(?<![\w-]){re.escape(term)} ([^\W\d_]+)", space.text, flags=re.IGNORECASE)
    total = len(re.findall(rf"(?<![\w-]){re.escape(term)}(?![\w-])", space.text, re.IGNORECASE))
    return total > 0 and sum(w.casefold() not in stop for w in after) >= 0.5 * total


_DE_ARTICLES = frozenset({"der", "die", "das", "den", "dem", "des"})
_SLOT_BEFORE = {
    "en": "the|a|an|this|these|that|those|each|every|its|their|our|any|no",
    "fr": "le|la|les|un|une|des|du|de|ce|cette|ces|en|dans|sur|par|pour|avec|et|ou",
    "es": "el|la|los|las|un|una|unos|unas|de|del|en|con|por|para|y|o",
}


def _verb_at_clause_end(sentence: str, m: re.Match[str], text: str) -> bool:
    """An English term ending a clause in "-s" whose stem the material uses as a verb
    ("... the trace exits."): there it is a subject and its verb, not a noun phrase."""
    last = m.group(0).split()[-1]
    if not re.match(r"\s*[.;:,)]", sentence[m.end() :]) or not last.endswith("s"):
        return False
    stem = re.escape(last[:-1])
    modal = r"\b(to|can|must|will|may|should|would|could)"
    return bool(re.search(rf"{modal} {stem}\b", text, re.IGNORECASE))


def _noun_slot(sentence: str, m: re.Match[str], lang: str) -> bool:
    """Whether this occurrence stands where a noun phrase does: right after a determiner or a
    preposition (in German, right after a definite article, whose gender and case the
    swapped-in noun must share: see `TermSpace.same_form`), so a noun swapped in still reads."""
    before = re.findall(r"([^\W\d_]+)\s*$", sentence[: m.start()])
    if lang == "de":
        return m.group(0)[:1].isupper() and bool(before) and before[0] in _DE_ARTICLES
    words = _SLOT_BEFORE.get(lang, _SLOT_BEFORE["en"]).split("|")
    return bool(before) and before[0].casefold() in words


def _false_statements(
    c: Candidate, space: TermSpace, *, difficulty: int, batch: Batch
) -> tuple[list[tuple[str, str, str, float]], set[str]]:
    """Up to three other sentences of the material, each with one key term (nearest to the
    candidate's first) swapped for a neighbour of the same kind and form, as (statement, real
    term, swapped in, similarity); and the normalised sentences they came from."""
    i = space.index(c.term.text)
    if i is None:  # a candidate's term always comes from the space
        return [], set()
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
        m = find_term(t.text, s)
        if m is None or not blankable(t, s, m, space, space.language):
            continue
        if not _determined(t.text, space) or not _noun_slot(s, m, space.language):
            continue
        if _verb_at_clause_end(s, m, space.text):
            continue
        near = [
            (x, sim)
            for x, sim in space.neighbours(
                t.text, avoid=s, hard=difficulty >= 3, number=space.slot_number(s, m)
            )
            if _same_form(x, t.text)
            and (space.language == "en" or space.same_form(x, t.text))
            and _agrees(s, m, x, space.language)
            and _determined(x, space)
            # German: only a noun whose article the material shows, so its gender is
            # known ("den Schaltjahr" is no German).
            and (space.language != "de" or space.articles(x))
        ]
        if not near:
            continue
        made = as_sentence(_swap(s, m, near[0][0], space.language))
        if not is_candidate(made, space.language) or not batch.free(made):
            continue
        false.append((made, m.group(0), near[0][0], near[0][1]))
        seen.add(normalise(s))
        if len(false) == DISTRACTORS:
            break
    return false, seen - {normalise(c.sentence)}


def _variants(
    c: Candidate, space: TermSpace, *, difficulty: int, batch: Batch
) -> list[tuple[str, str, str, float]] | None:
    """The candidate's own sentence three times, its key term swapped each time for a term
    of the same kind and form that would be wrong there (see `term_options`), as (statement,
    real term, swapped in, similarity); None when it cannot be done."""
    lang = space.language
    m = find_term(c.term.text, c.sentence)
    if m is None or not _determined(c.term.text, space) or not _noun_slot(c.sentence, m, lang):
        return None
    if _verb_at_clause_end(c.sentence, m, space.text):
        return None

    def fits(x: str, at: re.Match[str]) -> bool:
        return (
            _same_form(x, c.term.text)
            and (lang == "en" or space.same_form(x, c.term.text))
            and _agrees(c.sentence, at, x, lang)
            and _determined(x, space)
            and (lang != "de" or bool(space.articles(x)))
        )

    chosen = term_options(c, space, difficulty=difficulty, batch=batch, fits=fits)
    out = []
    for x, sim in chosen or []:
        made = as_sentence(_swap(c.sentence, m, x, lang))
        if not is_candidate(made, lang) or not batch.free(made):
            return None
        out.append((made, m.group(0), x, sim))
    return out or None


def statement(
    c: Candidate, space: TermSpace, *, difficulty: int, topic: str | None, batch: Batch
) -> Draft | None:
    """One true sentence and three false ones, each with one key term swapped for a term of
    the same kind and form; each still reads as a sentence and none is reused within the
    batch. The false ones are the same sentence with its key term changed (one meaningful
    change a learner who understood the passage spots); failing that, other sentences of
    the material with one term changed."""
    variants = _variants(c, space, difficulty=difficulty, batch=batch)
    if variants is not None:
        false, where = variants, "the same sentence"
    else:
        false, sources = _false_statements(c, space, difficulty=difficulty, batch=batch)
        if len(false) < DISTRACTORS:
            return None
        batch.used_sources |= sources
        where = "another sentence of the material"
    true = as_sentence(c.sentence)
    options, correct = shuffled(
        [true, *(f[0] for f in false)], true, f"st:{c.passage.chunk_id}:{normalise(c.sentence)}"
    )
    notes = ". ".join(
        f"If you chose the one saying '{swapped}': the source says '{real}' there"
        for _, real, swapped, _ in false
    )
    why = (
        f"The chosen statement is what the source says ({pages_label(c.passage)}). Each of the "
        f"others is {where} with one term changed. {notes}."
    )
    closeness = sum(f[3] for f in false) / len(false)
    return Draft(
        type=QuestionType.MCQ,
        options=options,
        correct_index=correct,
        stem="Which statement matches the source? Each of the others changes one term.",
        explanation=why,
        **common_fields(
            c,
            answer=true,
            excerpt=c.sentence,
            topic=topic,
            form="statement",
            signal=signal_for(c, space, closeness),
        ),
    )


def list_cloze(
    c: Candidate, space: TermSpace, *, difficulty: int, topic: str | None, batch: Batch
) -> Draft | None:
    items = list_items(c.sentence, space.text)
    if items is None:
        return None
    stem_sentence = c.sentence
    for start, end, _ in reversed(items):
        stem_sentence = f"{stem_sentence[:start]}{BLANK}{stem_sentence[end:]}"
    answer = "; ".join(it for _, _, it in items)
    why = (
        f"The source ({pages_label(c.passage)}) lists these three in this order: "
        f"{', '.join(repr(it) for _, _, it in items)}."
    )
    signal = min(1.0, signal_for(c, space, 0.3) + 0.15)  # several terms to recall
    return Draft(
        type=QuestionType.CLOZE,
        stem=f"Fill in the blanks, in order: {stem_sentence}",
        explanation=why,
        **common_fields(
            c, answer=answer, excerpt=c.sentence, topic=topic, form="list", signal=signal
        ),
    )


_BUILDERS = {
    "term": term_mcq,
    "cloze": cloze,
    "definition": definition,
    "naming": naming,
    FLASHCARD_FORM: flashcard,
    "statement": statement,
    "list": list_cloze,
}


def build_draft(
    form: str,
    c: Candidate,
    space: TermSpace,
    *,
    difficulty: int,
    topic: str | None,
    batch: Batch | None = None,
) -> Draft | None:
    if form == "list" and not re.search(r",.*\b(and|or|und|oder|et|ou|y|o)\b", c.sentence):
        return None
    return _BUILDERS[form](
        c,
        space,
        difficulty=difficulty,
        topic=topic,
        batch=batch if batch is not None else Batch(),
    )
