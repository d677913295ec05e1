"""Showing a question (draft or banked) with its answer and cited source.

Text from PDFs, learners and models goes through `plain()` (`ui.text.escape_markdown`, with
line breaks kept) so Markdown and Streamlit's directives in it show as written, never as
formatting, links or HTML.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from engine.domain.passage import page_range_label
from engine.domain.vocabulary import FLASHCARD_FORM, Generator, QuestionType
from ui.labels import QUESTION_FORM_LABELS, QUESTION_TYPE_LABELS, label
from ui.text import escape_markdown

DIFFICULTY = {1: "1 · recall", 2: "2 · easy", 3: "3 · medium", 4: "4 · hard", 5: "5 · expert"}


def plain(text: str | None) -> str:
    """Text escaped for st.markdown so it renders literally."""
    return escape_markdown(text or "").replace("\n", "  \n")


def source_caption(q: Any) -> None:
    """The cited source: material title, page and the verbatim excerpt."""
    st.caption(
        f":material/menu_book: {plain(q.material_title)} · {page_range_label(q.page_start, q.page_end)}"
    )
    st.markdown("> " + plain(q.excerpt))


def badges(q: Any) -> str:
    parts = [label(QUESTION_TYPE_LABELS, q.type), f"difficulty {q.difficulty}"]
    if getattr(q, "form", None) in QUESTION_FORM_LABELS:
        parts.insert(1, QUESTION_FORM_LABELS[q.form])
    if q.generator == Generator.OFFLINE:
        parts.append("offline generator")
    elif getattr(q, "model", None):
        parts.append(f"by {q.model}")
    return " · ".join(plain(p) for p in parts)


def option_lines(options: list[str], correct_index: int | None) -> str:
    """A multiple-choice question's options as one Markdown block, an option per line, each
    escaped, the correct one marked (none when `correct_index` is None). One element for all
    options: a card (the Generate preview, the bank's rows) draws one, not one each."""
    return "  \n".join(
        (":material/check_circle:" if i == correct_index else ":material/radio_button_unchecked:")
        + " "
        + plain(option)
        for i, option in enumerate(options)
    )


def render_question(q: Any, *, show_answer: bool = True) -> None:
    """Stem, options with the correct one marked, answer, explanation and source."""
    st.markdown("**" + plain(q.stem) + "**")
    if q.type == QuestionType.MCQ and q.options:
        st.markdown(option_lines(q.options, q.correct_index if show_answer else None))
    if show_answer:
        flashcard = getattr(q, "form", None) == FLASHCARD_FORM
        if flashcard:
            st.markdown("**Back of the card:** " + plain(q.answer))
        elif q.type != QuestionType.MCQ:
            st.markdown("**Answer:** " + plain(q.answer))
        if q.type == QuestionType.SHORT and q.key_points and not flashcard:
            st.markdown("**Key points:**  \n" + "  \n".join("• " + plain(k) for k in q.key_points))
        if q.explanation:
            st.markdown("**Why:** " + plain(q.explanation))
    source_caption(q)


def edit_fields(q: Any, *, key: str) -> dict[str, Any]:
    """Inputs for editing a question inside a form; returns the entered values."""
    st.text_area("Question", value=q.stem, key=f"{key}_stem", max_chars=1000)
    if q.type == QuestionType.MCQ:
        for i, o in enumerate(q.options or []):
            st.text_input(f"Option {i + 1}", value=o, key=f"{key}_opt{i}", max_chars=300)
        st.radio(
            "Correct option",
            list(range(len(q.options or []))),
            index=q.correct_index or 0,
            key=f"{key}_correct",
            format_func=lambda i: f"Option {i + 1}",
            horizontal=True,
        )
    else:
        st.text_area(
            "Answer" if q.type == QuestionType.CLOZE else "Model answer",
            value=q.answer,
            key=f"{key}_answer",
            max_chars=1000,
        )
    if q.type == QuestionType.SHORT:
        st.text_area(
            "Key points (one per line)", value="\n".join(q.key_points or []), key=f"{key}_points"
        )
    st.text_area("Explanation", value=q.explanation, key=f"{key}_expl", max_chars=3000)
    st.select_slider(
        "Difficulty",
        options=[1, 2, 3, 4, 5],
        value=q.difficulty,
        key=f"{key}_diff",
        format_func=DIFFICULTY.get,
    )
    return edited_values(q, key=key)


def edited_values(q: Any, *, key: str) -> dict[str, Any]:
    """The values entered in `edit_fields(q, key=key)`, read from the session, so a form's
    submit callback can apply them before the page draws again."""
    entered = st.session_state
    values: dict[str, Any] = {"stem": entered[f"{key}_stem"]}
    if q.type == QuestionType.MCQ:
        options = [entered[f"{key}_opt{i}"] for i in range(len(q.options or []))]
        correct = entered[f"{key}_correct"]
        values.update(options=options, correct_index=correct, answer=options[correct])
    else:
        values["answer"] = entered[f"{key}_answer"]
    if q.type == QuestionType.SHORT:
        points = entered[f"{key}_points"]
        values["key_points"] = [p.strip() for p in points.splitlines() if p.strip()]
    values["explanation"] = entered[f"{key}_expl"]
    values["difficulty"] = entered[f"{key}_diff"]
    return values
