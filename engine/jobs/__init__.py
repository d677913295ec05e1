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
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from procrastinate.exceptions import AlreadyEnqueued, ConnectorException
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from engine import exports
from engine.accounts import check_credentials, normalise_email, revoke_user_sessions
from engine.admin.access import LAST_ADMIN, count_other_admins
from engine.db.models import JobProgress, User
from engine.errors import (
    AuthenticationFailed,
    DatabaseUnavailable,
    EngineError,
    InvalidInput,
    NotFound,
    RateLimited,
)
from engine.jobs import progress as jp
from engine.jobs.fairness import fair_priority
from engine.jobs.progress import JobView
from engine.jobs.queue import learner_lock, purge_learner_jobs
from engine.jobs.spool import remove_spooled, spool_upload
from engine.runtime import Runtime

log = logging.getLogger(__name__)

__all__ = [
    "JobView",
    "ReadyExport",
    "TooManyPendingUploads",
    "cancel_job",
    "dismiss_job",
    "export_path",
    "get_job",
    "ready_export",
    "recent_jobs",
    "requeue_failed_job",
    "start_account_deletion",
    "stop_learner_jobs",
    "submit_account_deletion",
    "submit_export",
    "submit_fsrs_fit",
    "submit_generation",
    "submit_ingestion",
    "submit_reindex",
]

QUEUE_DOWN = (
    "The job queue cannot be reached right now (the database may be restarting). "
    "Nothing was queued; please try again in a moment."
)
ACCOUNT_GONE = "Your account no longer exists or is being deleted; nothing was queued."


class TooManyPendingUploads(RateLimited):
    """The learner already has `upload_max_pending` uploads waiting or being read."""


class AlreadyQueued(InvalidInput):
    """The same work (the same file, a running re-index) is already waiting."""


def _defer(
    rt: Runtime,
    task: str,
    job_id: int,
    *,
    user_id: int | None,
    queueing_lock: str | None = None,
    duplicate_message: str = "",
    queue: str | None = None,
) -> None:
    """Queue `task` for progress row `job_id` (its only argument: the queue holds ids only,
    the rest is in the row), on `queue` (None: the default one) at the learner's fair turn
    (`engine.jobs.fairness`); on failure the row is removed again."""
    try:
        deferrer = rt.queue.configure_task(
            task,
            queue=queue,
            lock=learner_lock(user_id) if user_id else None,
            queueing_lock=queueing_lock,
            priority=fair_priority(rt, user_id) if user_id else 0,
        )
        queue_job_id = deferrer.defer(job_id=job_id)
    except AlreadyEnqueued:
        _forget(rt, job_id)
        raise AlreadyQueued(duplicate_message) from None
    except (ConnectorException, OperationalError) as e:
        _forget(rt, job_id)
        raise DatabaseUnavailable(QUEUE_DOWN, detail=repr(e)) from e
    jp.note(rt, job_id, "Waiting for a worker", queue_job_id=queue_job_id)


def _forget(rt: Runtime, job_id: int) -> None:
    try:
        with rt.session_factory.begin() as session:
            row = session.get(JobProgress, job_id)
            if row is not None:
                if row.spool_path:
                    remove_spooled(rt, path=Path(row.spool_path))
                session.delete(row)
    except Exception:  # the database itself is down: the row says 'queued' until dismissed
        log.exception("could not remove the progress row of a job that was not queued")


def _lock_live_user(session: Session, user_id: int, *, exclusive: bool = False) -> None:
    """Lock the learner's row (shared: many submissions at once; exclusive: one at a time)
    and refuse an account that is gone or being deleted. The deletion mark takes the same row
    exclusively, so a job is either queued before it (and stopped by it) or refused."""
    q = select(User.deleting_since).where(User.id == user_id)
    found = session.execute(q.with_for_update(read=not exclusive)).first()
    if found is None or found.deleting_since is not None:
        raise NotFound(ACCOUNT_GONE)


