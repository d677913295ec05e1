"""Queueing jobs: each `submit_*` writes the job's progress row and defers its task.

The queue's own tables hold ids only (a job's arguments are its progress row's id); a job of
an account that is gone or being deleted is refused here. A learner's uploads run up to
`jobs_uploads_per_learner` at a time (lanes of their procrastinate `lock`), their other jobs
alone, at the learner's fair turn (`engine.jobs.fairness`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from engine import queueing
from engine.db.models import JobProgress, User
from engine.domain.vocabulary import JobKind, JobState
from engine.errors import DatabaseUnavailable, EngineError, InvalidInput, NotFound, RateLimited
from engine.interop.anki_import import limits as anki_limits
from engine.interop.anki_package import AnkiPackageRefused
from engine.jobs import progress as jp
from engine.jobs.fairness import fair_priority, upload_lane
from engine.jobs.spool import remove_spooled, spool_upload
from engine.library.quotas import check_page_quota
from engine.queueing import learner_lock, upload_lock
from engine.runtime import Runtime

log = logging.getLogger(__name__)

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
    (`engine.jobs.fairness`); on failure the row is removed again. An upload goes to the
    learner's least busy upload lane; every other job holds the learner's plain lock."""
    lock = None
    if user_id:
        lock = (
            upload_lock(user_id, upload_lane(rt, user_id))
            if task == JobKind.INGEST
            else learner_lock(user_id)
        )
    try:
        queue_job_id = queueing.defer(
            rt.queue,
            task,
            job_id=job_id,
            queue=queue,
            lock=lock,
            queueing_lock=queueing_lock,
            priority=fair_priority(rt, user_id) if user_id else 0,
        )
    except queueing.AlreadyWaiting:
        _forget(rt, job_id)
        raise AlreadyQueued(duplicate_message) from None
    except (queueing.QueueUnavailable, OperationalError) as e:
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
    cap = rt.settings.ingestion.upload_max_pending
    path, sha256, _ = spool_upload(rt, source=source, password=password)
    try:
        with rt.session_factory.begin() as session:
            # One learner's submissions are counted one at a time (row lock on the learner).
            _lock_live_user(session, user_id, exclusive=True)
            if jp.active_upload(session, user_id=user_id, sha256=sha256):
                raise AlreadyQueued(f"“{filename}” is already waiting to be read.")
            if jp.count_active(session, user_id=user_id, kind=JobKind.INGEST) >= cap:
                raise TooManyPendingUploads(
                    f"You already have {cap} uploads waiting to be read. Wait for one to "
                    "finish (or cancel one) before adding more."
                )
            check_page_quota(session, rt.settings, user_id=user_id, pages=0)
            job_id = jp.create(
                session,
                user_id=user_id,
                kind=JobKind.INGEST,
                label=filename,
                spool_path=str(path),
                params={"sha256": sha256},
            )
    except BaseException:
        remove_spooled(rt, path=path)
        raise
    _defer(rt, JobKind.INGEST, job_id, user_id=user_id, queue=queue)
    return job_id


def submit_anki_import(rt: Runtime, *, user_id: int, source: BinaryIO, filename: str) -> int:
    """Spool an Anki package to disk and queue its import (one waiting per learner); returns
    the job id. The job reports "Imported n of m notes" and ends with an AnkiImportResult.

    Raises:
        AnkiPackageRefused: larger than `anki_max_mb`.
        AlreadyQueued: an Anki import of this learner is already waiting.
        NotFound: the account is gone or being deleted.
    """
    max_bytes = anki_limits(rt).max_bytes

    def size_check(size: int) -> None:
        if size > max_bytes:
            raise AnkiPackageRefused(
                f"This Anki file is over {max_bytes / 1e6:.0f} MB, the largest accepted."
            )

    path, sha256, _ = spool_upload(rt, source=source, suffix=".apkg", size_check=size_check)
    try:
        job_id = _new_row(
            rt,
            user_id=user_id,
            kind=JobKind.IMPORT_ANKI,
            label=filename,
            spool_path=str(path),
            params={"sha256": sha256},
        )
    except BaseException:
        remove_spooled(rt, path=path)
        raise
    _defer(
        rt,
        JobKind.IMPORT_ANKI,
        job_id,
        user_id=user_id,
        queueing_lock=f"{JobKind.IMPORT_ANKI}:{user_id}",
        duplicate_message="An import from Anki is already waiting; wait for it to finish.",
    )
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
    job_id = _new_row(
        rt, user_id=user_id, kind=JobKind.GENERATE, label=label, total=count, params=params
    )
    _defer(rt, JobKind.GENERATE, job_id, user_id=user_id)
    return job_id


