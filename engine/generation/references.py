"""A material's reference list (bibliography), which offline questions never draw on: its
section under a heading such as "References" or "Literaturverzeichnis", and runs of lines that
read as reference entries (authors and years, "In Proceedings of", "pp.", volumes, "[12]")
where a passage starts inside the list."""

from __future__ import annotations

import re

# A heading that opens a reference list, in the languages the offline generator handles;
# a section number may come first ("7 References", "A. Literatur").
_HEADING = re.compile(
    r"^\s*(?:[\dIVXA-H]{1,4}[.)]?\s+)?(references?|bibliography|works cited|literature cited|"
    r"literatur|literaturverzeichnis|quellen|quellenverzeichnis|références|"
    r"références bibliographiques|bibliographie|bibliografía|referencias|"
    r"referencias bibliográficas)\s*:?\s*$",
    re.IGNORECASE,
)
# What marks a line of a reference entry; one mark alone is also found in body text (a
# citation "(Davis, 1989)"), so a line counts with two, or with a numbered or author opening.
_MARKS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\(\s*(?:19|20)\d{2}[a-z]?\s*\)",  # (1989)
        r"(?:^|[\s,])(?:19|20)\d{2}[a-z]?[.,;]",  # 1989. / 2005,
        r"\bet al\b\.?",
        r"\bpp?\.\s*\d|\bpages\s+\d",
        r"\bdoi\b|https?://|\bwww\.",
        r"\b(?:in|im)\s*:?\s+proc(?:eedings|\.)|\bproceedings\b|\bconference\b|\bsymposium\b",
        r"\b(?:journal|quarterly|transactions|zeitschrift|revista|revue)\b",
        r"\b\d{1,4}\s*\(\d{1,3}\)",  # 13(3)
        r"\b\d{1,5}\s*[-\u2013]\s*\d{1,5}\b",  # 319-340
        r"\bvol\.|\bno\.|\bhrsg\.|\beds?\.|\bverlag\b|\bpress\b|\bisbn\b|\béd\.|\bed\.",
        r"\b[A-Z][\w'-]+,\s+(?:[A-Z]\.\s*){1,3}",  # Davis, F. D.
        r"(?:\b[A-Z]\.\s+){1,2}[A-Z][\w'-]+,",  # V. Bala,
    )
]
_OPENING = re.compile(
    r"^\s*(?:\[\d{1,3}\]|\d{1,3}\.\s+[A-Z][\w'-]+,\s+[A-Z]\.|[A-Z][\w'-]+,\s+(?:[A-Z]\.\s*){1,3})"
)
_WINDOW = 2  # lines either side that decide whether a line lies inside a reference list


def reference_line(line: str) -> bool:
    """Whether the line reads as (part of) a reference entry: a numbered or author opening
    ("[12]", "Davis, F. D."), or two marks of one (years, "et al.", "pp.", volumes, ...)."""
    if _OPENING.match(line):
        return True
    return sum(bool(m.search(line)) for m in _MARKS) >= 2


def without_references(text: str) -> str:
    """The text with its reference list left out: everything from a reference heading to the
    next heading of another kind, and every line among reference entries (a title between
    an entry's author line and its journal line too). Blank lines are kept, so paragraphs
    stay apart."""
    lines = text.split("\n")
    refs = [reference_line(ln) for ln in lines]
    keep: list[str] = []
    in_list = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if _HEADING.match(stripped):
            in_list = True
            continue
        if in_list and stripped and not refs[i] and _other_heading(stripped):
            in_list = False  # "Appendix", "A. Proofs": the body goes on
        near = refs[max(0, i - _WINDOW) : i], refs[i + 1 : i + 1 + _WINDOW]
        among = refs[i] or (any(near[0]) and any(near[1]))
        if in_list or (stripped and among and _dense(refs, i)):
            keep.append("")
            continue
        keep.append(line)
    return "\n".join(keep)


def _dense(refs: list[bool], i: int) -> bool:
    """Whether reference lines make up most of the lines around line i: a lone line with
    two marks in body text is left alone."""
    window = refs[max(0, i - 2 * _WINDOW) : i + 2 * _WINDOW + 1]
    return sum(window) >= 2 and sum(window) >= 0.4 * len(window)


def _other_heading(line: str) -> bool:
    """A short line that opens another part ("Appendix A", "B Proofs", "Anhang")."""
    return bool(
        re.match(
            r"^(?:[A-H]\.?\s+[A-Z]|appendix|anhang|annexe|apéndice|anexo)", line, re.IGNORECASE
        )
        and len(line.split()) <= 6
        and not line.endswith((".", ","))
    )
