"""Profile & settings: download my data, delete my account."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import streamlit as st

from engine.domain.vocabulary import JobKind, JobState
from engine.errors import EngineError
from engine.jobs import ready_export, recent_jobs, submit_account_deletion, submit_export
from ui.auth import client_address, sign_out
from ui.jobs import job_card
from ui.text import escape_markdown

if TYPE_CHECKING:
    from ui.runtime import Runtime


def export_section(rt: Runtime, user_id: int) -> None:
    st.subheader("Export my data")
    st.caption(
        "A zip file with your materials list, questions, answers, review schedule, "
        "tutor conversations and settings as CSV and JSON files, plus the PDFs you "
        "uploaded (for files uploaded before originals were kept: the text read from "
        "them). It stays on the server "
        f"for {_hours(rt.settings.storage.export_ttl_h)} after it is ready, then it is "
        "removed."
    )
    try:
        latest = recent_jobs(rt, user_id=user_id, kinds=(JobKind.EXPORT,), limit=1)
    except EngineError as e:
        st.error(e.user_message)
        return
    job = latest[0] if latest else None
    running = job is not None and not job.finished
    if st.button("Prepare my data export", key="export_prepare", disabled=running):
        try:
            submit_export(rt, user_id=user_id)
        except EngineError as e:
            st.error(e.user_message)
            return
        st.rerun()
    _export_progress(rt, user_id, watching=running)


def _export_progress(rt: Runtime, user_id: int, *, watching: bool) -> None:
    """The export is prepared by a background job; its download appears when it is done."""

    @st.fragment(run_every=1.0 if watching else None)
    def _show() -> None:
        try:
            latest = recent_jobs(rt, user_id=user_id, kinds=(JobKind.EXPORT,), limit=1)
        except EngineError as e:
            st.error(e.user_message)
            return
        if not latest:
            return
        job = latest[0]
        if job.outcome is not JobState.DONE:
            job_card(rt, job, user_id=user_id, key="export_job")
            if watching and job.finished:
                st.rerun()
            return
        if watching:
            st.rerun()  # stop polling
        try:
            ready = ready_export(rt, job.id, user_id=user_id)
            data = ready.path.read_bytes()
        except EngineError as e:
            st.info(e.user_message)
            return
        st.caption(
            f"Ready to download until {ready.expires_at:%Y-%m-%d %H:%M} UTC; then it "
            "is removed from the server."
        )
        st.download_button(
            f"Download groundwork-export.zip ({len(data) / 1024:,.0f} KB)",
            data=data,
            file_name=f"groundwork-export-{dt.date.today():%Y-%m-%d}.zip",
            mime="application/zip",
            key="export_download",
            on_click="ignore",
            type="primary",
        )

    _show()


def _hours(hours: float) -> str:
    return "1 hour" if hours == 1 else f"{hours:g} hours"


DELETION_NOTICE = (
    "You have been signed out everywhere and your account is being deleted: "
    "every material, uploaded PDF, question, answer and review, tutor "
    "conversation, and your search index are removed in the background within "
    "moments."
)


def delete_section(rt: Runtime, user_id: int, email: str) -> None:
    st.subheader("Delete my account")
    with st.form("delete_account", clear_on_submit=True):
        st.warning(
            "This permanently deletes your account: every material and uploaded PDF, "
            "question, answer and review, tutor conversation, and your search index. "
            "It cannot be undone; export your data first if you want to keep a copy."
        )
        typed = st.text_input(
            f"To confirm, type your email ({escape_markdown(email)})", key="delete_confirm"
        )
        password = st.text_input(
            "Your password", type="password", key="delete_password", autocomplete="current-password"
        )
        if not st.form_submit_button("Delete my account permanently"):
            return
    try:
        submit_account_deletion(
            rt,
            user_id=user_id,
            confirm_email=typed,
            password=password,
            client_address=client_address(rt),
        )
    except EngineError as e:
        st.error(e.user_message)
        return
    sign_out(rt, notice=DELETION_NOTICE)
    st.rerun()


def account_data_section(rt: Runtime, user_id: int, email: str) -> None:
    """Both sections, at the end of the Profile & settings page."""
    st.divider()
    export_section(rt, user_id)
    delete_section(rt, user_id, email)
