"""The Question bank's "Export for an LMS" panel: choose questions and a format, download."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from engine.analytics.anki import topics
from engine.errors import EngineError
from engine.interop.export_service import LmsFormat, Selection, export_for_lms

if TYPE_CHECKING:
    from ui.runtime import Runtime

FORMAT_LABELS = {
    LmsFormat.QTI: "QTI 2.1 package (Canvas, Blackboard, and others)",
    LmsFormat.MOODLE: "Moodle XML",
    LmsFormat.GIFT: "GIFT (Moodle)",
}
SCOPES = {"all": "All questions", "material": "One material", "topic": "One topic"}


def lms_export_section(rt: Runtime, user_id: int, materials: dict[int, str]) -> None:
    """The export form and, once built, its download button. Material titles and topics go
    only into select box options, which Streamlit shows as plain text."""
    with st.popover("Export for an LMS", icon=":material/school:"):
        with st.form("bank_lms"):
            st.caption(
                "Multiple-choice, cloze (one gap per blank) and short-answer questions, "
                "each with its source in the feedback. Short answers arrive as essays "
                "for a teacher to mark."
            )
            fmt = st.selectbox(
                "Format", list(FORMAT_LABELS), key="bank_lms_format", format_func=FORMAT_LABELS.get
            )
            scope = st.radio(
                "Questions",
                list(SCOPES),
                horizontal=True,
                key="bank_lms_scope",
                format_func=SCOPES.get,
            )
            a, b = st.columns(2)
            material = a.selectbox(
                "Material",
                list(materials) or [None],
                key="bank_lms_material",
                format_func=lambda m: "—" if m is None else materials[m],
            )
            topic_list = topics(rt, user_id=user_id)
            topic = b.selectbox(
                "Topic",
                topic_list or [None],
                key="bank_lms_topic",
                format_func=lambda t: "—" if t is None else t,
            )
            build = st.form_submit_button("Prepare the file", icon=":material/download:")
        if build:
            selection = Selection(
                material_id=material if scope == "material" else None,
                topic=topic if scope == "topic" else None,
            )
            try:
                st.session_state["bank_lms_file"] = export_for_lms(
                    rt, user_id=user_id, selection=selection, fmt=LmsFormat(fmt)
                )
            except EngineError as e:
                st.session_state.pop("bank_lms_file", None)
                st.error(e.user_message)
        if (prepared := st.session_state.get("bank_lms_file")) is not None:
            st.download_button(
                f"Download {prepared.file_name} ({prepared.questions} "
                f"question{'s' if prepared.questions != 1 else ''})",
                data=prepared.data,
                file_name=prepared.file_name,
                mime=prepared.mime,
                key="bank_lms_download",
                icon=":material/download:",
                on_click="ignore",
            )
