"""The offline Socratic hint ladder: without a model the tutor cannot ask good questions of its
own, so it lets the learner work the answer out of their material in three steps, one per
learner turn: a gap in the key sentence, then the missing term (with the whole sentence), then
the passage it comes from. A right guess ends the ladder at once with the passage.

Pure functions over plain values; the service stores each step on the assistant message's
sentences (`hint`: the step, `term`, `key`: the whole sentence) so the next turn continues it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from engine.retrieval.lexical import lexical_tokens

STEPS = 3
BLANK = "_____"
_WORD = re.compile(r"[^\W\d_][\w\-]*[^\W_]|[^\W\d_]{2,}")


@dataclass(frozen=True)
class Cloze:
    text: str  # the key sentence with the term blanked
    term: str  # the blanked word or phrase as written
    key: str  # the whole sentence


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode() or text
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def make_cloze(sentence: str, question: str) -> Cloze | None:
    """Blank the sentence's most telling word that the question does not already give away
    (the longest content word not among the question's terms; capitalised and technical
    words are as good as any). None when no word qualifies."""
    asked = set(lexical_tokens(question))
    best: tuple[int, int, str] | None = None
    for position, m in enumerate(_WORD.finditer(sentence)):
        word = m.group(0)
        terms = lexical_tokens(word)
        if len(word) < 4 or not terms or set(terms) & asked:
            continue
        rank = (len(word), -position)
        if best is None or rank > best[:2]:
            best = (*rank, word)
    if best is None:
        return None
    term = best[2]
    text = re.sub(rf"(?<!\w){re.escape(term)}(?!\w)", BLANK, sentence, count=1)
    return Cloze(text=text, term=term, key=sentence)


def is_right(reply: str, term: str) -> bool:
    """Whether the learner's reply names the term (case, accents and a short inflection
    ending do not matter)."""
    wanted = _fold(term)
    if not wanted:
        return False
    for word in _fold(reply).split():
        short, long = sorted((word, wanted), key=len)
        if long.startswith(short) and len(long) - len(short) <= 2 and len(short) >= 3:
            return True
    return f" {wanted} " in f" {_fold(reply)} "
