"""The words a key term stands beside across the whole material, not only in the sampled
text its key terms come from: a term and a neighbour seen together this often make one fixed
phrase ("normative beliefs", "loop edges"), and a blank on one half would ask for half of it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable

COLLOCATION = 2  # a blank and its neighbour seen together this often are one phrase
_BEFORE = re.compile(r"([^\W\d_]+)[ \t\r\n]*$")
_AFTER = re.compile(r"[ \t\r\n]*([^\W\d_]+)")


def word_key(word: str) -> str:
    """A neighbour word as counted: case-folded, an English plural "-s" dropped, so "loop
    edge" and "loop edges" count as one phrase."""
    w = word.casefold()
    return w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w


def beside_counts(
    terms: Iterable[str], text: str, stop: Collection[str]
) -> dict[str, Counter[str]]:
    """Per term (case-folded), how often each content word stands right before it ("<word")
    and right after it (">word") in the text; line breaks count as spaces."""
    out: dict[str, Counter[str]] = {}
    for term in terms:
        words = r"\s+".join(re.escape(w) for w in term.split())
        found: Counter[str] = Counter()
        for m in re.finditer(rf"(?<![\w-]){words}(?![\w-])", text, re.IGNORECASE):
            before = _BEFORE.search(text, max(0, m.start() - 60), m.start())
            after = _AFTER.match(text, m.end(), m.end() + 60)
            for side, hit in (("<", before), (">", after)):
                if hit and _content(hit.group(1), text[: hit.start(1)], stop):
                    found[side + word_key(hit.group(1))] += 1
        out[term.casefold()] = found
    return out


def _content(word: str, before: str, stop: Collection[str]) -> bool:
    """Whether a neighbour counts as part of a phrase: a content word, or a capitalised one
    inside a sentence even when the stop list holds it ("Corresponding Source")."""
    if word.casefold() not in stop:
        return True
    return word[:1].isupper() and re.search(r"[\w,;][ \t\r\n]+$", before[-4:]) is not None


def beside_words(before: str, after: str, stop: Collection[str]) -> tuple[str, str]:
    """The words right before and right after a blank (the text before and after it) that
    may make a phrase with it, as `beside_counts` counts them ("" for none)."""
    prev = _BEFORE.search(before)
    nxt = _AFTER.match(after)
    return (
        prev.group(1) if prev and _content(prev.group(1), before[: prev.start(1)], stop) else "",
        nxt.group(1) if nxt and _content(nxt.group(1), "x ", stop) else "",
    )


def fixed_with(counts: dict[str, Counter[str]], term: str, *, before: str, after: str) -> bool:
    """Whether the material writes the term with the word before or after it (either may be
    "") at least `COLLOCATION` times: one fixed phrase, of which the term is only half."""
    seen = counts.get(term.casefold())
    if not seen:
        return False
    return any(
        word and seen[side + word_key(word)] >= COLLOCATION
        for side, word in (("<", before), (">", after))
    )
