"""Showing tutor messages: answers with a citation marker per sentence, the cited passages, and
a dialog with the cited page where the passage is highlighted.

Every string from a PDF, a learner or a model goes through `escape_markdown`; only our own
markers and labels are formatted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from engine.domain.vocabulary import TutorMode
from engine.errors import EngineError
from engine.tutor.sources import Source
from ui.text import escape_markdown

KIND_CAPTIONS = {
    "offline": ":material/cloud_off: Offline answer: sentences quoted from your material, "
    "each with its source.",
    "general": ":material/public: **General knowledge — not from your materials.** Check it "
    "against a trusted source.",
    "refusal": ":material/search_off: Not covered by your material.",
    "quiz": ":material/quiz: Quiz me",
}
SOCRATIC_OFFLINE_CAPTION = (
    ":material/cloud_off: Offline Socratic mode: hints from your material, one step per "
    "reply (a gap to fill, then the missing word, then the passage). Questions written for "
    "you need a language model."
)


def plain(text: str) -> str:
    """Untrusted text for st.markdown, line breaks kept."""
    return escape_markdown(text or "").replace("\n", "  \n")


def marker(n: int) -> str:
    return f":blue-background[**{int(n)}**]"


def source_label(source: Source) -> str:
    """'[n] Title · p. 4' with the title escaped."""
    label = f"[{int(source.n)}] {escape_markdown(source.title or 'Untitled')}"
    return f"{label} · {source.pages}" if source.pages else label


def answer_markdown(message: Any) -> str:
    """The answer's sentences, each followed by its citation markers; uncited claims marked."""
    if not message.sentences or message.kind == "quiz":
        return plain(message.content)
    parts = []
    for s in message.sentences:
        text = plain(s["text"])
        if s["refs"]:
            text += " " + " ".join(marker(n) for n in s["refs"])
        elif (
            message.kind in ("answer", "offline")
            and len(s["text"].split()) >= 4
            and not s["text"].rstrip().endswith("?")
            and not s.get("guide")
        ):
            text += " :gray[(no source found)]"
        parts.append(text)
    return " ".join(parts)


def render_message(message: Any, *, key: str, open_source: Callable[[int], None]) -> None:
    """One stored message inside its chat bubble."""
    if message.role == "user":
        st.markdown(plain(message.content))
        return
    if message.status == "failed":
        st.caption(":material/error: This answer was interrupted and was not saved as an answer.")
        if message.content.strip():
            st.markdown(":gray[" + plain(message.content) + "]")
        return
    if message.kind == "offline" and getattr(message, "mode", None) == TutorMode.SOCRATIC:
        st.caption(SOCRATIC_OFFLINE_CAPTION)
    elif caption := KIND_CAPTIONS.get(message.kind):
        st.caption(caption)
    st.markdown(answer_markdown(message))
    if (
        message.kind not in ("general",)
        and message.cited_share is not None
        and message.kind == "answer"
        and message.cited_share < 1
    ):
        st.caption(f"{round(message.cited_share * 100)}% of the sentences cite your material.")
    if message.citations:
        heading = "Closest passages" if message.kind in ("refusal", "quiz") else "Sources"
        st.caption(heading)
    for source in message.citations:
        with st.expander(source_label(source)):
            st.markdown(plain(source.text))
            if source.chunk_id is not None and st.button(
                "Open the page", key=f"{key}_open_{source.n}", icon=":material/menu_book:"
            ):
                open_source(source.chunk_id)


def source_dialog(
    rt: Any, user_id: int, citation_view: Callable[..., Any]
) -> Callable[[int], None]:
    """A function opening the dialog with the cited page and the passage highlighted."""

    @st.dialog("Source", width="large")
    def _show(chunk_id: int) -> None:
        try:
            view = citation_view(rt, user_id=user_id, chunk_id=chunk_id)
        except EngineError as e:
            st.error(e.user_message)
            return
        st.subheader(escape_markdown(view.material_title), anchor=False)
        st.caption(f"{view.pages} · the cited passage is highlighted")
        if view.before.strip():
            st.markdown(plain(view.before))
        st.info(plain(view.passage), icon=":material/format_quote:")
        if view.after.strip():
            st.markdown(plain(view.after))

    return _show
