"""Background job widgets: one card per job (progress while it runs, outcome once it ended),
with Cancel and Dismiss. Labels and messages can hold file names and PDF titles, so every
string is escaped."""

from __future__ import annotations

import streamlit as st

from engine.domain.vocabulary import JobState
from engine.errors import EngineError
from engine.jobs import JobView, cancel_job, dismiss_job
from engine.jobs.results import GenerateResult, IngestResult, JobErrorKind
from ui.labels import JOB_KIND_LABELS, label
from ui.text import escape_markdown

ICONS = {
    JobState.DONE: ":material/check_circle:",
    JobState.FAILED: ":material/error:",
    JobState.CANCELLED: ":material/cancel:",
}


def outcome_text(job: JobView) -> str:
    """The learner-facing outcome of a finished job (escaped)."""
    r = job.result
    if isinstance(r, IngestResult):
        title = escape_markdown(r.title)
        if r.duplicate:
            return f"Already in your library as “{title}”; nothing was added."
        pages, chunks = r.pages, r.chunks
        return (
            f"Added “{title}”: {pages} page{'' if pages == 1 else 's'}, "
            f"{chunks} passage{'' if chunks == 1 else 's'}."
        )
    return escape_markdown(job.message)


def job_card(rt, job: JobView, *, user_id: int, key: str) -> None:  # Runtime
    """Show one job; Cancel while it runs, Dismiss once it has ended."""
    name = escape_markdown(job.label)
    with st.container(border=True):
        if not job.finished:
            text = f"{label(JOB_KIND_LABELS, job.kind)}: {name} · {escape_markdown(job.message)}"
            st.progress(job.fraction, text=text)
            if st.button(
                "Cancel",
                key=f"{key}_cancel_{job.id}",
                icon=":material/stop:",
                disabled=job.cancel_requested,
            ):
                try:
                    cancel_job(rt, job.id, user_id=user_id)
                except EngineError as e:
                    st.error(e.user_message)
                st.rerun()
            return
        message = f"**{name}**: {outcome_text(job)}"
        if job.outcome is JobState.DONE:
            st.success(message, icon=ICONS[JobState.DONE])
            r = job.result
            note = r.note if isinstance(r, (IngestResult, GenerateResult)) else None
            if note:
                st.warning(escape_markdown(note), icon=":material/warning:")
        elif job.outcome is JobState.CANCELLED:
            st.info(message, icon=ICONS[JobState.CANCELLED])
        elif job.error is JobErrorKind.PDF_ENCRYPTED:
            st.warning(message, icon=":material/lock:")
        else:
            st.error(message, icon=ICONS[JobState.FAILED])
        if st.button("Dismiss", key=f"{key}_dismiss_{job.id}", icon=":material/close:"):
            try:
                dismiss_job(rt, job.id, user_id=user_id)
            except EngineError as e:
                st.error(e.user_message)
            st.rerun()