def _submit_one_at_a_time(
    rt: Runtime, kind: JobKind, *, user_id: int, label: str, already: str
) -> int:
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
        JobKind.FIT_FSRS,
        user_id=user_id,
        label="Personal FSRS parameters",
        already="A fit of your FSRS parameters is already waiting.",
    )


def submit_reindex(rt: Runtime, *, user_id: int) -> int:
    return _submit_one_at_a_time(
        rt,
        JobKind.REINDEX,
        user_id=user_id,
        label="Search index",
        already="Your search index is already waiting to be updated.",
    )


def submit_export(rt: Runtime, *, user_id: int) -> int:
    """Queue a zip of the learner's data; `export_path` gives the file once it is done."""
    return _submit_one_at_a_time(
        rt,
        JobKind.EXPORT,
        user_id=user_id,
        label="Export of my data",
        already="An export of your data is already waiting.",
    )


# Kinds an admin may queue again after they failed (an upload's file is removed when its
# ingestion fails, so it has to be uploaded again).
REQUEUABLE = (
    JobKind.GENERATE,
    JobKind.FIT_FSRS,
    JobKind.REINDEX,
    JobKind.EXPORT,
    JobKind.DELETE_ACCOUNT,
)
# Kinds of which a learner can have only one waiting (a queueing lock per kind and learner).
ONE_AT_A_TIME = (JobKind.FIT_FSRS, JobKind.REINDEX, JobKind.EXPORT, JobKind.DELETE_ACCOUNT)


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
        if row.outcome != JobState.FAILED:
            raise InvalidInput("Only a failed job can be retried.")
        if row.kind not in REQUEUABLE:
            raise InvalidInput(
                "This job cannot run again: its uploaded file was removed when "
                "it failed. The learner can upload the file again."
            )
        if row.kind != JobKind.DELETE_ACCOUNT and row.user_id is not None:
            _lock_live_user(session, row.user_id)
        row.outcome, row.stage, row.finished_at = JobState.QUEUED, JobState.QUEUED, None
        row.cancel_requested, row.dismissed, row.done = False, False, 0
        row.message, row.updated_at = "Waiting for a worker", func.now()
        user_id, kind = row.user_id, JobKind(row.kind)
    one_at_a_time = kind in ONE_AT_A_TIME
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
            rt,
            job_id,
            outcome=JobState.FAILED,
            message="Could not be queued again; it is still failed.",
        )
        raise


def _defer_again(
    rt: Runtime, kind: JobKind, job_id: int, *, user_id: int | None, queueing_lock: str | None
) -> None:
    try:
        queue_job_id = queueing.defer(
            rt.queue,
            kind,
            job_id=job_id,
            lock=learner_lock(user_id) if user_id else None,
            queueing_lock=queueing_lock,
        )
    except queueing.AlreadyWaiting:
        raise AlreadyQueued("The same work is already waiting for this learner.") from None
    except queueing.QueueUnavailable as e:
        raise DatabaseUnavailable(QUEUE_DOWN, detail=repr(e)) from e
    jp.note(rt, job_id, "Waiting for a worker", queue_job_id=queue_job_id)
