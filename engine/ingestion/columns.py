"""Reading order for pages set in two columns.

pypdf's plain extraction follows the order in which a page's content stream draws its text. Most
typesetters (LaTeX, Word) draw one column after the other, and that order is already right; some
tools draw line by line across the page, so each extracted line reads "left column line + right
column line" and every sentence is cut in two. pypdf's layout mode places the text by its real
glyph widths; when that layout shows a clear gutter, this module reads the left column, then the
right, with full-width lines (titles, headings, figures across both columns) kept where they are.

Layout mode costs more than the plain extraction itself, and most pages are in one column or draw
their columns in order, so it runs only where `may_be_drawn_across(starts, ...)` says so: that
looks at where plain mode's text runs start on the page, which the plain extraction reports for
free. On a page drawn across two columns, the reading moves forward to the right column's left
edge on line after line, so many runs start at one and the same point in the middle of the page;
on a one-column page, runs that start mid-line (a word in italics, a formula) start anywhere.

Pure functions over text: no PDF library, so the child process that reads PDFs and the tests share
them. `column_order(layout, plain)` returns the reordered page text, or None when pypdf's plain
text should stay as it is (one column, no clear gutter, or columns already drawn in order).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

_GUTTER_MIN_WIDTH = 2  # character cells with no text between the columns
_GUTTER_SEARCH = (0.25, 0.75)  # where on the line a gutter may be (fraction of the widest line)
_SPANNING_SHARE = 0.1  # lines allowed to cross the gutter (titles, headings, wide figures)
_MIN_COLUMN_LINES = 5
_MIN_COLUMN_SHARE = 0.2  # each column holds at least this share of the page's characters
_MIN_PROBE_CHARS = 12  # a line shorter than this is too common to locate in the plain text
_MIN_PROBES = 3
_COLUMN_EDGE_BAND = (0.3, 0.75)  # where a right column's left edge may be (share of page width)
_FORWARD_MOVE = 0.1  # a move to the right by more than this share of the page width
_EDGE_TOLERANCE_PT = 2.0  # starts this close together are at the same edge


@dataclass
class _Section:
    """Rows between two full-width lines: the left and right halves, top to bottom."""

    left: list[str] = field(default_factory=list)
    right: list[str] = field(default_factory=list)
    rows: list[tuple[str, str]] = field(default_factory=list)  # rows with text on both sides


def _squash(text: str) -> str:
    return " ".join(text.split())


def find_gutter(lines: list[str]) -> tuple[int, int] | None:
    """The widest band of character cells that (almost) no line has text in, or None.

    `lines` are layout-mode lines. The band must lie in the middle half of the page so that a
    ragged right edge or an indented paragraph is never taken for a gutter.
    """
    body = [line for line in lines if line.strip()]
    if len(body) < 2 * _MIN_COLUMN_LINES:
        return None
    width = max(len(line) for line in body)
    allowed = int(len(body) * _SPANNING_SHARE)
    lo, hi = int(width * _GUTTER_SEARCH[0]), int(width * _GUTTER_SEARCH[1])
    best: tuple[int, int] | None = None
    start = None
    for col in range(lo, hi + 1):
        used = sum(1 for line in body if col < len(line) and not line[col].isspace())
        if used <= allowed and col < hi:
            start = col if start is None else start
            continue
        if (
            start is not None
            and col - start >= _GUTTER_MIN_WIDTH
            and (best is None or col - start > best[1] - best[0])
        ):
            best = (start, col)
        start = None
    return best


def _sections(lines: list[str], gutter: tuple[int, int]) -> list[str | _Section]:
    """Full-width lines (as text) and the two-column sections between them, top to bottom."""
    g0, g1 = gutter
    out: list[str | _Section] = []
    section = _Section()
    for line in lines:
        if not line.strip():
            continue
        if line[g0:g1].strip():  # text across the gutter: a full-width line
            if section.left or section.right:
                out.append(section)
                section = _Section()
            out.append(_squash(line))
            continue
        left, right = _squash(line[:g0]), _squash(line[g1:])
        if left:
            section.left.append(left)
        if right:
            section.right.append(right)
        if left and right:
            section.rows.append((left, right))
    if section.left or section.right:
        out.append(section)
    return out


def _two_columns(parts: list[str | _Section]) -> bool:
    sections = [p for p in parts if isinstance(p, _Section)]
    left = sum(len(s) for p in sections for s in p.left)
    right = sum(len(s) for p in sections for s in p.right)
    lines_left = sum(len(p.left) for p in sections)
    lines_right = sum(len(p.right) for p in sections)
    total = left + right + sum(len(p) for p in parts if isinstance(p, str))
    return (
        lines_left >= _MIN_COLUMN_LINES
        and lines_right >= _MIN_COLUMN_LINES
        and left >= total * _MIN_COLUMN_SHARE
        and right >= total * _MIN_COLUMN_SHARE
    )


def drawn_across(parts: list[str | _Section], plain: str) -> bool:
    """Whether pypdf's plain text reads across the columns (row by row) rather than down them.

    For rows with text in both columns, the right half of row i is looked up in the plain text:
    drawn across, it comes before the left half of row i + 1; drawn down, after it. Rows whose
    text cannot be found verbatim (spacing differs between the two modes) are not counted.
    """
    flat = _squash(plain)
    across = down = 0
    for part in parts:
        if not isinstance(part, _Section):
            continue
        for (_, right), (next_left, _) in zip(part.rows, part.rows[1:]):
            if len(right) < _MIN_PROBE_CHARS or len(next_left) < _MIN_PROBE_CHARS:
                continue
            r, n = flat.find(right), flat.find(next_left)
            if r < 0 or n < 0:
                continue
            if r < n:
                across += 1
            else:
                down += 1
    return across >= _MIN_PROBES and across > 2 * down


def may_be_drawn_across(
    starts: list[tuple[float, float]], *, page_left: float, page_width: float
) -> bool:
    """Whether a page may be set in two columns drawn line by line across them, judged from
    where its text runs start (x, y in page space, in drawing order): only then is layout mode
    worth its cost.

    True when at least `_MIN_COLUMN_LINES` runs that follow a run further left start at the same
    point in the middle of the page (a right column's left edge). Tables pass too (layout mode
    then finds no two columns and the plain text stands); columns drawn one after the other do
    not, since each right-column line follows the line above it, not one further left.
    """
    if page_width <= 0:
        return False
    lo, hi = (page_left + page_width * f for f in _COLUMN_EDGE_BAND)
    edges: Counter[int] = Counter()
    for (ax, _), (bx, _) in zip(starts, starts[1:]):
        if lo <= bx <= hi and bx > ax + page_width * _FORWARD_MOVE:
            edges[round(bx / _EDGE_TOLERANCE_PT)] += 1
    return max(edges.values(), default=0) >= _MIN_COLUMN_LINES


def column_order(layout: str, plain: str) -> str | None:
    """The page's text read column by column, or None to keep `plain` as it is."""
    lines = [line.rstrip() for line in layout.splitlines()]
    gutter = find_gutter(lines)
    if gutter is None:
        return None
    parts = _sections(lines, gutter)
    if not _two_columns(parts) or not drawn_across(parts, plain):
        return None
    text: list[str] = []
    for part in parts:
        if isinstance(part, _Section):
            text.extend(part.left)
            text.extend(part.right)
        else:
            text.append(part)
    return "\n".join(text)
