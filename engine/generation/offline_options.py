"""Which terms a blank may ask about and which options it may offer: not the material's
subject or the name it is set in, no rival that fits as well, no term the material joins with
the key, none the passage uses beside the key's sentence (`term_options`)."""

from __future__ import annotations

import re
from collections.abc import Callable

from engine.generation.offline_common import Batch, Candidate
from engine.generation.offline_parts import DISTRACTORS, pick
from engine.generation.offline_rivals import rivals
from engine.generation.offline_terms import TermSpace
from engine.generation.offline_text import find_term

SUBJECT_SHARE = 0.08  # of all key-term mentions, the subject's at least


def _is_subject(c: Candidate, space: TermSpace) -> bool:
    """Whether the candidate's term is the material's most used one (its subject, as "TAM"
    of a review of TAM): a blank for it is answered without reading the sentence. An
    acronym and its expansion ("Technology Acceptance Model (TAM)") count as one term."""
    if not space.usage:
        space.usage.update({t.text.casefold(): t.count for t in space.terms})
        for acronym, expansion in _expansions(space.text).items():
            if acronym.casefold() in space.usage:
                space.usage[acronym.casefold()] += _mentions(expansion, space.text)
            if expansion.casefold() in space.usage:
                space.usage[expansion.casefold()] += _mentions(acronym, space.text)
    if c.term.kind in ("proper", "acronym") and _pervasive(c.term.text, space.text):
        return True  # "JavaScript" of a paper on a JavaScript engine: its setting
    counts = space.usage.most_common(2)
    mine = space.usage[c.term.text.casefold()]
    # Lecture notes on many topics have a most used term that is none of their subject
    # ("Funktion" 12 of 238 mentions; "TAM" 73 of 554, "trace" 98 of 707).
    share = mine / max(1, sum(space.usage.values()))
    return len(counts) > 1 and mine == counts[0][1] > counts[1][1] and share >= SUBJECT_SHARE


PERVASIVE_SHARE = 0.7  # of a material's tenths, the share a name of its setting is found in
_TENTHS = 10


def _pervasive(term: str, text: str) -> bool:
    """Whether a name is found all over the material (in most of its tenths): the setting of
    the whole document ("JavaScript" of a JavaScript engine's paper), which a learner gives
    for "In _____, ..." without reading the sentence."""
    n = len(text)
    if n < _TENTHS * 200:
        return False  # too short to tell a setting from a term used throughout
    pattern = re.compile(rf"(?<![\w-]){re.escape(term)}(?![\w-])", re.IGNORECASE)
    parts = (text[k * n // _TENTHS : (k + 1) * n // _TENTHS] for k in range(_TENTHS))
    return sum(bool(pattern.search(p)) for p in parts) >= PERVASIVE_SHARE * _TENTHS


def _mentions(term: str, text: str) -> int:
    return len(re.findall(rf"(?<![\w-]){re.escape(term)}(?![\w-])", text, re.IGNORECASE))


def _expansions(text: str) -> dict[str, str]:
    """Acronyms the material spells out ("Technology Acceptance Model (TAM)") -> expansion,
    the words before the parenthesis whose initials make the acronym (function words may
    stand between: "Theory of Reasoned Action (TRA)")."""
    out: dict[str, str] = {}
    for m in re.finditer(r"((?:[^\W\d_][\w-]*\s+){1,8})\(\s*([A-Z]{2,8})s?\s*\)", text):
        acronym, words = m.group(2), m.group(1).split()
        for k in range(len(acronym), len(words) + 1):
            phrase = words[-k:]
            if (
                "".join(w[0] for w in phrase if w[0].isupper()) == acronym
                and phrase[0][0].isupper()
            ):
                out.setdefault(acronym, " ".join(phrase))
                break
    return out


def _head_alone(term: str, space: TermSpace) -> bool:
    """Whether the last word of a multi-word term is a term of the material on its own
    ("recording" of "trace recording", "Array" of "interne Array"): typed alone in the
    blank, it would be as right as the key."""
    words = term.split()
    if len(words) < 2:
        return False
    head = words[-1].casefold()
    alone, inside = _mentions(head, space.text), _mentions(term, space.text)
    return space.index(head) is not None or alone - inside >= 3


def _rivals(c: Candidate, space: TermSpace, *, typed: bool = False) -> list[str]:
    m = find_term(c.term.text, c.sentence)
    return rivals(space, c.term.text, c.sentence, m, typed=typed) if m else []


def _joined(a: str, b: str, space: TermSpace) -> bool:
    """Whether the material joins the two into one of its terms ("trace recording" joins
    "Tracing" and "Recording"): then each names the act or thing the other does, and both
    would be defensible in the same blank."""
    stems = {a.casefold()[:4], b.casefold()[:4]}
    if len(stems) < 2:
        return False
    return any(
        {w[:4] for w in t.text.casefold().split()} == stems
        for t in space.terms
        if len(t.text.split()) == 2
    )


NEARBY_CHARS = 400  # around the key's sentence in its passage: a few sentences


def _nearby(term: str, c: Candidate) -> bool:
    """Whether the passage uses the term within a few sentences of the key's sentence: then
    it is about the same matter, and the sentence may be as true of it ("den Zeiger mit
    delete freigeben" beside "den Speicher ..." in notes on new and delete)."""
    opening = r"\W+".join(re.escape(w) for w in re.findall(r"\w+", c.sentence)[:6])
    found = re.search(opening, c.passage.text, re.IGNORECASE) if opening else None
    if found is None:
        return False
    start, end = found.start(), found.start() + len(c.sentence)
    window = c.passage.text[max(0, start - NEARBY_CHARS) : end + NEARBY_CHARS]
    return find_term(term, window) is not None


def term_options(
    c: Candidate,
    space: TermSpace,
    *,
    difficulty: int,
    batch: Batch,
    fits: Callable[[str, re.Match[str]], bool] | None = None,
) -> list[tuple[str, float]] | None:
    """Three wrong options for a blank on the candidate's term in its sentence, nearest in
    meaning first (or None when the blank may not be asked or too few are left): no rival,
    no term the material joins with the key, none the passage uses beside the sentence, none
    used before in the batch; with `fits`, only terms it accepts at the key's place. Rivals
    found are counted as `ambiguous_option`."""
    if _is_subject(c, space):
        return None
    m = find_term(c.term.text, c.sentence)
    if m is None:
        return None
    found = _rivals(c, space)
    if found:
        batch.reject("ambiguous_option")  # kept out of the options below
    number = space.slot_number(c.sentence, m)
    near = space.neighbours(c.term.text, avoid=c.sentence, hard=difficulty >= 3, number=number)
    if fits is not None:
        near = [(x, sim) for x, sim in near if fits(x, m)]
    joined = [x for x, _ in near if _joined(x, c.term.text, space)]
    beside = [x for x, _ in near if _nearby(x, c)]
    # A Spanish manual's terms are a few head nouns with their modifiers ("sistema", "sistema
    # Debian", "sistema APT"): three nearest of them are often nearly the same, and the lint
    # refused most term questions.
    distinct = space.language == "es"
    chosen = pick(near, batch, DISTRACTORS, avoid=[*found, *joined, *beside], distinct=distinct)
    return chosen if len(chosen) == DISTRACTORS else None
