"""Turn the raw text pypdf extracts into clean page text: pure functions, no I/O.

The rules, in the order `clean_pages` applies them:
- glyph-name garbage (`/g3`, `/uni00A0`, `(cid:12)`) marks a page unreadable;
- ligatures and odd spaces are normalised, control characters dropped;
- lines of symbol soup (figure text in an unmapped font) are dropped;
- running headers/footers and page numbers repeated across pages are dropped;
- a word hyphenated at a line break is joined ("cap-\\nture" -> "capture") while real
  hyphens stay ("type-specialized");
- a heading line gets a blank line after it so it never runs into the body text.

Before these rules run, the PDF reader puts pages set in two columns into reading order
(`engine.ingestion.columns`). `TEXT_PIPELINE_VERSION` names both: materials stored by an older version are
re-cleaned and re-chunked by `python -m engine reindex`.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

TEXT_PIPELINE_VERSION = 3

_LIGATURES = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
    "\u0132": "IJ",
    "\u0133": "ij",
    "\u0152": "OE",
    "\u0153": "oe",
}
_SPACE_LIKE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_GLYPH_NAME = re.compile(r"/g\d{1,5}|/uni[0-9A-Fa-f]{4,6}|\(cid:\d+\)|/[A-Za-z]{1,3}\d{1,4}(?!\w)")
GLYPH_SHARE_UNREADABLE = 0.05  # glyph names per word above which a page is unreadable


_SPACING_ACCENT = {
    "\u00a8": "\u0308",
    "\u00b4": "\u0301",
    "`": "\u0300",
    "\u02c6": "\u0302",
    "\u02dc": "\u0303",
    "\u00b8": "\u0327",
}
_LOOSE_ACCENT = re.compile(r"([\u00a8\u00b4\u02c6\u02dc])\s?([A-Za-z\u0131])")


def _attach_accent(m: re.Match[str]) -> str:
    letter = "i" if m.group(2) == "\u0131" else m.group(2)
    return unicodedata.normalize("NFC", letter + _SPACING_ACCENT[m.group(1)])


def normalise_characters(text: str) -> str:
    """Ligatures to letters, loose accents onto their letter ("na\u00a8\u0131ve" -> "na\u00efve"),
    odd spaces to one space, invisible/control characters removed."""
    for lig, letters in _LIGATURES.items():
        text = text.replace(lig, letters)
    text = _LOOSE_ACCENT.sub(_attach_accent, text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text)
    lines = (_SPACE_LIKE.sub(" ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def glyph_name_share(text: str) -> float:
    """Glyph names (`/g3`, `/uni00A0`, `(cid:12)`) per whitespace-separated word."""
    words = len(text.split())
    if not words:
        return 0.0
    return len(_GLYPH_NAME.findall(text)) / words


def is_glyph_garbage(text: str) -> bool:
    """True when a page's text is mostly unresolved glyph names rather than words."""
    hits = len(_GLYPH_NAME.findall(text))
    return hits >= 3 and glyph_name_share(text) > GLYPH_SHARE_UNREADABLE


_SOUP = frozenset("#%<>?$!&;:@^~|")


def is_symbol_soup(line: str) -> bool:
    """A line of symbol soup: words that mix letters and digits with two or more of `#%<>?$`…
    (figure text in an unmapped font). Equations and code keep their short tokens and pass."""
    words = line.split()
    visible = sum(len(w) for w in words)
    if visible < 8:
        return False
    soup = sum(
        len(w)
        for w in words
        if len(w) >= 6 and len(set(w) & _SOUP) >= 2 and any(c.isalnum() for c in w)
    )
    return soup >= 0.6 * visible


def drop_symbol_soup(text: str) -> str:
    return "\n".join(ln for ln in text.split("\n") if not is_symbol_soup(ln))


# --- hyphenation ---------------------------------------------------------------------------------

_HYPHEN_BREAK = re.compile(r"(\w+)-\n(\w+)")


def _vocabulary(text: str) -> tuple[set[str], set[str]]:
    """Words seen whole, and hyphenated compounds seen within a line, casefolded."""
    words = set(re.findall(r"\w+", text.casefold()))
    compounds = set(re.findall(r"\w+-\w+", text.casefold().replace("-\n", "\n")))
    return words, compounds


def join_hyphenation(text: str, vocabulary: tuple[set[str], set[str]] | None = None) -> str:
    """Join words split by a hyphen at a line end; keep hyphens of real compounds.

    A break is kept as a hyphen when the compound appears hyphenated inside a line elsewhere
    (`vocabulary`, default: this text), or when the second part starts with a capital or a
    digit ("Python-\\nBased", "SM-\\n2"); otherwise the parts are joined.
    """
    words, compounds = vocabulary or _vocabulary(text)

    def repl(m: re.Match[str]) -> str:
        first, second = m.group(1), m.group(2)
        compound = f"{first}-{second}".casefold()
        joined = (first + second).casefold()
        if compound in compounds and joined not in words:
            return f"{first}-{second}"
        if second[:1].isupper() or second[:1].isdigit() or first[-1:].isdigit():
            return f"{first}-{second}"
        return f"{first}{second}"

    return _HYPHEN_BREAK.sub(repl, text)


