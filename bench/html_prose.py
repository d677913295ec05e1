"""The prose of HTML pages (a manual's chapters) as plain text, for `bench.question_quality`.

    python -m bench.html_prose [--lang es] PAGE.html ... > DOC.txt

Keeps headings, paragraphs and list items, one per paragraph (blank-line separated); leaves
out code blocks, tables, figures, tables of contents and navigation. A note, tip or warning
(DocBook lays each out as a small table) keeps its text, not its title ("Nota"). With `--lang`, a paragraph
that is told to be in another language (an untranslated passage of a translated manual) is left
out; one too short to tell is kept.
"""

from __future__ import annotations

import argparse
import sys
from html.parser import HTMLParser
from pathlib import Path

BLOCK = {"p", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "div", "blockquote", "td"}
SKIP = {"pre", "table", "script", "style", "head"}
SKIP_CLASS = {"toc", "navheader", "navfooter", "table", "figure", "list-of-tables"}
ADMONITION = {"note", "tip", "warning", "caution", "important"}
EMPTY = {"br", "img", "hr", "meta", "link", "col", "area", "input", "wbr"}


class _Prose(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        # open elements: tag, whether it is left out, whether it is a note, tip or warning
        self.open: list[tuple[str, bool, bool]] = []
        self.skipping = 0
        self.admonitions = 0  # open notes, tips and warnings
        self.paragraphs: list[str] = []
        self.current: list[str] = []

    def flush(self) -> None:
        text = " ".join("".join(self.current).split())
        if text:
            self.paragraphs.append(text)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in EMPTY:
            return
        classes = set((dict(attrs).get("class") or "").split())
        if self.admonitions:
            left_out = tag == "th" or (tag != "table" and tag in SKIP)
        else:
            left_out = tag in SKIP or bool(classes & SKIP_CLASS)
        if tag in BLOCK and not self.skipping:
            self.flush()
        self.open.append((tag, left_out, bool(classes & ADMONITION)))
        self.skipping += left_out
        self.admonitions += bool(classes & ADMONITION)

    def handle_endtag(self, tag: str) -> None:
        if all(t != tag for t, _, _ in self.open):
            return
        while self.open:
            t, left_out, admonition = self.open.pop()
            self.skipping -= left_out
            self.admonitions -= admonition
            if t == tag:
                break
        if tag in BLOCK and not self.skipping:
            self.flush()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.current.append(data)


def prose(html: str) -> list[str]:
    """The paragraphs of an HTML page's prose, whitespace collapsed."""
    parser = _Prose()
    parser.feed(html)
    parser.close()
    parser.flush()
    return parser.paragraphs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pages", nargs="+", type=Path, help="HTML files, in reading order")
    ap.add_argument("--lang", help="leave out paragraphs told to be in another language")
    args = ap.parse_args(argv)
    from engine.domain.language import UNKNOWN, detect_language

    for page in args.pages:
        for para in prose(page.read_text(encoding="utf-8")):
            told = detect_language(para) if args.lang else UNKNOWN
            if told in (UNKNOWN, args.lang):
                sys.stdout.write(para + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