def _new_row(rt: Runtime, *, user_id: int, **fields: object) -> int:
    with rt.session_factory.begin() as session:
        _lock_live_user(session, user_id)
        return jp.create(session, user_id=user_id, **fields)  # type: ignore[arg-type]


def submit_ingestion(
    rt: Runtime,
    *,
    user_id: int,
    source: BinaryIO,
    filename: str,
    password: str | None = None,
    queue: str | None = None,
) -> int:
    """Spool an uploaded PDF to disk and queue its ingestion; returns the job id.

    Every worker takes jobs from every queue; `queue` names one that a worker of the caller's
    own may also serve (the command line's, see `engine.cli.library`).

    Raises:
        TooManyPendingUploads: the learner already has `upload_max_pending` uploads waiting.
        AlreadyQueued: the same file is already waiting to be read.
        PdfTooLarge: larger than `upload_max_mb`.
        NotFound: the account is gone or being deleted.
        QuotaExceeded: the learner's library is full, or they added their pages for the day.
    """
    from engine.library.quotas import check_page_quota

    cap = rt.settings.ingestion.upload_max_pending
    path, sha256, _ = spool_upload(rt, source=source, password=password)
    try:
        with rt.session_factory.begin() as session:
            # One learner's submissions are counted one at a time (row lock on the learner).
            _lock_live_user(session, user_id, exclusive=True)
            if jp.active_upload(session, user_id=user_id, sha256=sha256):
                raise AlreadyQueued(f"“{filename}” is already waiting to be read.")
            if jp.count_active(session, user_id=user_id, kind="ingest") >= cap:
                raise TooManyPendingUploads(
                    f"You already have {cap} uploads waiting to be read. Wait for one to "
                    "finish (or cancel one) before adding more."
                )
            check_page_quota(session, rt.settings, user_id=user_id, pages=0)
            job_id = jp.create(
                session,
                user_id=user_id,
                kind="ingest",
                label=filename,
                spool_path=str(path),
                params={"sha256": sha256},
            )
    except BaseException:
        remove_spooled(rt, path=path)
        raise
    _defer(rt, "ingest", job_id, user_id=user_id, queue=queue)
    return job_id


def submit_generation(
    rt: Runtime,
    *,
    user_id: int,
    material_ids: list[int] | None,
    topic: str | None,
    question_type: str,
    difficulty: int,
    count: int,
) -> int:
    """Queue a generation batch; its drafts arrive in the job's result."""
    if not 1 <= count <= rt.settings.generation.max_count:
        raise InvalidInput(f"Choose between 1 and {rt.settings.generation.max_count} questions.")
    params = {
        "material_ids": list(material_ids or []),
        "topic": topic or "",
        "question_type": question_type,
        "difficulty": int(difficulty),
        "count": int(count),
    }
    label = f"{count} question(s)" + (f" on {topic}" if topic else "")
    job_id = _new_row(rt, user_id=user_id, kind="generate", label=label, total=count, params=params)
    _defer(rt, "generate", job_id, user_id=user_id)
    return job_id


def _submit_one_at_a_time(rt: Runtime, kind: str, *, user_id: int, label: str, already: str) -> int:
    """Queue a job of which a learner can have only one waiting (a queueing lock per kind)."""
    job_id = _new_row(rt, user_id=user_id, kind=kind, label=label)
    _defer(
        rt,
        kind,
        job_id,
        user_id=user_id,
        queueing_lock=f"{kind}:{user_id}",
        duplicate_message=already,
    )
    return job_id


def submit_fsrs_fit(rt: Runtime, *, user_id: int) -> int:
    return _submit_one_at_a_time(
        rt,
        "fit_fsrs",
        user_id=user_id,
        label="Personal FSRS parameters",
        already="A fit of your FSRS parameters is already waiting.",
    )


def submit_reindex(rt: Runtime, *, user_id: int) -> int:
    return _submit_one_at_a_time(
        rt,
        "reindex",
        user_id=user_id,
        label="Search index",
        already="Your search index is already waiting to be updated.",
    )


