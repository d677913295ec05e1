"""How much a key term names a notion of its material rather than a word of everyday
language (`commonness`, `everyday`): a blank on "side exit", "warranty" or "Reserve" asks about the
material; one on "programs", "call" or "term" asks for its wording. General-language
frequency comes from `wordfreq`, whose word lists ship inside its package (no download)."""

from __future__ import annotations

from functools import lru_cache

from wordfreq import zipf_frequency

# Zipf frequency (log10 of uses per billion words) from which a word is everyday language
# ("call" 5.5, "programs" 4.9), and below which it is a word of a field ("warranty" 3.7,
# "Implementation" in German 2.8).
COMMON_ZIPF = 5.0
FIELD_ZIPF = 3.0
# German spreads its uses over more word forms (cases, compounds), so the same everyday
# word is rarer per form: "Teile" 4.9, "Fenster" 4.9, "Verwendung" 4.7 against "parts" 5.1.
_ZIPF_BY_LANGUAGE = {"de": (4.6, 2.6)}


def _bounds(lang: str) -> tuple[float, float]:
    """(common, field) zipf bounds of the language."""
    return _ZIPF_BY_LANGUAGE.get(lang, (COMMON_ZIPF, FIELD_ZIPF))


@lru_cache(maxsize=4096)
def commonness(term: str, lang: str) -> float:
    """In [0, 1]: 0 for a word of a field or a name, 1 for an everyday word; a phrase of
    several words counts half (a fixed phrase names a notion more than its words do)."""
    zipf = zipf_frequency(term, lang)
    common, field = _bounds(lang)
    share = min(1.0, max(0.0, (zipf - field) / (common - field)))
    return share / 2 if len(term.split()) > 1 else share


def everyday(term: str, lang: str) -> bool:
    """A single word of everyday language ("call", "term", "time"): a blank on it asks for
    the source's wording, not a notion, unless the material defines it."""
    return len(term.split()) == 1 and zipf_frequency(term, lang) >= _bounds(lang)[0]
