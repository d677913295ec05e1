"""Background jobs on PostgreSQL (procrastinate): slow work runs in a worker, never in a page.

Pages call `submit_*` (returns the job's id at once), poll `get_job`/`recent_jobs` (progress
rows any process can read), and offer `cancel_job` and `dismiss_job`. A job belongs to one
learner: asking about another learner's job is reported as not found. Jobs of one learner run
one at a time, in order (procrastinate `lock`), so one learner's queue cannot hold every
worker; the same file cannot be queued twice at once (`queueing_lock`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import BinaryIO

from procrastinate.exceptions import AlreadyEnqueued, ConnectorException
from sqlalchemy.exc import OperationalError

from engine.errors import DatabaseUnavailable, InvalidInput, RateLimited
from engine.jobs import progress as jp
from engine.jobs.fairness import fair_priority, learner_lock
from engine.jobs.progress import JobView
from engine.jobs.spool import remove_spooled, spool_upload
from engine.runtime import Runtime

log = logging.getLogger(__name__)

__all__ = ["JobView", "TooManyPendingUploads", "cancel_job", "dismiss_job", "get_job",
           "export_path", "recent_jobs", "submit_account_deletion", "submit_export",
           "submit_fsrs_fit", "submit_generation", "submit_ingestion",
           "submit_reindex"]

QUEUE_DOWN = ("The job queue cannot be reached right now (the database may be restarting). "
              "Nothing was queued; please try again in a moment.")


class TooManyPendingUploads(RateLimited):
    """The learner already has `upload_max_pending` uploads waiting or being read."""


class AlreadyQueued(InvalidInput):
    """The same work (the same file, a running re-index) is already waiting."""


def _defer(rt: Runtime, task: str, job_id: int, *, user_id: int | None,
           queueing_lock: str | None = None, duplicate_message: str = "",
           queue: str | None = None, **kwargs: object) -> None:
    """Queue `task` for progress row `job_id`; on failure the row is removed again."""
    try:
        deferrer = rt.queue.configure_task(
            task, queue=queue, lock=learner_lock(user_id) if user_id else None,
            queueing_lock=queueing_lock, priority=fair_priority(rt, user_id) if user_id else 0)
        queue_job_id = deferrer.defer(job_id=job_id, **kwargs)
    except AlreadyEnqueued:
        _forget(rt, job_id)
        raise AlreadyQueued(duplicate_message) from None
    except (ConnectorException, OperationalError) as e:
        _forget(rt, job_id)
        raise DatabaseUnavailable(QUEUE_DOWN, detail=repr(e)) from e
    jp.note(rt, job_id, "Waiting for a worker", queue_job_id=queue_job_id)


def _forget(rt: Runtime, job_id: int) -> None:
    from engine.db.models import JobProgress

    try:
        with rt.session_factory.begin() as session:
            row = session.get(JobProgress, job_id)
            if row is not None:
                if row.spool_path:
                    remove_spooled(rt, path=Path(row.spool_path))
                session.delete(row)
    except Exception:  # the database itself is down: the row says 'queued' until dismissed
        log.exception("could not remove the progress row of a job that was not queued")


def _new_row(rt: Runtime, **fields: object) -> int:
    with rt.session_factory.begin() as session:
        return jp.create(session, **fields)  # type: ignore[arg-type]


def submit_ingestion(rt: Runtime, *, user_id: int, source: BinaryIO, filename: str,
                     password: str | None = None, queue: str | None = None) -> int:
    """Spool an uploaded PDF to disk and queue its ingestion; returns the job id.

    Every worker takes jobs from every queue; `queue` names one that a worker of the caller's
    own may also serve (the command line's, see `engine.cli.library`).

    Raises:
        TooManyPendingUploads: the learner already has `upload_max_pending` uploads waiting.
        AlreadyQueued: the same file is already waiting to be read.
        PdfTooLarge: larger than `upload_max_mb`.
        QuotaExceeded: the learner's library is full, or they added their pages for the day.
    """
    from engine.db.models import User
    from engine.library.quotas import check_page_quota

    cap = rt.settings.ingestion.upload_max_pending
    path, sha256, _ = spool_upload(rt, source=source, password=password)
    try:
        with rt.session_factory.begin() as session:
            # One learner's submissions are counted one at a time (row lock on the learner).
            session.get(User, user_id, with_for_update=True)
            if jp.count_active(session, user_id=user_id, kind="ingest") >= cap:
                raise TooManyPendingUploads(
                    f"You already have {cap} uploads waiting to be read. Wait for one to "
                    "finish (or cancel one) before adding more.")
            check_page_quota(session, rt.settings, user_id=user_id, pages=0)
            job_id = jp.create(session, user_id=user_id, kind="ingest", label=filename,
                               spool_path=str(path))
    except BaseException:
        remove_spooled(rt, path=path)
        raise
    _defer(rt, "ingest", job_id, user_id=user_id, queue=queue,
           queueing_lock=f"ingest:{user_id}:{sha256}",
           duplicate_message=f"“{filename}” is already waiting to be read.")
    return job_id


def submit_generation(rt: Runtime, *, user_id: int, material_ids: list[int] | None,
                      topic: str | None, question_type: str, difficulty: int,
                      count: int) -> int:
    """Queue a generation batch; its drafts arrive in the job's result."""
    if not 1 <= count <= rt.settings.generation.max_count:
        raise InvalidInput(f"Choose between 1 and {rt.settings.generation.max_count} "
                           "questions.")
    params = {"material_ids": list(material_ids or []), "topic": topic or "",
              "question_type": question_type, "difficulty": int(difficulty),
              "count": int(count)}
    label = f"{count} question(s)" + (f" on {topic}" if topic else "")
    job_id = _new_row(rt, user_id=user_id, kind="generate", label=label, total=count)
    _defer(rt, "generate", job_id, user_id=user_id, params=params)
    return job_id


def _submit_one_at_a_time(rt: Runtime, kind: str, *, user_id: int, label: str,
                          already: str) -> int:
    """Queue a job of which a learner can have only one waiting (a queueing lock per kind)."""
    job_id = _new_row(rt, user_id=user_id, kind=kind, label=label)
    _defer(rt, kind, job_id, user_id=user_id, queueing_lock=f"{kind}:{user_id}",
           duplicate_message=already)
    return job_id


def submit_fsrs_fit(rt: Runtime, *, user_id: int) -> int:
    return _submit_one_at_a_time(
        rt, "fit_fsrs", user_id=user_id, label="Personal FSRS parameters",
        already="A fit of your FSRS parameters is already waiting.")


def submit_reindex(rt: Runtime, *, user_id: int) -> int:
    return _submit_one_at_a_time(
        rt, "reindex", user_id=user_id, label="Search index",
        already="Your search index is already waiting to be updated.")


def submit_export(rt: Runtime, *, user_id: int) -> int:
    """Queue a zip of the learner's data; `export_path` gives the file once it is done."""
    return _submit_one_at_a_time(rt, "export", user_id=user_id, label="Export of my data",
                                 already="An export of your data is already waiting.")


def export_path(rt: Runtime, job_id: int, *, user_id: int) -> Path:
    """The finished export's zip (NotFound for another learner's job or a missing file)."""
    from engine.errors import NotFound

    job = get_job(rt, job_id, user_id=user_id)
    name = (job.result or {}).get("file") if job.kind == "export" else None
    path = rt.settings.storage.data_dir / "exports" / name if name else None
    if job.outcome != "done" or path is None or not path.is_file():
        raise NotFound("That export is not available (it may not have finished yet).")
    return path


def submit_account_deletion(rt: Runtime, *, user_id: int, confirm_email: str) -> int:
    """Queue the deletion of the account; runs after the learner's other jobs (same lock).

    The typed email is checked here first, so a mistyped confirmation queues nothing
    (InvalidInput). The job removes every row, the search index and the uploaded files.
    """
    from engine.account_data import check_deletion_confirmation

    check_deletion_confirmation(rt, user_id=user_id, confirm_email=confirm_email)
    job_id = _new_row(rt, user_id=user_id, kind="delete_account", label="My account")
    _defer(rt, "delete_account", job_id, user_id=user_id, confirm_email=confirm_email,
           queueing_lock=f"delete_account:{user_id}",
           duplicate_message="Your account is already waiting to be deleted.")
    return job_id


def get_job(rt: Runtime, job_id: int, *, user_id: int) -> JobView:
    """Raises NotFound for unknown jobs and other learners' jobs."""
    return jp.get(rt, job_id, user_id=user_id)


def recent_jobs(rt: Runtime, *, user_id: int, kinds: tuple[str, ...] | None = None,
                limit: int = 20) -> list[JobView]:
    return jp.recent(rt, user_id=user_id, kinds=kinds, limit=limit)


def active_job(rt: Runtime, *, user_id: int, kind: str) -> JobView | None:
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
    manager = rt.queue.job_manager
    try:
        if queue_job_id is not None and manager.cancel_job_by_id(queue_job_id):
            jp.finish(rt, job_id, outcome="cancelled", message="Cancelled before it started.")
            if spool:
                remove_spooled(rt, path=Path(spool))
        elif queue_job_id is not None:
            manager.cancel_job_by_id(queue_job_id, abort=True)
            jp.note(rt, job_id, "Stopping…")
    except ConnectorException as e:
        raise DatabaseUnavailable(QUEUE_DOWN, detail=repr(e)) from e
    return get_job(rt, job_id, user_id=user_id)


def dismiss_job(rt: Runtime, job_id: int, *, user_id: int) -> None:
    jp.dismiss(rt, job_id, user_id=user_id)