def submit_export(rt: Runtime, *, user_id: int) -> int:
    """Queue a zip of the learner's data; `export_path` gives the file once it is done."""
    return _submit_one_at_a_time(
        rt,
        "export",
        user_id=user_id,
        label="Export of my data",
        already="An export of your data is already waiting.",
    )


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
    name = (job.result or {}).get("file") if job.kind == "export" else None
    path = exports.export_file(rt, user_id=user_id, job_id=job.id) if name else None
    if job.outcome != "done" or path is None or job.finished_at is None:
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


def submit_account_deletion(
    rt: Runtime,
    *,
    user_id: int,
    confirm_email: str,
    password: str,
    client_address: str | None = None,
) -> int:
    """Start deleting the account; returns the deletion job's id.

    The typed email and the password are checked first (the password like a login: throttled
    and counted, so this is no way to guess it); a wrong one changes nothing. Then, in one
    transaction, the account is marked as being deleted (from then on it queues nothing and
    none of its jobs starts) and every one of its sessions ends (other tabs are signed out on
    their next run). Once the deletion job is queued, the learner's other jobs are stopped and
    their queue rows and spooled uploads removed (`stop_learner_jobs`); the deletion job, which
    runs after the learner's running job (same lock), removes everything else.

    Raises:
        InvalidInput: `confirm_email` is not the account's email, or the account is the last
            admin's.
        AuthenticationFailed: the password is wrong.
        AccountLocked, RateLimited: as for a login.
        NotFound: the account is gone.
        AlreadyQueued: the account is already being deleted.
        DatabaseUnavailable: the queue cannot be reached; the account is left as it was
            (signed out).
    """
    with rt.session_factory() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("That account does not exist (it may have been deleted).")
        if user.deleting_since is not None:
            raise AlreadyQueued("Your account is already being deleted.")
        email = user.email_normalized
    if normalise_email(confirm_email or "") != email:
        raise InvalidInput("To delete your account, type its email address exactly as shown.")
    if (
        check_credentials(rt, email=email, password=password or "", client_address=client_address)
        != user_id
    ):
        raise AuthenticationFailed("That password is not right. Nothing was deleted.")
    return start_account_deletion(rt, user_id=user_id)


def start_account_deletion(
    rt: Runtime, *, user_id: int, on_marked: Callable[[Session], None] | None = None
) -> int:
    """Mark the account as being deleted, end its sessions, queue its deletion job and stop
    its other jobs (see `submit_account_deletion`; an admin's deletion calls this directly
    with `on_marked`, run in the marking transaction, e.g. to audit it). Returns the job id.

    Raises:
        NotFound: the account is gone or already being deleted.
        InvalidInput: the account is the last admin's.
        DatabaseUnavailable: the queue cannot be reached; the account is left as it was.
    """
    with rt.session_factory.begin() as session:
        _lock_live_user(session, user_id, exclusive=True)
        if (
            session.scalar(select(User.role).where(User.id == user_id)) == "admin"
            and count_other_admins(session, user_id) == 0
        ):
            raise InvalidInput(LAST_ADMIN)
        session.execute(update(User).where(User.id == user_id).values(deleting_since=func.now()))
        revoke_user_sessions(session, user_id=user_id)
        job_id = jp.create(session, user_id=user_id, kind="delete_account", label="My account")
        if on_marked is not None:
            on_marked(session)
    try:
        _defer(
            rt,
            "delete_account",
            job_id,
            user_id=user_id,
            queueing_lock=f"delete_account:{user_id}",
            duplicate_message="Your account is already waiting to be deleted.",
        )
    except EngineError:
        with rt.session_factory.begin() as session:  # not queued: the account stays usable
            session.execute(update(User).where(User.id == user_id).values(deleting_since=None))
        raise
    stop_learner_jobs(rt, user_id=user_id)
    log.info("account deletion started", extra={"user_id": user_id, "job": job_id})
    return job_id


