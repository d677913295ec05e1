"""Where a material's text layer is layout, not prose: lines of a table or of a figure's labels,
and the short line that ends a bullet item whose glyph the text layer lost. Key terms are never
taken from such lines, and no candidate sentence runs across them."""

from __future__ import annotations

import re

from engine.domain import language as lang_

_WORD = re.compile(r"[^\W\d_][\w'\u2019-]*")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)?%?(?!\w)")
# A line this much shorter than its paragraph's usual line ends its unit (an item or a
# paragraph): wrapped prose fills the line up to its last one.
SHORT_LINE = 0.65


def table_line(line: str, lang: str = "en") -> bool:
    """Whether the line is a row of a table or a figure's labels rather than prose: a row of
    figures, or a run of capitalised words ("Normative Beliefs and Subjective Norms
    Intention Behavior") with no lower-case word but function words, no punctuation and no
    sentence end. Two cells of such a line read as one phrase that no one wrote."""
    s = line.strip()
    words = _WORD.findall(s)
    numbers = _NUMBER.findall(s)
    if len(numbers) >= 3 and len(numbers) >= len(words):
        return True  # "0.87 0.91 0.79 Yes"
    if not s[:1].isupper() or s[-1:] in ".!?;:," or re.search(r"[,()\[\]]", s):
        return False
    stop = lang_.stopwords(lang)
    content = [w for w in words if w.casefold() not in stop]
    # German capitalises every noun: a line of nouns alone is a label only when long enough
    # to leave no room for a verb.
    least = 3 if lang == "de" else 2
    return len(content) >= least and all(w[:1].isupper() for w in content)


# Articles and determiners: one written with a capital inside a sentence begins another one
# (a heading or another item glued on: "Preamble The GNU General Public License is ...").
_OPENERS = {
    "en": "the an this these those",
    "de": "der die das den dem des ein eine einer einem einen eines",
    "fr": "le la les un une des ce cette ces",
    "es": "el la los las un una unos unas este esta estos estas",
}
_GOES_ON = frozenset(
    " ".join(_OPENERS.values()).split()
    + """a and or of to in for with by from on at und oder von zu mit für bei auf aus nach
et ou de du à en avec pour par y o del con por para""".split()
)
_OPENER_SETS = {lang: frozenset(words.split()) for lang, words in _OPENERS.items()}


def restarts(words: list[str], lang: str = "en") -> bool:
    """Whether a capitalised article stands inside the sentence where no punctuation opens
    a quote, a title or a clause before it: a line glued on (a heading, a bullet item)
    begins there, so the two read as one sentence no one wrote."""
    openers = _OPENER_SETS.get(lang, _OPENER_SETS["en"])
    for before, word in zip(words, words[1:], strict=False):
        bare = word.rstrip(",;:")
        if (
            bare[:1].isupper()
            and bare.casefold() in openers
            and not bare.isupper()
            and before[-1:] not in ".:;!?\"'(\u201c\u201d\u201e\u2018\u2019"
        ):
            return True
    return False


def units(lines: list[str], lang: str = "en") -> list[list[str]]:
    """The lines of one paragraph cut into units no sentence runs across: a table or label
    line stands alone (and is left out), and a line much shorter than the paragraph's usual
    one ends its unit (the text layer of lecture notes glues one bullet item's last line to
    the next item: "... verwendbar ist" / "erweitert funktionale ...")."""
    lengths = [len(ln.strip()) for ln in lines]
    # The paragraph's full line: most lines reach it (an overlong glued line does not count).
    usual = sorted(lengths)[round(0.75 * (len(lines) - 1))] if len(lines) >= 2 else 0
    out: list[list[str]] = []
    current: list[str] = []
    goes_on = False  # the line before ends in an article or joining word: this one goes on
    for ln, n in zip(lines, lengths, strict=True):
        tail = ln.split()[-1].casefold() if ln.split() else ""
        # A line ending in an article or a joining word ("... und der") goes on, however short.
        short = n < SHORT_LINE * usual and not tail.endswith("-") and tail not in _GOES_ON
        continued = goes_on and bool(current)
        goes_on = tail.endswith("-") or tail in _GOES_ON
        if table_line(ln, lang) or (short and _label(ln) and not continued):
            # A label ("Adressen und Zeiger") stands alone, never as a sentence's end.
            if current:
                out.append(current)
            current = []
            continue
        current.append(ln)
        if short:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def _label(line: str) -> bool:
    """A short line that starts with a capital and ends without a sentence end: a heading
    or label, not the last line of a sentence."""
    s = line.strip()
    return s[:1].isupper() and s[-1:] not in ".!?:;,"


def prose_text(text: str, lang: str = "en") -> str:
    """The text with its table and label lines replaced by paragraph breaks, so no key term
    is taken from them and no phrase joins two cells."""
    kept = ["" if table_line(ln, lang) else ln for ln in text.split("\n")]
    return "\n".join(kept)
