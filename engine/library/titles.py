"""A material's title: chosen from the PDF at upload, checked when the learner edits it."""

from __future__ import annotations

import re
from pathlib import Path

from engine.errors import InvalidInput

TITLE_MAX = 300

_JUNK_TITLE = re.compile(
    r"^(untitled|title|document|microsoft word\b.*|.*\.(docx?|pdf|tex|dvi|indd|qxd)|"
    r"slide \d+|\W*)$",
    re.IGNORECASE,
)


_DANGLING = frozenset(
    """a an and as at by for from in into of on or the to with via versus vs
""".split()
)


def _fit(title: str) -> str:
    """Collapse spaces and fit within TITLE_MAX at a word boundary."""
    title = " ".join(title.split())
    if len(title) <= TITLE_MAX:
        return title
    return title[:TITLE_MAX].rsplit(" ", 1)[0].rstrip(" ,;:-")


def _first_lines_title(page: str) -> str | None:
    """The first line with words, continued over lines while it ends mid-phrase."""
    lines = [" ".join(ln.split()) for ln in page.split("\n")[:10]]
    lines = [ln for ln in lines if ln]
    for i, line in enumerate(lines):
        if sum(c.isalpha() for c in line) < 4 or len(line) > 150:
            continue
        title = line
        for nxt in lines[i + 1 : i + 4]:
            last = title.split()[-1].casefold()
            dangling = last in _DANGLING or title.endswith((":", "-", ","))
            # A long first line wrapped onto a short capitalised one ("... for Dynamic" /
            # "Languages"), not onto an author line or a sentence.
            wrapped = (
                len(title) >= 40
                and 1 <= len(nxt.split()) <= 3
                and nxt[:1].isupper()
                and not re.search(r"[,.;@\d]", nxt)
            )
            if not (dangling or wrapped):
                break
            title = f"{title} {nxt}"
        return title
    return None


def choose_title(
    meta_title: str | None, pages: list[str], filename: str, title_lines: list[str] | None = None
) -> str:
    """The document's full title: its metadata title when meaningful, else the first page's
    largest-font lines, else its first lines (never cut mid-phrase), else the file name."""
    largest = " ".join(" ".join(title_lines or []).split())
    if meta_title:
        t = " ".join(meta_title.split())
        if len(t) >= 3 and not _JUNK_TITLE.match(t):
            # The metadata can hold a truncated title: prefer the page's fuller one.
            if (
                largest.casefold().startswith(t.casefold())
                and len(largest) > len(t)
                and len(largest.split()) <= len(t.split()) + 6
                and len(largest) <= 200
                and not largest.endswith(".")
            ):
                return _fit(largest)
            return _fit(t)
    if (
        sum(c.isalpha() for c in largest) >= 4
        and 2 <= len(largest.split()) <= 30
        and not largest.endswith(".")
    ):
        return _fit(largest)
    for page in pages[:2]:
        found = _first_lines_title(page)
        if found:
            return _fit(found)
    stem = Path(filename).stem.replace("_", " ").strip()
    return _fit(stem or "Untitled material")


def clean_title(title: str) -> str:
    """The title a learner typed, spaces collapsed.

    Raises:
        InvalidInput: empty, or longer than TITLE_MAX.
    """
    title = " ".join(title.split())
    if not title:
        raise InvalidInput("Enter a title.")
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"Keep the title to {TITLE_MAX} characters or fewer.")
    return title
