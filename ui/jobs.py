"""Background job widgets: one card per job (progress while it runs, outcome once it ended),
with Cancel and Dismiss, and a compact list of finished jobs with Dismiss all. Labels and
messages can hold file names and PDF titles, so every string is escaped."""

from __future__ import annotations

import streamlit as st

from engine.domain.vocabulary import JobKind, JobState
from engine.errors import EngineError
from engine.jobs import JobView, cancel_job, dismiss_finished_jobs, dismiss_job
from engine.jobs.results import GenerateResult, IngestResult, JobErrorKind
from ui.labels import JOB_KIND_LABELS, label
from ui.text import escape_markdown, plural

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


def _note(job: JobView) -> str | None:
    r = job.result
    return r.note if isinstance(r, (IngestResult, GenerateResult)) else None


def _icon(job: JobView) -> str:
    if job.error is JobErrorKind.PDF_ENCRYPTED:
        return ":material/lock:"
    return ICONS.get(job.outcome, ICONS[JobState.FAILED])


def _dismiss(rt, job_id: int, *, user_id: int) -> None:  # Runtime
    try:
        dismiss_job(rt, job_id, user_id=user_id)
    except EngineError as e:
        st.error(e.user_message)


def finished_list(
    rt,  # Runtime
    finished: list[JobView],
    *,
    user_id: int,
    key: str,
    kinds: tuple[JobKind, ...],
) -> None:
    """Finished jobs as one compact list (one line each, folded away when there are many),
    with Dismiss per line and Dismiss all (the learner's finished jobs of `kinds`)."""
    if not finished:
        return
    title = f"Finished: {plural(len(finished), 'job')}"
    with st.expander(title, expanded=len(finished) <= 3, icon=":material/done_all:"):
        for job in finished:
            text, action = st.columns([10, 2], vertical_alignment="center")
            line = f"{_icon(job)} **{escape_markdown(job.label)}**: {outcome_text(job)}"
            text.markdown(line)
            note = _note(job) if job.outcome is JobState.DONE else None
            if note:
                text.caption(escape_markdown(note))
            if action.button("Dismiss", key=f"{key}_dismiss_{job.id}", type="tertiary"):
                _dismiss(rt, job.id, user_id=user_id)
                st.rerun()
    if st.button("Dismiss all", key=f"{key}_dismiss_all", icon=":material/clear_all:"):
        try:
            dismiss_finished_jobs(rt, user_id=user_id, kinds=kinds)
        except EngineError as e:
            st.error(e.user_message)
        st.rerun()
