"""Background jobs on PostgreSQL (procrastinate): slow work runs in a worker, never in a page.

Pages call `submit_*` (returns the job's id at once), poll `get_job`/`recent_jobs` (progress
rows any process can read), and offer `cancel_job` and `dismiss_job`. A job belongs to one
learner: asking about another learner's job is reported as not found. Jobs of one learner run
one at a time, in order (procrastinate `lock`), so one learner's queue cannot hold every
worker; the same file cannot be queued twice at once.

The queue's own tables hold ids only (a job's arguments are its progress row's id; what else
it needs is in that row, which goes with the account). An account being deleted queues
nothing more, and a job of such an account does nothing when a worker picks it up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from engine import exports, queueing
from engine.domain.vocabulary import JobKind, JobState
from engine.errors import DatabaseUnavailable, InvalidInput, NotFound
from engine.jobs import progress as jp
from engine.jobs.account_deletion import (
    start_account_deletion,
    stop_learner_jobs,
    submit_account_deletion,
)
from engine.jobs.progress import JobView
from engine.jobs.results import ExportResult
from engine.jobs.spool import remove_spooled
from engine.jobs.submission import (
    QUEUE_DOWN,
    AlreadyQueued,
    TooManyPendingUploads,
    requeue_failed_job,
    submit_anki_import,
    submit_export,
    submit_fsrs_fit,
    submit_generation,
    submit_ingestion,
    submit_reindex,
)
from engine.runtime import Runtime

# The account's deletion job and the submissions live in their own modules; pages import
# everything from `engine.jobs`.
__all__ = [
    "AlreadyQueued",
    "JobView",
    "ReadyExport",
    "TooManyPendingUploads",
    "active_job",
    "cancel_job",
    "dismiss_finished_jobs",
    "dismiss_job",
    "export_path",
    "get_job",
    "ready_export",
    "recent_jobs",
    "requeue_failed_job",
    "start_account_deletion",
    "stop_learner_jobs",
    "submit_account_deletion",
    "submit_anki_import",
    "submit_export",
    "submit_fsrs_fit",
    "submit_generation",
    "submit_ingestion",
    "submit_reindex",
]


@dataclass(frozen=True)
class ReadyExport:
    """A finished data export the learner can download until `expires_at` (UTC)."""

    path: Path
    expires_at: dt.datetime


EXPORT_EXPIRED = (
    "That export has expired and was removed from the server. Prepare a new one "
    "to download your data."
)


def ready_export(
    rt: Runtime, job_id: int, *, user_id: int, now: dt.datetime | None = None
) -> ReadyExport:
    """The finished export's zip and when it expires; an expired one is removed here.

    Raises:
        NotFound: another learner's job, not finished, expired (then removed) or missing.
    """
    job = get_job(rt, job_id, user_id=user_id)
    made = isinstance(job.result, ExportResult)
    path = exports.export_file(rt, user_id=user_id, job_id=job.id) if made else None
    if job.outcome is not JobState.DONE or path is None or job.finished_at is None:
        raise NotFound("That export is not available (it may not have finished yet).")
    expires = exports.expires_at(rt, job.finished_at)
    if expires <= (now or dt.datetime.now(dt.UTC)):
        exports.remove_export_file(rt, path.name)
        raise NotFound(EXPORT_EXPIRED)
    if not path.is_file():
        raise NotFound(
            "That export is no longer on the server. Prepare a new one to download your data."
        )
    return ReadyExport(path=path, expires_at=expires)


def export_path(rt: Runtime, job_id: int, *, user_id: int) -> Path:
    """The finished export's zip (NotFound for another learner's job, a missing or an
    expired file)."""
    return ready_export(rt, job_id, user_id=user_id).path


def get_job(rt: Runtime, job_id: int, *, user_id: int) -> JobView:
    """Raises NotFound for unknown jobs and other learners' jobs."""
    return jp.get(rt, job_id, user_id=user_id)


# How long a finished job stays listed on the Library page unless dismissed sooner.
FINISHED_SHOWN_FOR = dt.timedelta(days=1)


def recent_jobs(
    rt: Runtime,
    *,
    user_id: int,
    kinds: tuple[JobKind, ...] | None = None,
    limit: int = 20,
    finished_within: dt.timedelta | None = None,
) -> list[JobView]:
    """The learner's jobs not dismissed, newest first. An upload whose material was deleted
    is not listed; with `finished_within`, neither are jobs that finished longer ago."""
    return jp.recent(rt, user_id=user_id, kinds=kinds, limit=limit, finished_within=finished_within)


def active_job(rt: Runtime, *, user_id: int, kind: JobKind) -> JobView | None:
    """The learner's newest job of `kind` that has not finished, if any."""
    jobs = recent_jobs(rt, user_id=user_id, kinds=(kind,), limit=5)
    return next((j for j in jobs if not j.finished), None)


def cancel_job(rt: Runtime, job_id: int, *, user_id: int) -> JobView:
    """Cancel a waiting job at once, or ask a running one to stop at its next step."""
    with rt.session_factory.begin() as session:
        row = jp.owned(session, job_id, user_id, lock=True)
        if row.outcome not in jp.ACTIVE:
            raise InvalidInput("This job has already finished.")
        row.cancel_requested = True
        queue_job_id, spool = row.queue_job_id, row.spool_path
    try:
        if queue_job_id is not None and queueing.cancel(rt.queue, queue_job_id):
            jp.finish(
                rt, job_id, outcome=JobState.CANCELLED, message="Cancelled before it started."
            )
            if spool:
                remove_spooled(rt, path=Path(spool))
        elif queue_job_id is not None:
            queueing.cancel(rt.queue, queue_job_id, abort=True)
            jp.note(rt, job_id, "Stopping…")
    except queueing.QueueUnavailable as e:
        raise DatabaseUnavailable(QUEUE_DOWN, detail=repr(e)) from e
    return get_job(rt, job_id, user_id=user_id)


def dismiss_job(rt: Runtime, job_id: int, *, user_id: int) -> None:
    """Hide a finished job; a dismissed export's file is removed (it is no longer offered)."""
    job = get_job(rt, job_id, user_id=user_id)
    jp.dismiss(rt, job_id, user_id=user_id)
    if job.kind is JobKind.EXPORT:
        exports.remove_export_file(rt, exports.export_file(rt, user_id=user_id, job_id=job_id).name)


def dismiss_finished_jobs(
    rt: Runtime, *, user_id: int, kinds: tuple[JobKind, ...] | None = None
) -> int:
    """Hide all of the learner's finished jobs (of `kinds`) for good, as `dismiss_job` does
    one by one (a dismissed export's file is removed); returns how many were hidden."""
    hidden = jp.dismiss_finished(rt, user_id=user_id, kinds=kinds)
    for job_id, kind in hidden:
        if kind is JobKind.EXPORT:
            name = exports.export_file(rt, user_id=user_id, job_id=job_id).name
            exports.remove_export_file(rt, name)
    return len(hidden)
