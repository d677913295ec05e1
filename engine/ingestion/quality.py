"""Is extracted text real text? Detects the mojibake that broken font encodings produce.

A page counts as having no text when what pypdf returns is empty, or is mostly control
characters, unassigned or private-use code points, or words that mix unrelated scripts
(for example Greek, Sinhala and Gujarati letters inside one "word"). Real text in any single
script, or in Japanese (kanji + kana) and Korean (hangul + hanja), passes.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from functools import lru_cache

# Scripts that legitimately share words. Japanese mixes Han, Hiragana and Katakana; Korean
# mixes Hangul and Han; full-width forms and CJK punctuation belong with them.
_SCRIPT_GROUPS = {
    "CJK": "CJK",
    "HIRAGANA": "CJK",
    "KATAKANA": "CJK",
    "HANGUL": "CJK",
    "IDEOGRAPHIC": "CJK",
    "FULLWIDTH": "CJK",
    "HALFWIDTH": "CJK",
    "BOPOMOFO": "CJK",
    # Latin letters with modifiers/IPA share words with Latin.
    "MODIFIER": "LATIN",
}

MIN_LETTERS = 4  # fewer letters than this on a page is "no text" (page numbers, stray marks)


@lru_cache(maxsize=65536)
def _script(ch: str) -> str | None:
    """The script of a letter, by the first word of its Unicode name; None for non-letters."""
    if not unicodedata.category(ch).startswith("L"):
        return None
    name = unicodedata.name(ch, "")
    if not name:
        return "UNKNOWN"
    first = name.split(" ", 1)[0].split("-", 1)[0]
    return _SCRIPT_GROUPS.get(first, first)


def _is_noise(ch: str) -> bool:
    cat = unicodedata.category(ch)
    if cat in ("Cn", "Co", "Cs"):  # unassigned, private use, surrogates
        return True
    return cat == "Cc" and ch not in "\n\r\t" or ch == "\ufffd"


def is_garbled(text: str) -> bool:
    """True when the text is mojibake rather than words a reader would recognise."""
    return _garbled(text, Counter(text))


def _garbled(text: str, counts: Counter[str]) -> bool:
    """`is_garbled`, given how often each character occurs in `text`."""
    visible = sum(n for c, n in counts.items() if not c.isspace())
    if not visible:
        return False
    noise = sum(n for c, n in counts.items() if not c.isspace() and _is_noise(c))
    if noise / visible > 0.05:
        return True
    if len({_script(c) for c in counts} - {None}) < 2:
        return False  # letters of one script only: no word can mix scripts (most pages)
    words = text.split()
    checked = mixed = 0
    scripts_seen: dict[str, int] = {}
    for word in words:
        scripts = {s for s in map(_script, word) if s is not None}
        if not scripts:
            continue
        for s in scripts:
            scripts_seen[s] = scripts_seen.get(s, 0) + 1
        if sum(1 for c in word if c.isalpha()) < 2:
            continue
        checked += 1
        if len(scripts) > 1:
            mixed += 1
    if checked and mixed / checked > 0.2:
        return True
    # Many unrelated scripts on one page, each used a fair amount, is a broken encoding.
    common = [s for s, n in scripts_seen.items() if n >= 3]
    return len(common) >= 5


def has_text(text: str, *, untrusted: bool = False) -> bool:
    """Does this page carry usable text? `untrusted` is set when the reader warned about it."""
    if untrusted:
        return False
    counts = Counter(text)
    letters = sum(n for c, n in counts.items() if c.isalpha())
    if letters < MIN_LETTERS and not (letters >= 2 and any(_script(c) == "CJK" for c in counts)):
        return False
    return not _garbled(text, counts)
