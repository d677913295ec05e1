"""Library widgets: a search result card and plain-text rendering of text from PDFs."""

from __future__ import annotations

import streamlit as st

from engine.domain.language import SUPPORTED, UNKNOWN, language_name
from engine.search import Passage
from ui.text import escape_markdown

__all__ = [
    "escape_markdown",
    "human_size",
    "language_label",
    "offline_language_note",
    "passage_card",
]


def language_label(code: str | None) -> str:
    """A material's language for tables: its name, or a dash when not detected yet."""
    return "\u2014" if code is None else language_name(code)


def offline_language_note(code: str | None) -> str:
    """Why offline questions are not made from a material in this language (plain text)."""
    supported = ", ".join(language_name(c) for c in SUPPORTED)
    said = (
        "Its language could not be told (too little prose)"
        if code == UNKNOWN
        else f"It is in {language_name(code)}"
    )
    return (
        f"{said}: offline questions are made only from {supported} material, so none "
        "are made from this one. Search and the tutor still work; with a language model "
        "configured, questions can be generated from it too."
    )


def human_size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


def passage_card(passage: Passage, *, rank: int) -> None:
    """One search result: material title, pages, section and the passage text."""
    with st.container(border=True):
        heading = f" · {escape_markdown(passage.heading)}" if passage.heading else ""
        st.markdown(
            f"**{rank}. {escape_markdown(passage.material_title)}** · {passage.pages}{heading}"
        )
        st.markdown(escape_markdown(" ".join(passage.text.split())))
        st.caption(f"relevance {passage.score:.2f}")


def page_list(numbers: list[int], limit: int = 12) -> str:
    """'page 3' / 'pages 3, 5, 9 and 4 more'."""
    shown = ", ".join(str(n) for n in numbers[:limit])
    more = f" and {len(numbers) - limit} more" if len(numbers) > limit else ""
    return ("page " if len(numbers) == 1 else "pages ") + shown + more


def ocr_summary(ocr_pages: list[int], confidence: float | None) -> str:
    """'' for a material without OCR pages, else '12 pages, 97% confidence'."""
    if not ocr_pages:
        return ""
    n = len(ocr_pages)
    sure = f", {confidence:.0%} confidence" if confidence is not None else ""
    return f"{n} page{'' if n == 1 else 's'}{sure}"
