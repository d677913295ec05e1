"""The item table of a course's questions and the teacher's actions on one question."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.courses import revisions
from engine.courses.item_stats import CourseItemStats, ItemRow
from engine.domain.item_analysis import Verdict
from engine.errors import EngineError
from ui.runtime import get_runtime
from ui.text import escape_markdown

VERDICT_LABELS = {
    Verdict.NOT_ENOUGH: "Not enough answers yet",
    Verdict.GOOD: "Good",
    Verdict.TOO_EASY: "Too easy",
    Verdict.TOO_HARD: "Too hard",
    Verdict.POOR_DISCRIMINATION: "Poor discrimination",
    Verdict.CHECK_KEY: "Check the key",
    Verdict.WEAK_DISTRACTOR: "Weak distractor",
}


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def item_frame(stats: CourseItemStats) -> pd.DataFrame:
    """One row per question (current version), for a sortable table (text shown as data,
    never as markdown)."""
    return pd.DataFrame(
        [
            {
                "id": row.course_question_id,
                "version": row.version,
                "status": row.status,
                "question": row.stem,
                "learners": row.stats.learners,
                "answers": row.stats.answers,
                "difficulty %": _pct(row.stats.difficulty),
                "discrimination": row.stats.discrimination,
                "flags %": _pct(row.stats.flag_share),
                "median s": row.stats.median_seconds,
                "verdict": ", ".join(VERDICT_LABELS[v] for v in row.stats.verdicts),
            }
            for row in stats.items
        ]
    )


def option_frame(row: ItemRow) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "option": text,
                "right": o.correct,
                "chosen %": _pct(o.share),
                "discrimination": o.discrimination,
                "weak distractor": o.weak,
            }
            for text, o in zip(row.options, row.stats.options, strict=True)
        ]
    )


def _run(action, success: str) -> None:
    try:
        action()
    except EngineError as e:
        st.error(e.user_message)
        return
    st.success(success)
    st.rerun()


def item_actions(row: ItemRow, *, actor_id: int) -> None:
    """Retire, replace a distractor, correct the key, edit the text (destructive ones ask for
    a confirmation)."""
    rt, cq = get_runtime(), row.course_question_id
    options = list(row.options)
    retire, distractor, key, edit = st.tabs(
        ["Retire", "Replace a distractor", "Correct the key", "Edit"]
    )
    with retire:
        sure = st.checkbox("Learners stop getting this question", key=f"ci_retire_ok_{cq}")
        if st.button("Retire", key=f"ci_retire_{cq}", disabled=not sure):
            _run(
                lambda: revisions.retire_question(rt, actor_id=actor_id, course_question_id=cq),
                "Retired.",
            )
    wrong = [i for i in range(len(options)) if i != row.correct_index]
    with distractor:
        if wrong:
            which = st.selectbox(
                "Wrong option",
                wrong,
                format_func=lambda i: escape_markdown(options[i]),
                key=f"ci_dis_i_{cq}",
            )
            text = st.text_input("New wrong option", key=f"ci_dis_t_{cq}")
            if st.button("Replace", key=f"ci_dis_{cq}"):
                _run(
                    lambda: revisions.replace_distractor(
                        rt, actor_id=actor_id, course_question_id=cq, option_index=which, text=text
                    ),
                    "Replaced; a new version is in every learner's bank.",
                )
    with key:
        if options:
            new_key = st.selectbox(
                "Right option",
                wrong,
                format_func=lambda i: escape_markdown(options[i]),
                key=f"ci_key_i_{cq}",
            )
            sure = st.checkbox(
                "Re-grade every answer already given and tell the learners", key=f"ci_key_ok_{cq}"
            )
            if st.button("Correct the key", key=f"ci_key_{cq}", disabled=not sure):
                _run(
                    lambda: revisions.correct_key(
                        rt, actor_id=actor_id, course_question_id=cq, correct_index=new_key
                    ),
                    "Key corrected; answers re-graded and learners told.",
                )
    with edit:
        stem = st.text_area("Question", value=row.stem, key=f"ci_edit_stem_{cq}")
        texts = [
            st.text_input(f"Option {i + 1}", value=o, key=f"ci_edit_o{i}_{cq}")
            for i, o in enumerate(options)
        ]
        if st.button("Save as a new version", key=f"ci_edit_{cq}"):
            content = revisions.Content(
                stem, tuple(texts) if options else None, row.correct_index, row.stem
            )
            _run(
                lambda: revisions.edit_question(
                    rt, actor_id=actor_id, course_question_id=cq, content=content
                ),
                "Saved as a new version.",
            )


def question_heading(row: ItemRow) -> None:
    verdict = ", ".join(VERDICT_LABELS[v] for v in row.stats.verdicts)
    st.markdown(
        f"**{escape_markdown(row.stem)}** (version {row.version}, {row.status}): "
        f"{escape_markdown(verdict)}"
    )
