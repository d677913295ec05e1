"""Which other key terms of a material would fill a blank as well (`rivals`): terms seen
beside the same words as the blank's neighbours, near-synonyms, and terms near in meaning that
the material uses among the same words. A blank with a rival is ambiguous."""

from __future__ import annotations

import re

from engine.domain import language as lang_
from engine.generation.offline_keyterms import KeyTerm
from engine.generation.offline_terms import TermSpace
from engine.generation.offline_text import find_term, is_plural
from engine.generation.validation import content_words

RIVAL_SIM = 0.6  # embedding similarity above which a term seen in the same slot fits as well
CLOSE_SIM = 0.75  # so close in meaning that it fits any slot the answer fits (near-synonyms)
# Near in meaning and used among the same words ("user" for "person"): fits wherever the
# answer does, though never seen in this very slot.
KIN_SIM, KIN_CONTEXTS = 0.5, 2
_CONTEXT = 3  # words either side of a term that count as its context
# Content words of the blank's sentence that the material uses around both the key and
# another term: that term reads as true in the sentence too.
SLOT_SHARED = 2
# A modifier the material puts before this many different words opens no fixed term
# ("particular system", "particular technology", "particular application").
FREE_MODIFIER = 3


def _contexts(space: TermSpace, term: str) -> tuple[set[str], set[str]]:
    """The content words seen within `_CONTEXT` words before and after the term in the
    material (cached on the space)."""
    key = term.casefold()
    if key not in space.contexts:
        stop = lang_.stopwords(space.language)
        before: set[str] = set()
        after: set[str] = set()
        for m in re.finditer(rf"(?<![\w-]){re.escape(term)}(?![\w-])", space.text, re.IGNORECASE):
            left = re.findall(r"[^\W\d_]+", space.text[max(0, m.start() - 60) : m.start()])
            right = re.findall(r"[^\W\d_]+", space.text[m.end() : m.end() + 60])
            before |= {w.casefold() for w in left[-_CONTEXT:] if w.casefold() not in stop}
            after |= {w.casefold() for w in right[:_CONTEXT] if w.casefold() not in stop}
        space.contexts[key] = (before, after)
    return space.contexts[key]


_INFLECTIONS = frozenset("s es e en n er ern nen".split())


def _inflected(a: str, b: str) -> bool:
    """Whether one term is the other with a plural ending ("Funktion"/"Funktionen",
    "Speicherzelle"/"Speicherzellen"): the same noun in another number, not another answer."""
    a, b = sorted((a.casefold(), b.casefold()), key=len)
    return b.startswith(a) and b[len(a) :] in _INFLECTIONS


def _shared_words(space: TermSpace, a: str, b: str) -> set[str]:
    """The content words the material uses around both terms ("attitude", "system" around
    "person" and "user"): terms of one kind used alike."""
    a_before, a_after = _contexts(space, a)
    b_before, b_after = _contexts(space, b)
    return _singulars(a_before | a_after) & _singulars(b_before | b_after)


def _singulars(words: set[str]) -> set[str]:
    """The words without a plural "-s" ("traces" and "trace" count as one word)."""
    return {w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words}


def _shared_contexts(space: TermSpace, a: str, b: str) -> int:
    return len(_shared_words(space, a, b))


def _slot_words(sentence: str, m: re.Match[str], stop: frozenset[str]) -> set[str]:
    """The content words of the blank's sentence, the blank itself left out."""
    rest = f"{sentence[: m.start()]} {sentence[m.end() :]}"
    return _singulars({w.casefold() for w in re.findall(r"[^\W\d_]{3,}", rest)} - stop)


def rivals(
    space: TermSpace, term: str, sentence: str, m: re.Match[str], *, typed: bool = False
) -> list[str]:
    """Other key terms that would fill this blank as well: seen in the material beside the
    same words as the blank's neighbours (both sides, or one side and close in meaning).

    This measures "another answer fits": a learner who writes or picks one of these has a
    defensible answer, so the blank is ambiguous. A `typed` answer is not steered by options:
    there any term near in meaning that the material uses among the same words counts
    ("restrictions" typed for "conditions").
    """
    i = space.index(term)
    if i is None:
        return []
    stop = lang_.stopwords(space.language)
    left = [
        w.casefold()
        for w in re.findall(r"[^\W\d_]+", sentence[: m.start()])
        if w.casefold() not in stop
    ][-1:]
    right = [
        w.casefold()
        # After a possessive ("a _____'s belief") the next word is the neighbour, not "s".
        for w in re.findall(r"[^\W\d_]+", re.sub(r"^['\u2019]s\b", "", sentence[m.end() :]))
        if w.casefold() not in stop
    ][:1]
    sims = space.similarities(i)
    me = space.terms[i]
    slot = _slot_words(sentence, m, stop)
    out = []
    for j, t in enumerate(space.terms):
        if j == i or t.kind != me.kind or content_words(t.text) & content_words(me.text):
            continue
        if is_plural(t.text) != is_plural(me.text) or find_term(t.text, sentence):
            continue
        if _inflected(t.text, me.text):
            continue  # "Funktionen" for "Funktion": the same noun, its number never fits
        before, after = _contexts(space, t.text)
        hit_left = bool(left) and left[0] in before
        hit_right = bool(right) and right[0] in after
        shared_words = _shared_words(space, t.text, me.text)
        shared = len(shared_words)
        # Used beside the same words of this very sentence as the key ("programs" and "loops"
        # both beside "native code" for "Most _____ where the VM spends its time running
        # native code"): the sentence reads as true of either.
        same_slot = len(shared_words & slot) >= SLOT_SHARED
        if (
            same_slot
            or (hit_left and hit_right)
            or ((hit_left or hit_right) and sims[j] >= RIVAL_SIM)
            or (space.vectors is not None and sims[j] >= CLOSE_SIM)
            or (space.vectors is not None and sims[j] >= KIN_SIM and shared >= KIN_CONTEXTS)
            or (typed and space.vectors is not None and sims[j] >= KIN_SIM and shared >= 1)
        ):
            out.append(t.text)
    return out + _kinds_of(space, out, me) + _genus(space, me, stop)


