"""Question lint: checks that a question is worth asking, beyond its shape (see validation).

Each rule is a small pure function returning True when the question breaks it. `lint` runs
them all and returns the names of the broken rules. The offline generator drops a draft that
breaks any rule; `bench.question_quality` reports the pass rate.

Rules:
- `stem_not_sentence`: the stem, or the source sentence it asks about, is not one complete
  sentence of at least 8 words;
- `marker`: a heading number, figure/table/equation/section reference or citation marker in
  the stem or an option;
- `answer_leaked`: a content word of the answer appears elsewhere in the stem;
- `options_not_distinct`: two options are the same or nearly the same;
- `options_mixed_kind`: options of different kinds (acronym, number, phrase, sentence) or
  very different lengths;
- `author_name`: an option is a name of an author or an affiliation;
- `excerpt_not_verbatim`: the quoted excerpt is not in the source text;
- `mangled_text`: the stem or an option holds an abbreviation the PDF's text layer mangled
  ("d-h-" for "d.h.", "e-g-" for "e.g."), which no learner reads as a word.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from rapidfuzz import fuzz

from engine.domain.vocabulary import FLASHCARD_FORM
from engine.generation.drafts import BLANK, Draft
from engine.generation.validation import normalise

MIN_STEM_WORDS = 8

_MARKER = re.compile(
    r"\b(fig(ure)?s?|tab(le)?s?|eq(uation)?s?|sec(tion)?s?|alg(orithm)?s?|listing|appendix|"
    r"chapter|lemma|theorem|definition)\.?\s*\(?\d"
    r"|\[\s*\d+(\s*[,–-]\s*\d+)*\s*\]"  # [12], [3, 4]
    r"|\(\s*\d{1,3}\s*\)"  # (11): an equation or list marker
    r"|\bet\s+al\b"
    r"|^\s*\d{1,2}(\.\d{1,2})+\s"  # a numbered heading glued to the sentence
    r"|https?://|www\.|\S+@\S+\.\w+",
    re.IGNORECASE,
)
# Single letters joined by hyphens and ending in one ("d-h-", "z-B-", "e-g-"): dots of an
# abbreviation the text layer turned into hyphens. A real compound ("x-y", "C-like") never
# ends in a hyphen after a single letter.
_MANGLED = re.compile(r"(?<![\w-])(?:[^\W\d_]-){2,}(?![\w-])")
_AFFILIATION = re.compile(
    r"\b(university|universit[äé]|college|institute|corporation|corp|inc|ltd|gmbh|laborator(y|ies)"
    r"|department|dept|school of|faculty)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
_SMALL = frozenset(
    """a an and are as at be by for from has have in is it its of on or that the
to was were which with not this these those their can may will into than then also such""".split()
)


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _stem_prefix(word: str) -> str:
    """A crude stem: the first five letters, so 'specialized'/'specialization' match."""
    return word.casefold()[:5]


def _core_sentence(draft: Draft) -> str:
    """The sentence the question is built on: the stem's quoted or trailing sentence."""
    stem = draft.stem
    quoted = re.search(r"\u201c(.+)\u201d", stem, re.DOTALL)
    if quoted:
        return quoted.group(1)
    if ":" in stem and BLANK in stem:
        return stem.split(":", 1)[1]
    return stem


def stem_not_sentence(draft: Draft) -> bool:
    """The stem's sentence is not one complete sentence; nor is the excerpt (which may lack
    its full stop: a bullet item of lecture notes, quoted as written)."""
    for text in (_core_sentence(draft), draft.excerpt):
        text = text.strip()
        if len(_words(text.replace(BLANK, "x"))) < MIN_STEM_WORDS:
            return True
        if not text[:1].isupper() and not text[:1].isdigit() and not text.startswith(BLANK):
            return True
        if text[-1:] not in ".!?" and (text is not draft.excerpt or not text[-1:].isalpha()):
            return True
    return False


def has_marker(text: str) -> bool:
    return bool(_MARKER.search(text))


def has_mangled(text: str) -> bool:
    return bool(_MANGLED.search(text))


def mangled_text(draft: Draft) -> bool:
    return any(has_mangled(t) for t in (draft.stem, draft.excerpt, *(draft.options or [])))


def marker(draft: Draft) -> bool:
    return any(has_marker(t) for t in (_core_sentence(draft), *(draft.options or [])))


