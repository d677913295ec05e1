"""The language of a text and what the offline pipeline needs to know about it: pure functions.

- `detect_language(text)`: an ISO 639-1 code ('en', 'de', ...), or `UNKNOWN` for too little
  text. The model is py3langid's, shipped inside its pip package (no download, deterministic).
- `page_languages(pages)`: each page's language and the material's main one.
- `stopwords(lang)`: function words (articles, pronouns, prepositions, auxiliaries,
  conjunctions) that are never a key term, a blank or an option.
- `split_sentences(text, lang)`: sentences, not cut after abbreviations ("e.g.", "bzgl.",
  "z. B.", "p. ex.", "p. ej.") or ordinals ("3. Kapitel").
- `stemmer_name(lang)`: the Snowball stemmer for BM25.

English, German, French and Spanish are first-class (`SUPPORTED`): the offline generator makes
questions only in these.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

SUPPORTED = ("en", "de", "fr", "es")
UNKNOWN = "und"  # ISO 639-2 "undetermined": too little text to tell
NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "pt": "Portuguese",
    "pl": "Polish",
    "ru": "Russian",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "ar": "Arabic",
    "he": "Hebrew",
    "sv": "Swedish",
    "da": "Danish",
    "no": "Norwegian",
    "fi": "Finnish",
    "cs": "Czech",
    "tr": "Turkish",
    "el": "Greek",
    "hu": "Hungarian",
    "ro": "Romanian",
    "uk": "Ukrainian",
    "la": "Latin",
    UNKNOWN: "undetermined",
}
MIN_LETTERS = 60  # fewer letters than this: the language is not told
PAGE_MIN_LETTERS = 300  # a page in another language than the material needs this much prose
# A page in a language without a function-word list here counts as such only when under this
# share of its words are function words of the material's language (prose has 30-50%).
FOREIGN_SHARE = 0.08
# Even a list of names and affiliations in a first-class language has this share of its
# function words ("of", "at"); text in another language has (almost) none of them.
PROSE_SHARE = 0.1
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_MATHS_OR_CODE = re.compile(r"[^\w\s.,;:!?'\"()\u2019\u201c\u201d\u201e\u00ab\u00bb-]+")

_STEMMERS = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "nl": "dutch",
    "pt": "portuguese",
    "sv": "swedish",
    "da": "danish",
    "no": "norwegian",
    "fi": "finnish",
    "ru": "russian",
    "tr": "turkish",
    "hu": "hungarian",
    "ro": "romanian",
    "el": "greek",
}

# Function words yake's lists miss, or that matter most as blanks (kept short: the lists below
# are added to yake's stop-word files for the language).
_EXTRA_STOP = {
    "en": """a an and are as at be been being but by can could did do does for from had has
        have he her his i if in into is it its may might must not of on or our shall she should
        so such than that the their them then there these they this those to us was we were what
        when where which while who whom whose why will with would you your also both each either
        neither nor only very""",
    "de": """der die das den dem des ein eine einer einem einen eines und oder aber doch sondern
        denn weil dass ob wenn als wie so auch nur noch schon nicht kein keine keinen keinem
        keiner ist sind war waren sein wird werden wurde wurden hat haben hatte hatten kann
        können muss müssen soll sollen darf dürfen mag will wollen in im an am auf aus bei bis
        durch für gegen mit nach ohne seit über um unter von vom vor zu zum zur zwischen er sie
        es wir ihr ich du man sich dies diese dieser dieses diesem diesen jede jeder jedes jeden
        welche welcher welches alle allen aller bzgl bzw usw dabei dazu damit daher hier dort
        jetzt dann also sowie etwa ggf evtl gleich""",
    "fr": """le la les l un une des du de d et ou mais donc or ni car que qu qui quoi dont où
        ce cet cette ces se sa son ses leur leurs il elle ils elles on nous vous je tu est sont
        était être a ont avait avoir sera peut doit dans en sur sous par pour avec sans entre
        vers chez au aux ne pas plus moins très aussi comme si""",
    "es": """el la los las un una unos unas lo de del al y e o u pero sino que quien cual cuyo
        cuya cuyos cuyas
        donde como cuando si no ni se su sus le les él ella ellos ellas nosotros usted es son
        era fue ser estar está están ha han hay puede debe en con por para sin sobre entre
        hasta desde hacia muy más menos también este esta estos estas ese esa""",
}

# Abbreviations after which a full stop does not end the sentence (lower-cased, without the
# final dot; "z. B." is matched with its inner space).
_ABBREVIATIONS = {
    "en": "e.g|i.e|etc|cf|vs|al|fig|figs|eq|eqs|sec|no|nos|vol|pp|ch|approx|resp|dr|mr|mrs|ms|"
    "prof|st|jr|sr|inc|ltd|co|dept|art|para",
    "de": "z.b|z. b|d.h|d. h|u.a|u. a|bzgl|bzw|usw|ggf|evtl|vgl|sog|ca|inkl|insb|etc|abb|tab|"
    "kap|nr|dr|prof|o.ä|o. ä|u.ä|u. ä|z.t|z. t|i.a|i. a|allg|bspw|ff|mind|s",
    "fr": "p.ex|p. ex|c.-à-d|c.à.d|cf|etc|fig|éd|vol|chap|env|av|apr|mme|mlle|m|dr|pr|art",
    "es": "p.ej|p. ej|ej|etc|cf|fig|vol|cap|núm|pág|págs|sr|sra|dr|dra|art|aprox",
}


# --- detection -------------------------------------------------------------------------------


def _prose(text: str) -> str:
    """Words only: formulas, code and numbers tell nothing about the language."""
    return " ".join(_MATHS_OR_CODE.sub(" ", text).split())


def detect_language(text: str, *, min_letters: int = MIN_LETTERS) -> str:
    """The text's language as an ISO 639-1 code, `UNKNOWN` when it has fewer letters than
    `min_letters` (short texts are often told wrong)."""
    prose = _prose(text)[:20_000]
    if len(_LETTER.findall(prose)) < min_letters:
        return UNKNOWN
    import py3langid  # deferred: loading its model takes ~0.3 s

    lang, _score = py3langid.classify(prose)
    return str(lang)


def page_languages(pages: Sequence[str]) -> tuple[str, list[str]]:
    """(the material's language, each page's language).

    The material's language is the one most of its text is in. A page is said to be in
    another language only when it has enough prose (`PAGE_MIN_LETTERS`) and more of that
    language's function words than of the material's (code or formulas alone mislead the
    detector); otherwise, and for pages with too little text, it takes the material's.
    """
    per_page = [_checked(detect_language(p), p) for p in pages]
    weight: Counter[str] = Counter()
    for lang, page in zip(per_page, pages, strict=True):
        if lang != UNKNOWN:
            weight[lang] += len(page)
    main = weight.most_common(1)[0][0] if weight else UNKNOWN
    return main, [
        page_language(page, main, detected=lang) for lang, page in zip(per_page, pages, strict=True)
    ]


def _checked(lang: str, text: str) -> str:
    """The detector's answer, unless it names a language without a function-word list here
    while the text is full of one first-class language's function words (the detector's
    rarer languages, such as Nigerian Pidgin for English, are its usual mistakes)."""
    if lang in NAMES:  # the widely used languages it tells reliably
        return lang
    shares = {code: _function_share(text, code) for code in SUPPORTED}
    best = max(shares, key=lambda code: shares[code])
    return best if shares[best] >= PROSE_SHARE else lang


def page_language(page: str, main: str, *, detected: str | None = None) -> str:
    """A page's language in a material whose main language is `main` (see `page_languages`)."""
    lang = _checked(detect_language(page), page) if detected is None else detected
    if main == UNKNOWN:
        return lang
    if lang in (UNKNOWN, main) or len(_LETTER.findall(page)) < PAGE_MIN_LETTERS:
        return main
    if lang in _EXTRA_STOP:
        return lang if _function_share(page, lang) > _function_share(page, main) else main
    return lang if _function_share(page, main) < FOREIGN_SHARE else main


