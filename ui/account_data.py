"""Profile & settings: download my data, delete my account."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from engine.account_data import delete_account, export_account_bytes
from engine.errors import EngineError
from engine.runtime import Runtime
from ui.auth import sign_out
from ui.text import escape_markdown


def export_section(rt: Runtime, user_id: int) -> None:
    st.subheader("Export my data")
    st.caption("A zip file with your materials list, questions, answers, review schedule and "
               "settings as CSV and JSON files, plus the PDFs you uploaded (for files uploaded "
               "before originals were kept: the text read from them).")
    if not st.button("Prepare my data export", key="export_prepare"):
        return
    try:
        with st.spinner("Collecting your data…"):
            data = export_account_bytes(rt, user_id=user_id)
    except EngineError as e:
        st.error(e.user_message)
        return
    st.download_button(
        f"Download groundwork-export.zip ({len(data) / 1024:,.0f} KB)", data=data,
        file_name=f"groundwork-export-{dt.date.today():%Y-%m-%d}.zip",
        mime="application/zip", key="export_download", on_click="ignore", type="primary")


def delete_section(rt: Runtime, user_id: int, email: str) -> None:
    st.subheader("Delete my account")
    with st.form("delete_account", clear_on_submit=True):
        st.warning("This permanently deletes your account: every material and uploaded PDF, "
                   "question, answer and review, and your search index. It cannot be undone; "
                   "export your data first if you want to keep a copy.")
        typed = st.text_input(f"To confirm, type your email ({escape_markdown(email)})",
                              key="delete_confirm")
        if not st.form_submit_button("Delete my account permanently"):
            return
    try:
        delete_account(rt, user_id=user_id, confirm_email=typed)
    except EngineError as e:
        st.error(e.user_message)
        return
    sign_out(rt, notice="Your account and all its data were deleted.")
    st.rerun()


def account_data_section(rt: Runtime, user_id: int, email: str) -> None:
    """Both sections, at the end of the Profile & settings page."""
    st.divider()
    export_section(rt, user_id)
    delete_section(rt, user_id, email)