# --- running headers and footers -----------------------------------------------------------------

_ROMAN = r"m{0,3}(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})"
_PAGE_NUMBER = re.compile(
    rf"^(page\s+)?(\d{{1,5}}|{_ROMAN})(\s*(of|/)\s*\d{{1,5}})?$", re.IGNORECASE
)
_EDGE_LINES = 3
_RUNNING_MAX = 100  # running headers and footers are short lines


def _line_key(line: str) -> str:
    """A header/footer line with its numbers blanked, so 'Page 3' and 'Page 4' match."""
    return re.sub(r"\d+", "#", " ".join(line.split()).casefold())


def _edge_size(lines: int) -> int:
    """How many lines at each end of a page can be a header or footer (fewer on short pages)."""
    return max(1, min(_EDGE_LINES, lines // 4))


def drop_running_lines(pages: list[str]) -> list[str]:
    """Remove lines repeated at the top or bottom of many pages, and bare page numbers there.

    A line (numbers ignored) counts as running when it sits within the first or last
    `_EDGE_LINES` lines (fewer on short pages) of at least 3 pages and of at least 40% of the pages with text.
    """
    with_text = [p for p in pages if p.strip()]
    counts: Counter[str] = Counter()
    for page in with_text:
        lines = [ln for ln in page.split("\n") if ln.strip()]
        k = _edge_size(len(lines))
        counts.update({_line_key(ln) for ln in lines[:k] + lines[-k:]})
    needed = max(3, int(0.4 * len(with_text) + 0.999))
    running = {k for k, n in counts.items() if n >= needed and len(with_text) >= 3}
    out = []
    for page in pages:
        lines = page.split("\n")
        nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
        k = _edge_size(len(nonblank))
        edge = set(nonblank[:k] + nonblank[-k:])
        if len(nonblank) < 3:  # a page of a line or two is all content
            out.append(page.strip())
            continue
        kept = [
            ln
            for i, ln in enumerate(lines)
            if not (
                i in edge
                and len(ln) <= _RUNNING_MAX
                and (
                    _line_key(ln) in running or (_PAGE_NUMBER.match(ln.strip()) and len(pages) > 1)
                )
            )
        ]
        out.append("\n".join(kept).strip())
    return out


# --- headings ------------------------------------------------------------------------------------

_NUMBERED_HEADING = re.compile(r"^(\d{1,2}(\.\d{1,2}){0,3}\.?|[IVX]{1,4}\.|[A-Z]\.)\s+[A-Z]")
_HEADING_WORDS = frozenset(
    """abstract introduction background conclusion conclusions discussion
references bibliography acknowledgements acknowledgments appendix summary results evaluation
related work methods method keywords contents""".split()
)


def is_heading_line(line: str, next_line: str | None = None) -> bool:
    """A short line that names a section rather than continuing a sentence."""
    line = line.strip()
    if not 3 <= len(line) <= 90 or line.endswith((".", ",", ";", ":", "-")):
        return bool(line) and line.rstrip(":").casefold() in _HEADING_WORDS
    words = line.split()
    if len(words) > 12 or sum(c.isalpha() for c in line) < 3:
        return False
    if line.casefold() in _HEADING_WORDS:
        return True
    if _NUMBERED_HEADING.match(line) and len(words) <= 10:
        return not re.search(r"\d\s*[%x×]|\d{3,}", line[len(words[0]) :])
    if line.isupper() and len(words) <= 8:
        return True
    small = {"of", "and", "the", "for", "in", "on", "a", "an", "to", "with", "by", "vs"}
    capitalised = all(w[:1].isupper() or w in small or not w[:1].isalpha() for w in words)
    followed_by_body = next_line is None or not next_line.strip() or len(next_line) > len(line) + 10
    return capitalised and 2 <= len(words) <= 8 and followed_by_body and words[0][:1].isupper()


def separate_headings(text: str) -> str:
    """Put a blank line before and after each heading line so it stands apart from the body."""
    lines = text.split("\n")
    out: list[str] = []
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if line.strip() and is_heading_line(line, nxt):
            if out and out[-1].strip():
                out.append("")
            out.append(line)
            if nxt is not None and nxt.strip():
                out.append("")
        else:
            out.append(line)
    return "\n".join(out)


# --- the pipeline --------------------------------------------------------------------------------


def clean_pages(pages: list[str]) -> tuple[list[str], list[int]]:
    """Clean every page; returns (pages, 1-based numbers of pages found unreadable).

    Unreadable pages (glyph-name garbage) come back as empty strings. Works on raw extracted
    text and on text stored by an older pipeline version alike (reindex re-cleans that).
    """
    unreadable = [i + 1 for i, p in enumerate(pages) if is_glyph_garbage(p)]
    cleaned = [
        "" if i + 1 in unreadable else drop_symbol_soup(normalise_characters(p))
        for i, p in enumerate(pages)
    ]
    cleaned = drop_running_lines(cleaned)
    vocabulary = _vocabulary("\n".join(cleaned))
    cleaned = [separate_headings(join_hyphenation(p, vocabulary)) for p in cleaned]
    return [re.sub(r"\n{3,}", "\n\n", p).strip() for p in cleaned], unreadable