def _function_share(text: str, lang: str) -> float:
    words = re.findall(r"[^\W\d_]+", text.casefold())
    stop = stopwords(lang)
    return sum(w in stop for w in words) / max(1, len(words))


def is_supported(lang: str | None) -> bool:
    """Whether the offline question generator handles this language."""
    return lang in SUPPORTED


def language_name(lang: str | None) -> str:
    return NAMES.get(lang or UNKNOWN, lang or NAMES[UNKNOWN])


# --- function words, stemming ------------------------------------------------------------------


@lru_cache(maxsize=16)
def stopwords(lang: str) -> frozenset[str]:
    """Lower-cased function words of the language (English's for an unsupported one)."""
    lang = lang if lang in _EXTRA_STOP else "en"
    words = set(_EXTRA_STOP[lang].split())
    import yake  # its stop-word lists ship in the package

    path = Path(yake.__file__).parent / "core" / "StopwordsList" / f"stopwords_{lang}.txt"
    if path.exists():
        words.update(
            w.strip().casefold() for w in path.read_text(encoding="utf-8", errors="ignore").split()
        )
    return frozenset(w for w in words if w)


def stemmer_name(lang: str | None) -> str:
    """The Snowball (PyStemmer) algorithm for the language; English for one it lacks."""
    return _STEMMERS.get(lang or "en", "english")


