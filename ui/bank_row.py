"""One row of the Question bank: the question with its material, page, type, status and
quality at a glance, and a Flag action that confirms what it did.

Stems and titles are untrusted: escaped before Markdown renders them."""

from __future__ import annotations

import streamlit as st

from engine.bank.views import QuestionView
from engine.domain.passage import page_range_label
from engine.domain.vocabulary import QuestionStatus
from engine.errors import EngineError
from engine.practice.flags import flag_question
from ui.labels import FLAG_REASON_LABELS, QUESTION_STATUS_LABELS, QUESTION_TYPE_LABELS, label
from ui.question_view import plain
from ui.runtime import get_runtime

STEM_CHARS = 160
ROW_TAGS = 3  # tags shown on a row; the rest as "+n"


def tag_line(tags: tuple[str, ...]) -> str:
    """The first tags and how many more: "Lang::Spanish, verbs +2" (not yet escaped)."""
    shown = ", ".join(tags[:ROW_TAGS])
    return shown + (f" +{len(tags) - ROW_TAGS}" if len(tags) > ROW_TAGS else "")


def glance(q: QuestionView) -> str:
    """Material, page, type, status, quality and tags in one line (escaped for Markdown)."""
    quality = "unrated" if q.quality_score is None else f"quality {q.quality_score:.2f}"
    parts = [
        plain(q.material_title),
        page_range_label(q.page_start, q.page_end),
        label(QUESTION_TYPE_LABELS, q.type),
        label(QUESTION_STATUS_LABELS, q.status),
        quality,
    ]
    if q.tags:
        parts.append("tags " + plain(tag_line(q.tags)))
    return " · ".join(parts)


def _flag(user_id: int, question_id: int, key: str) -> None:
    """The Flag form's callback: record the flag, then confirm it (a toast and a notice)."""
    try:
        outcome = flag_question(
            get_runtime(),
            user_id=user_id,
            question_id=question_id,
            reason=st.session_state[f"{key}_flag_reason"],
            note=st.session_state.get(f"{key}_flag_note", ""),
        )
    except EngineError as e:
        st.session_state["bank_error"] = e.user_message
        return
    message = "Flagged. " + (
        "It is out of your queues until you keep, retire or replace it on the Reviews page."
        if outcome.status != QuestionStatus.ACTIVE
        else "It stays in your queues; keep, retire or replace it on the Reviews page."
    )
    st.toast(message, icon=":material/flag:")
    st.session_state["bank_notice"] = message


def row_head(q: QuestionView, *, user_id: int, key: str) -> None:
    """The question's stem and its line of facts, with Flag beside them."""
    text, action = st.columns([6, 1], vertical_alignment="center")
    stem = q.stem if len(q.stem) <= STEM_CHARS else q.stem[:STEM_CHARS] + "…"
    text.markdown(plain(stem))
    text.caption(glance(q))
    with action.popover("Flag", icon=":material/flag:"), st.form(f"{key}_flag"):
        st.radio(
            "What is wrong?",
            list(FLAG_REASON_LABELS),
            format_func=FLAG_REASON_LABELS.get,
            key=f"{key}_flag_reason",
        )
        st.text_area("Note", key=f"{key}_flag_note", max_chars=1000)
        st.form_submit_button(
            "Flag question", on_click=_flag, args=(user_id, q.id, key), type="primary"
        )
