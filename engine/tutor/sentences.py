"""Whole sentences of a passage of PDF text, for the offline tutor: where each one starts, and
which units are not sentences at all (figure and table captions, axis and box labels, headings,
cut-off ends). Small and language-light on purpose (English, German and French abbreviations);
a language module can replace `split` later.

A unit *starts cleanly* when it follows a sentence end, a bullet, a heading or the start of the
document. The first unit of a passage starts cleanly only when the text before the passage (the
`lead`, from the previous chunk) ends a sentence: chunks overlap and often begin mid-sentence.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

# Abbreviations after which a full stop does not end a sentence (lower case, without the dot).
ABBREVIATIONS = frozenset(
    {
        # English
        "e.g",
        "i.e",
        "etc",
        "cf",
        "vs",
        "fig",
        "figs",
        "eq",
        "eqs",
        "sec",
        "no",
        "nos",
        "al",
        "approx",
        "resp",
        "dr",
        "prof",
        "mr",
        "mrs",
        "ms",
        "st",
        "vol",
        "pp",
        "ch",
        "ref",
        "refs",
        "ca",
        "incl",
        "esp",
        "viz",
        "jr",
        "sr",
        "inc",
        "ltd",
        "co",
        "dept",
        "univ",
        "max",
        "min",
        # German
        "z.b",
        "bzgl",
        "bzw",
        "d.h",
        "u.a",
        "usw",
        "vgl",
        "ggf",
        "evtl",
        "sog",
        "abb",
        "nr",
        "s",
        "bsp",
        "inkl",
        "zzgl",
        "u.u",
        "o.ä",
        "d.i",
        "i.a",
        "z.t",
        "insb",
        "allg",
        "def",
        "geb",
        "hrsg",
        "jh",
        "mio",
        "mrd",
        "tab",
        "u.v.m",
        "z.zt",
        "o.g",
        "s.o",
        "s.u",
        # French
        "p.ex",
        "env",
        "chap",
        "ex",
        "mme",
        "mlle",
        "m",
    }
)
BULLETS = "\u2022\u25aa\u25e6\u2023\u2043\u25cf\u25a0\u2013\u2014\u21d2\u2192\u27a2\u25ba-*"
_BULLET_LINE = re.compile(f"^\\s*(?:[{re.escape(BULLETS)}]|\\d{{1,2}}[.)](?=\\s+[^\\W\\d]))\\s+")
_CODE = re.compile(r"//|::|[{}]|\(\s*\)|==|\+=|->|;\s*$|\w\s*=\s*\w.*;")
_TERMINAL = re.compile(r"[.!?]['\"\u201d\u2019)\]]*$")
_CAPTION = re.compile(
    r"^(figure|fig\.|table|tab\.|listing|algorithm|abbildung|abb\.|tabelle|tableau|chart|"
    r"diagram|graph|plate|exhibit)\s*[0-9IVX]+[a-z]?\s*[.:)\-]",
    re.IGNORECASE,
)
_HEADING_NUMBER = re.compile(r"^(\d{1,2}(\.\d{1,2})*\.?|[IVX]+\.|[A-Z]\.)\s+\S")
MIN_LETTER_SHARE = 0.6  # below: code, formulas or tables, not prose
# Dot leaders of a table of contents ("4.6 Von der funktionalen ... . . . . 10").
_LEADERS = re.compile(r"(?:\.\s?){4,}|\u2026\s*\u2026")
# A row of numbers from a figure or table ("... vom Typ byte 1 2 3 4 5 6").
_NUMBER_ROW = re.compile(r"(?:(?<!\S)\d{1,3}\s+){4,}\d{1,3}(?!\S)")
# Cut short by its author ("Fakultät k! = 1 · 2 ·...").
_TRAILING_OFF = re.compile(r"(?:\.\.\.|\u2026)['\"\u201d\u2019)\]]*$")
# A cross-reference standing as a line ("Abschnitt 1.3, "Midnight Commander (MC)"").
_CROSS_REFERENCE = re.compile(
    r"^(?:section|chapter|appendix|abschnitt|kapitel|anhang|chapitre|annexe|secci[oó]n|"
    r"cap[ií]tulo|ap[eé]ndice)\s+[\dA-Z]+(?:\.\d+)*\b[^.!?]*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Unit:
    """A sentence (or a bullet item) of a passage, whitespace and hyphenation undone."""

    text: str
    start: int  # position among the passage's units
    clean_start: bool  # begins at a sentence start (see the module docstring)
    complete: bool  # ends with sentence-final punctuation, or is a whole bullet item
    caption: bool  # part of a figure or table caption, or a label

    @property
    def usable(self) -> bool:
        # A question of the material's own ("What exactly happens when ...?") answers nothing.
        asks = self.text.rstrip().rstrip("'\"\u201d\u2019)]").endswith("?")
        return (
            self.clean_start
            and self.complete
            and not self.caption
            and not asks
            and prose(self.text)
        )


def prose(text: str) -> bool:
    """Mostly letters: not code, a formula, a row of numbers (alone or glued to a sentence),
    a table-of-contents line or a sentence its author left trailing off ("...")."""
    visible = [c for c in text if not c.isspace()]
    if _CODE.search(text) or _LEADERS.search(text) or _NUMBER_ROW.search(text):
        return False
    if _TRAILING_OFF.search(text.rstrip()) or _CROSS_REFERENCE.match(text.strip()):
        return False
    return bool(visible) and sum(c.isalpha() for c in visible) / len(visible) >= MIN_LETTER_SHARE


def ends_sentence(text: str) -> bool:
    """Whether `text` ends a sentence (its last word is not a known abbreviation)."""
    stripped = text.rstrip()
    if not stripped:
        return True  # the start of a document, or a paragraph break
    if stripped[-1] in ":;" or stripped[-1] in BULLETS[:6]:
        return True
    if not _TERMINAL.search(stripped):
        return False
    last = stripped.split()[-1].rstrip(".'\"\u201d\u2019)]").lower()
    return last not in ABBREVIATIONS and not (len(last) == 1 and last.isalpha())


def _lowercase_text(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) < 0.01 * len(letters)


def _heading(line: str, next_line: str | None) -> bool:
    words = line.split()
    if not words or len(words) > 10 or line.rstrip()[-1:] in ".,;:!?-":
        return False
    if _HEADING_NUMBER.match(line):  # "4. Nested Trace Tree Formation", not "1. read it"
        rest = words[1:]
        return len(rest) <= 8 and sum(w[:1].isupper() for w in rest) >= len(rest) / 2
    return bool(
        next_line
        and next_line.strip()[:1].isupper()
        and sum(w[:1].isupper() for w in words) >= max(1, len(words) - 2)
    )


def _label_run(lines: list[str], i: int) -> bool:
    """Line i belongs to a run of two or more very short lines (axis or box labels)."""

    def short(j: int) -> bool:
        s = lines[j].strip()
        return 0 < len(s.split()) <= 3 and not _TERMINAL.search(s)

    return short(i) and ((i > 0 and short(i - 1)) or (i + 1 < len(lines) and short(i + 1)))


def _blocks(text: str) -> list[tuple[str, str]]:
    """Runs of lines as (text, kind), kind one of 'prose', 'bullet', 'caption', 'heading':
    captions run from their 'Figure n.' line to the line that ends a sentence; headings and
    label runs are blocks of their own; a bullet or a blank line starts a new block."""
    lines = text.replace("\u2029", "\n").split("\n")
    blocks: list[tuple[str, str]] = []
    current: list[str] = []
    kind = "prose"

    def close(next_kind: str = "prose") -> None:
        nonlocal current, kind
        if current:
            blocks.append(("\n".join(current), kind))
        current, kind = [], next_kind

    for i, raw in enumerate(lines):
        line = raw.strip()
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if not line:
            if kind != "caption":
                close()
            continue
        if _CAPTION.match(line):
            close(next_kind="caption")
            current.append(line)
            if _TERMINAL.search(line):
                close()
        elif kind == "caption":
            current.append(line)
            if _TERMINAL.search(line):
                close()
        elif _label_run(lines, i):
            close()
            blocks.append((line, "caption"))
        elif _heading(line, nxt) and (
            not current or kind == "bullet" or ends_sentence(current[-1])
        ):
            close()
            blocks.append((line, "heading"))
        elif _BULLET_LINE.match(line):
            close(next_kind="bullet")
            current.append(_BULLET_LINE.sub("", line))
        else:
            current.append(line)
    close()
    return blocks


def _flat(text: str) -> str:
    text = re.sub(r"(\w)-\n(?=[a-z\u00e0-\u00ff])", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def _split_block(text: str, lowercase: bool) -> list[str]:
    start = r"[A-Z0-9\"'(\[\u00c0-\u00de\u201c\u2018]" if not lowercase else r"\S"
    cuts: list[int] = []
    for m in re.finditer(rf"(?<=[.!?])['\"\u201d\u2019)\]]*\s+(?={start})", text):
        before = text[: m.start()].rstrip()
        enumeration = re.search(r"\s(\d{1,2})\.$", before)
        if enumeration:  # "... has 5 steps 1. Read the input": the number opens an item
            cuts.append(enumeration.start(1))
        elif ends_sentence(before[-40:]):
            cuts.append(m.end())
    bounds = [0, *cuts, len(text)]
    # A list item's number is not part of its sentence ("4. After recording, ...").
    pieces = (
        re.sub(r"^\d{1,2}\.\s+(?=\S)", "", text[x:y].strip()) for x, y in itertools.pairwise(bounds)
    )
    return [p for p in pieces if p]


def _starts_anew(trail: str | None) -> bool:
    """Whether the text after a passage begins a new block (a paragraph or a list item), so
    a list item ending the passage is whole."""
    if trail is None:
        return False
    return not trail.strip() or bool(
        re.match(r"\s*\n", trail) and _BULLET_LINE.match(trail.lstrip()) or trail.startswith("\n\n")
    )


def split(text: str, *, lead: str | None = "", trail: str | None = None) -> list[Unit]:
    """The units of a passage in order.

    Args:
        text: the passage as stored (line breaks kept).
        lead: the document text just before the passage ("" at the document's start); None
            when unknown (then the first unit counts as a clean start only when it begins
            with a capital letter or a digit).
        trail: the document text just after the passage ("" at the document's end); None
            when unknown (then a list item ending the passage may go on after it).
    """
    item_ends = _starts_anew(trail)
    lowercase = _lowercase_text(text)
    if lead is None:
        first = text.lstrip()[:1]
        open_sentence = not (first.isupper() or first.isdigit() or (lowercase and first.isalpha()))
    else:
        open_sentence = not (ends_sentence(lead) or lead.endswith(("\n\n", "\n \n")))
    units: list[Unit] = []
    blocks = _blocks(text)
    for b, (block, kind) in enumerate(blocks):
        if kind in ("caption", "heading"):
            # A prose sentence interrupted by a figure continues after it; a heading ends it.
            open_sentence = open_sentence and kind == "caption"
            units.append(Unit(_flat(block), len(units), False, False, True))
            continue
        pieces = _split_block(_flat(block), lowercase)
        for k, piece in enumerate(pieces):
            clean = k > 0 or kind == "bullet" or not open_sentence
            last_of_passage = b == len(blocks) - 1 and k == len(pieces) - 1
            complete = bool(_TERMINAL.search(piece)) or (
                kind == "bullet" and k == len(pieces) - 1 and (not last_of_passage or item_ends)
            )
            units.append(Unit(piece, len(units), clean, complete, False))
        open_sentence = bool(pieces) and not ends_sentence(pieces[-1]) and kind == "prose"
    return units