# --- sentences -----------------------------------------------------------------------------------

_END = re.compile(r"(?<=[.!?])[\"'\u201d\u00bb)]*\s+(?=[\"'(\[\u201c\u201e\u00ab]?[^\W\d_])")


# A paragraph number between two sentences ("... on appeal. 8. The court ..."), or at the start.
_PARAGRAPH_NUMBER = re.compile(r"(?:(?<=[.!?])|^)\s*(?:\d{1,3}\.|\[\d{1,3}\])(?=\s+[^\W\d_])")


@lru_cache(maxsize=16)
def _abbreviation_tails(lang: str) -> tuple[str, ...]:
    items = set(_ABBREVIATIONS.get(lang, "").split("|")) | {"e.g", "i.e", "etc", "cf"}
    return tuple(sorted((i for i in items if i), key=len, reverse=True))


def ends_with_abbreviation(before: str, lang: str) -> bool:
    """Whether the text before a full stop ends with an abbreviation or an ordinal number."""
    tail = before[-12:].casefold()
    if not tail.endswith("."):
        return False
    body = tail[:-1]
    for abbr in _abbreviation_tails(lang):
        abbr = abbr.rstrip(".")
        if body.endswith(abbr) and (len(body) == len(abbr) or not body[-len(abbr) - 1].isalnum()):
            return True
    # A single letter ("A. Turing") or, in German, an ordinal ("3. Kapitel") is no sentence end.
    if re.search(r"(?:^|\s)[^\W\d_]$", body):
        return True
    return lang == "de" and bool(re.search(r"(?:^|\s)\d{1,2}$", body))


def split_sentences(text: str, lang: str = "en") -> list[str]:
    """The sentences of a passage of prose, in order, whitespace collapsed."""
    text = _PARAGRAPH_NUMBER.sub(" ", " ".join(text.split()))
    if not text:
        return []
    out: list[str] = []
    start = 0
    for m in _END.finditer(text):
        if ends_with_abbreviation(text[start : m.start()].rstrip("\"'\u201d\u00bb)"), lang):
            continue
        piece = text[start : m.start()].strip()
        if piece:
            out.append(piece)
        start = m.end()
    last = text[start:].strip()
    if last:
        out.append(last)
    return out
