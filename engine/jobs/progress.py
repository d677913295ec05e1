"""The `job_progress` rows: created when a job is queued, updated by the worker, read by pages.

Every read and write names the owner, so one learner never sees or touches another's jobs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, update
from sqlalchemy.orm import Session

from engine.db.models import JobProgress, Material, User
from engine.domain.vocabulary import JobKind, JobState, MaterialStatus
from engine.errors import InvalidInput, NotFound
from engine.jobs.results import JobErrorKind, JobFailure, JobResult, parse_result

if TYPE_CHECKING:
    from engine.runtime import Runtime

ACTIVE = (JobState.QUEUED, JobState.RUNNING)


class JobCancelled(Exception):
    """Raised inside a job when its learner asked to cancel it."""


@dataclass(frozen=True)
class JobView:
    id: int
    user_id: int | None
    kind: JobKind
    label: str
    stage: str
    done: int
    total: int
    message: str
    outcome: JobState
    result: JobResult | None
    cancel_requested: bool
    dismissed: bool
    attempts: int
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @property
    def finished(self) -> bool:
        return self.outcome not in ACTIVE

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def error(self) -> JobErrorKind | None:
        """Why the job failed (None unless it did and says why)."""
        return self.result.error if isinstance(self.result, JobFailure) else None


def _view(row: JobProgress) -> JobView:
    kind, outcome = JobKind(row.kind), JobState(row.outcome)
    return JobView(
        row.id,
        row.user_id,
        kind,
        row.label,
        row.stage,
        row.done,
        row.total,
        row.message,
        outcome,
        parse_result(kind, outcome, row.result),
        row.cancel_requested,
        row.dismissed,
        row.attempts,
        row.created_at,
        row.finished_at,
    )


def create(
    session: Session,
    *,
    user_id: int | None,
    kind: JobKind,
    label: str,
    spool_path: str | None = None,
    total: int = 0,
    params: dict | None = None,
) -> int:
    row = JobProgress(
        user_id=user_id,
        kind=kind,
        label=label[:500],
        spool_path=spool_path,
        total=total,
        params=params,
        message="Waiting for a worker",
    )
    session.add(row)
    session.flush()
    return row.id


def owned(session: Session, job_id: int, user_id: int, *, lock: bool = False) -> JobProgress:
    q = select(JobProgress).where(JobProgress.id == job_id, JobProgress.user_id == user_id)
    row = session.scalar(q.with_for_update() if lock else q)
    if row is None:
        raise NotFound("That job was not found. It may have been dismissed.")
    return row


def get(rt: Runtime, job_id: int, *, user_id: int) -> JobView:
    with rt.session_factory() as session:
        return _view(owned(session, job_id, user_id))


def _material_gone() -> ColumnElement[bool]:
    """A finished upload whose material is deleted (or being deleted): its card means
    nothing any more. Material ids are never reused."""
    material_id = JobProgress.result["material_id"].as_integer()
    return and_(
        JobProgress.kind == JobKind.INGEST,
        # A job without a result (still waiting or running) has no material to lose.
        func.coalesce(JobProgress.result.has_key("material_id"), false()),
        ~exists().where(
            Material.id == material_id,
            Material.user_id == JobProgress.user_id,
            Material.status != MaterialStatus.DELETING,
        ),
    )


def recent(
    rt: Runtime,
    *,
    user_id: int,
    kinds: tuple[str, ...] | None = None,
    limit: int = 20,
    finished_within: dt.timedelta | None = None,
) -> list[JobView]:
    """The learner's jobs that are not dismissed, newest first; an upload whose material was
    deleted is left out, and with `finished_within` so are jobs that finished longer ago."""
    q = (
        select(JobProgress)
        .where(JobProgress.user_id == user_id, ~JobProgress.dismissed, ~_material_gone())
        .order_by(JobProgress.id.desc())
        .limit(limit)
    )
    if kinds:
        q = q.where(JobProgress.kind.in_(kinds))
    if finished_within is not None:
        q = q.where(
            or_(
                JobProgress.outcome.in_(ACTIVE),
                JobProgress.finished_at.is_(None),
                JobProgress.finished_at > func.now() - finished_within,
            )
        )
    with rt.session_factory() as session:
        return [_view(r) for r in session.scalars(q)]


def count_active(session: Session, *, user_id: int, kind: JobKind) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(JobProgress)
            .where(
                JobProgress.user_id == user_id,
                JobProgress.kind == kind,
                JobProgress.outcome.in_(ACTIVE),
            )
        )
        or 0
    )


def active_upload(session: Session, *, user_id: int, sha256: str) -> bool:
    """Whether the learner has an upload of this file waiting or being read."""
    return (
        session.scalar(
            select(JobProgress.id)
            .where(
                JobProgress.user_id == user_id,
                JobProgress.kind == JobKind.INGEST,
                JobProgress.outcome.in_(ACTIVE),
                JobProgress.params["sha256"].astext == sha256,
            )
            .limit(1)
        )
        is not None
    )


def stop_all(session: Session, *, user_id: int) -> None:
    """Ask every waiting or running job of the learner to stop (in the caller's transaction):
    a waiting one never starts, a running one stops at its next progress report. The account's
    deletion job is not one of them."""
    session.execute(
        update(JobProgress)
        .where(
            JobProgress.user_id == user_id,
            JobProgress.kind != JobKind.DELETE_ACCOUNT,
            JobProgress.outcome.in_(ACTIVE),
        )
        .values(cancel_requested=True, updated_at=func.now())
    )


def row(rt: Runtime, job_id: int) -> JobProgress | None:
    with rt.session_factory() as session:
        return session.get(JobProgress, job_id)


def start(rt: Runtime, job_id: int) -> JobProgress | None:
    """Mark the job running (one more attempt). None when it was cancelled or is finished,
    or when its learner's account is gone or being deleted (only the deletion itself runs)."""
    with rt.session_factory.begin() as session:
        r = session.get(JobProgress, job_id, with_for_update=True)
        if r is None or r.outcome not in ACTIVE:
            return None
        if r.cancel_requested:
            return None
        if r.user_id is not None and r.kind != JobKind.DELETE_ACCOUNT:
            deleting = session.execute(
                select(User.deleting_since).where(User.id == r.user_id)
            ).first()
            if deleting is None or deleting.deleting_since is not None:
                r.outcome, r.stage = JobState.CANCELLED, JobState.CANCELLED
                r.finished_at = func.now()
                r.message = "Not run: the account is being deleted."
                session.flush()
                session.expunge(r)
                return None
        r.outcome, r.stage, r.attempts = JobState.RUNNING, "starting", r.attempts + 1
        r.message = "Started" if r.attempts == 1 else f"Started again (attempt {r.attempts})"
        r.updated_at = func.now()
        session.flush()
        session.expunge(r)
        return r


def report(rt: Runtime, job_id: int, *, stage: str, done: int, total: int, message: str) -> None:
    """Record progress; raises JobCancelled when the learner asked to cancel."""
    with rt.session_factory.begin() as session:
        cancel = session.scalar(
            update(JobProgress)
            .where(JobProgress.id == job_id)
            .values(
                stage=stage[:40],
                done=max(0, done),
                total=max(0, total),
                message=message,
                updated_at=func.now(),
            )
            .returning(JobProgress.cancel_requested)
        )
    if cancel:
        raise JobCancelled()


def note(rt: Runtime, job_id: int, message: str, **values: Any) -> None:
    with rt.session_factory.begin() as session:
        session.execute(
            update(JobProgress)
            .where(JobProgress.id == job_id)
            .values(message=message, updated_at=func.now(), **values)
        )


def finish(
    rt: Runtime, job_id: int, *, outcome: JobState, message: str, result: JobResult | None = None
) -> None:
    values: dict[str, Any] = {
        "outcome": outcome,
        "message": message,
        "stage": outcome,
        "finished_at": func.now(),
        "updated_at": func.now(),
    }
    if result is not None:
        values["result"] = result.to_dict()
    with rt.session_factory.begin() as session:
        session.execute(
            update(JobProgress)
            .where(JobProgress.id == job_id, JobProgress.outcome.in_(ACTIVE))
            .values(**values)
        )


def finish_again(rt: Runtime, job_id: int, *, outcome: JobState, message: str) -> None:
    """Put back a finished outcome on a row that was about to run again but was not queued."""
    with rt.session_factory.begin() as session:
        session.execute(
            update(JobProgress)
            .where(JobProgress.id == job_id)
            .values(
                outcome=outcome,
                stage=outcome,
                message=message,
                finished_at=func.now(),
                updated_at=func.now(),
            )
        )


def dismiss(rt: Runtime, job_id: int, *, user_id: int) -> None:
    """Hide a finished job from the learner's list (active jobs cannot be dismissed)."""
    with rt.session_factory.begin() as session:
        r = owned(session, job_id, user_id, lock=True)
        if r.outcome in ACTIVE:
            raise InvalidInput("This job is still running. Cancel it first.")
        r.dismissed = True


def dismiss_finished(
    rt: Runtime, *, user_id: int, kinds: tuple[str, ...] | None = None
) -> list[tuple[int, JobKind]]:
    """Hide every finished job of the learner (of `kinds`) for good; returns the (id, kind)
    of each job hidden now. Waiting and running jobs stay."""
    q = (
        update(JobProgress)
        .where(
            JobProgress.user_id == user_id,
            ~JobProgress.dismissed,
            JobProgress.outcome.not_in(ACTIVE),
        )
        .values(dismissed=True, updated_at=func.now())
        .returning(JobProgress.id, JobProgress.kind)
    )
    if kinds:
        q = q.where(JobProgress.kind.in_(kinds))
    with rt.session_factory.begin() as session:
        return [(job_id, JobKind(kind)) for job_id, kind in session.execute(q)]