def _genus(space: TermSpace, me: KeyTerm, stop: frozenset[str]) -> list[str]:
    """The kind the material's definition of the term names, when it is a key term too
    ("function" of "A method is a function that ..."): whatever is said of a method is said
    of a function too, so it fits the blank as well."""
    definition = space.definitions.get(me.text.casefold())
    if not definition:
        return []
    head: list[str] = []
    for word in re.findall(r"[^\W\d_][\w-]*", definition)[1:]:  # after the determiner
        if word.casefold() in stop:
            break
        head.append(word)
    genus = head[-1] if head else ""
    if not genus or genus.casefold() in {w.casefold() for w in me.text.split()}:
        return []
    # A key term of the material: a learner who studied it has the word at hand.
    return [genus] if space.index(genus) is not None else []


def _kinds_of(space: TermSpace, found: list[str], me: KeyTerm) -> list[str]:
    """Key terms that name a kind of a rival ("outer loops" of "loops"): they fit wherever
    the rival does."""
    heads = {_singulars({r.casefold()}).pop() for r in found if len(r.split()) == 1}
    return [
        t.text
        for t in space.terms
        if len(t.text.split()) > 1
        and t.text not in found
        and _singulars({t.text.split()[-1].casefold()}).pop() in heads
        and is_plural(t.text) == is_plural(me.text)
    ]


def distinctive(term: KeyTerm, space: TermSpace) -> bool:
    """Whether a typed answer can be checked against the key alone: the key is a term of the
    material's own (one it defines, an acronym it never spells out, a name, a fixed phrase
    of several words), not a common word or a free adjective with a noun, whose synonyms
    ("technology" for "system", "restrictions" for "conditions") are just as right though
    the material may never use them as its key terms."""
    if term.text.casefold() in space.definitions:
        return True
    if term.kind == "acronym" or (term.text.isupper() and len(term.text) > 1):
        # "GPL" typed where "GNU General Public License" or "License" is as right.
        return not _spelled_out(term.text, space.text)
    words = term.text.split()
    if len(words) == 1:
        # A German noun alone ("Implementation") has synonyms ("Implementierung") as right.
        return space.language != "de" and (term.kind == "proper" or _name(term.text, space.text))
    first = words[0]
    if first.casefold().endswith("ly"):
        return False  # an adverb: "_____" reads as a manner, not a term
    return not _free_modifier(first, space)


def _spelled_out(acronym: str, text: str) -> bool:
    """Whether the material writes the acronym's words out ("GNU General Public License
    (GPL)", or the words whose initials make it)."""
    letters = acronym.casefold()
    words = r"\s+".join(rf"{c}[\w-]*" for c in acronym)
    if re.search(rf"(?<![\w-]){words}(?![\w-])", text):
        return True  # "General Public License" for "GPL"
    for m in re.finditer(r"((?:[^\W\d_][\w-]*\s+){1,8})\(\s*" + re.escape(acronym), text):
        initials = "".join(w[0] for w in m.group(1).split() if w[:1].isupper()).casefold()
        if initials.endswith(letters):
            return True
    return False


def _name(word: str, text: str) -> bool:
    """A word the material always writes with a capital, also inside sentences ("the
    Senate", "the Colosseum"): a name, which no synonym replaces."""
    found = re.findall(rf"(?<=[\w,;] ){re.escape(word)}(?![\w-])", text, re.IGNORECASE)
    return bool(found) and all(f[:1].isupper() for f in found)


# Determiners before a noun standing alone ("the trace is", "a system."), per language.
_DETERMINERS = frozenset(
    """a an the this that these those each every its their our der die das den dem des ein
eine einen einem einer le la les un une ce cette ces el los las una este esta""".split()
)


def _free_modifier(word: str, space: TermSpace) -> bool:
    """A word the material puts before many different content words and never uses as a
    noun of its own (after a determiner and before a function word or punctuation): an
    adjective used freely ("a particular system", "a particular technology"), not half of
    one fixed term nor a noun ("trace" of "trace tree": "the trace is")."""
    stop = lang_.stopwords(space.language)
    w = re.escape(word)
    alone = rf"(?<![\w-])(\w+)\s+{w}(?:\s+(\w+)|\s*[^\w\s-]|\s*$)"
    for det, nxt in re.findall(alone, space.text, re.IGNORECASE):
        if det.casefold() in _DETERMINERS and (not nxt or nxt.casefold() in stop):
            return False  # "the trace is": a noun
    after = re.findall(rf"(?<![\w-]){w}\s+([^\W\d_]+)", space.text, re.IGNORECASE)
    return len({a.casefold() for a in after if a.casefold() not in stop}) >= FREE_MODIFIER