def _answers(draft: Draft) -> list[str]:
    return (
        [a.strip() for a in draft.answer.split(";") if a.strip()]
        if draft.form == "list"
        else [draft.answer]
    )


def answer_leaked(draft: Draft) -> bool:
    """A content word of an answer term appears in the stem outside its blank."""
    if draft.form in ("statement", FLASHCARD_FORM):
        return False  # a flashcard's back is the sentence defining the term on its front
    if draft.form == "definition":
        # The correct definition must not name the term it defines.
        term = draft.stem
        m = re.search(r"What (?:is|are) (.+?)\?", term)
        if not m or draft.options is None or draft.correct_index is None:
            return False
        keys = {
            _stem_prefix(w)
            for w in _words(m.group(1))
            if len(w) >= 4 and w.casefold() not in _SMALL
        }
        option = draft.options[draft.correct_index]
        return any(_stem_prefix(w) in keys for w in _words(option))
    rest = _core_sentence(draft).replace(BLANK, " ")
    rest_keys = {_stem_prefix(w) for w in _words(rest)}
    for answer in _answers(draft):
        keys = {
            _stem_prefix(w)
            for w in _words(answer)
            # An acronym leaks however short ("from _____ and ... from UTC").
            if (len(w) >= 4 or (len(w) >= 2 and w.isupper())) and w.casefold() not in _SMALL
        }
        if keys & rest_keys:
            return True
    return False


def options_not_distinct(draft: Draft) -> bool:
    options = [normalise(o) for o in draft.options or []]
    return any(nearly_same(a, b) for i, a in enumerate(options) for b in options[i + 1 :])


def nearly_same(a: str, b: str) -> bool:
    """Whether two normalised options are the same or nearly ("sistema" and "sistema Debian",
    "paquete" and "paquetes"): side by side, one gives the other away."""
    if a == b or fuzz.ratio(a, b) >= 85:
        return True
    return len(a) < 40 and len(b) < 40 and (f" {a} " in f" {b} " or f" {b} " in f" {a} ")


def option_kind(option: str) -> str:
    """'sentence', 'number', 'acronym' or 'phrase'."""
    words = option.split()
    if len(words) > 6:
        return "sentence"
    if re.fullmatch(r"[\d.,%\s-]+", option):
        return "number"
    if len(words) == 1 and len(option) <= 8 and option.isupper():
        return "acronym"
    return "phrase"


def options_mixed_kind(draft: Draft) -> bool:
    options = draft.options or []
    if len(options) < 2:
        return False
    if len({option_kind(o) for o in options}) > 1:
        return True
    lengths = [len(o) for o in options]
    if option_kind(options[0]) == "sentence":
        return max(lengths) > 3 * min(lengths)
    counts = [len(o.split()) for o in options]
    return max(counts) - min(counts) > 2 or max(lengths) > 4 * min(lengths)


def author_name(draft: Draft, names: Collection[str]) -> bool:
    """An option (or typed answer) that is an author's name or an affiliation."""
    folded = {n.casefold() for n in names}
    for option in [*(draft.options or []), *_answers(draft)]:
        if option_kind(option) == "sentence":
            continue
        if _AFFILIATION.search(option):
            return True
        words = [w.casefold() for w in _words(option)]
        if words and any(w in folded for w in words) and option[:1].isupper():
            return True
    return False


def excerpt_not_verbatim(draft: Draft, source: str) -> bool:
    return normalise(draft.excerpt) not in normalise(source)


def lint(draft: Draft, *, source: str, names: Collection[str] = ()) -> list[str]:
    """The names of the rules this question breaks (empty: it passes)."""
    broken = []
    checks = {
        "stem_not_sentence": lambda: stem_not_sentence(draft),
        "marker": lambda: marker(draft),
        "answer_leaked": lambda: answer_leaked(draft),
        "options_not_distinct": lambda: options_not_distinct(draft),
        "options_mixed_kind": lambda: options_mixed_kind(draft),
        "author_name": lambda: author_name(draft, names),
        "excerpt_not_verbatim": lambda: excerpt_not_verbatim(draft, source),
        "mangled_text": lambda: mangled_text(draft),
    }
    for name, check in checks.items():
        if check():
            broken.append(name)
    return broken