def stop_learner_jobs(rt: Runtime, *, user_id: int) -> int:
    """Stop every job of the learner and forget its queue history: waiting and running jobs
    are asked to stop, the learner's queue rows that are not running are removed (waiting ones
    never run), and every spooled upload (with its stored PDF password) is deleted. Returns
    how many queue rows went. The account's deletion job is left alone (waiting, or running
    this).
    """
    with rt.session_factory.begin() as session:
        jp.stop_all(session, user_id=user_id)
        purged = purge_learner_jobs(session, user_id=user_id)
        spooled = list(
            session.scalars(
                select(JobProgress.spool_path).where(
                    JobProgress.user_id == user_id, JobProgress.spool_path.is_not(None)
                )
            )
        )
    for path in spooled:
        if path is not None:  # the query asked for set paths only
            remove_spooled(rt, path=Path(path))
    return purged


def get_job(rt: Runtime, job_id: int, *, user_id: int) -> JobView:
    """Raises NotFound for unknown jobs and other learners' jobs."""
    return jp.get(rt, job_id, user_id=user_id)


def recent_jobs(
    rt: Runtime, *, user_id: int, kinds: tuple[str, ...] | None = None, limit: int = 20
) -> list[JobView]:
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


# Kinds an admin may queue again after they failed (an upload's file is removed when its
# ingestion fails, so it has to be uploaded again).
REQUEUABLE = ("generate", "fit_fsrs", "reindex", "export", "delete_account")


def requeue_failed_job(rt: Runtime, job_id: int) -> None:
    """Queue a failed job again with the same progress row (admin console's retry).

    Raises:
        NotFound: no such job, or its account is gone.
        InvalidInput: the job did not fail, or its kind cannot run again.
    """
    with rt.session_factory.begin() as session:
        row = session.get(JobProgress, job_id, with_for_update=True)
        if row is None:
            raise NotFound("That job was not found.")
        if row.outcome != "failed":
            raise InvalidInput("Only a failed job can be retried.")
        if row.kind not in REQUEUABLE:
            raise InvalidInput(
                "This job cannot run again: its uploaded file was removed when "
                "it failed. The learner can upload the file again."
            )
        if row.kind != "delete_account" and row.user_id is not None:
            _lock_live_user(session, row.user_id)
        row.outcome, row.stage, row.finished_at = "queued", "queued", None
        row.cancel_requested, row.dismissed, row.done = False, False, 0
        row.message, row.updated_at = "Waiting for a worker", func.now()
        user_id, kind = row.user_id, row.kind
    one_at_a_time = kind in ("fit_fsrs", "reindex", "export", "delete_account")
    try:
        _defer_again(
            rt,
            kind,
            job_id,
            user_id=user_id,
            queueing_lock=f"{kind}:{user_id}" if one_at_a_time else None,
        )
    except EngineError:
        jp.finish_again(
            rt, job_id, outcome="failed", message="Could not be queued again; it is still failed."
        )
        raise


def _defer_again(
    rt: Runtime, kind: str, job_id: int, *, user_id: int | None, queueing_lock: str | None
) -> None:
    try:
        deferrer = rt.queue.configure_task(
            kind, lock=learner_lock(user_id) if user_id else None, queueing_lock=queueing_lock
        )
        queue_job_id = deferrer.defer(job_id=job_id)
    except AlreadyEnqueued:
        raise AlreadyQueued("The same work is already waiting for this learner.") from None
    except ConnectorException as e:
        raise DatabaseUnavailable(QUEUE_DOWN, detail=repr(e)) from e
    jp.note(rt, job_id, "Waiting for a worker", queue_job_id=queue_job_id)


def dismiss_job(rt: Runtime, job_id: int, *, user_id: int) -> None:
    """Hide a finished job; a dismissed export's file is removed (it is no longer offered)."""
    job = get_job(rt, job_id, user_id=user_id)
    jp.dismiss(rt, job_id, user_id=user_id)
    if job.kind == "export":
        exports.remove_export_file(rt, exports.export_file(rt, user_id=user_id, job_id=job_id).name)
