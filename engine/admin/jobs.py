"""Background work in the admin console: waiting, running and failed jobs of every learner by
kind, with retry (failed jobs) and cancel (waiting or running ones). Audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from engine import jobs
from engine.admin.access import audit, require_admin
from engine.db.models import JobProgress, User
from engine.domain.vocabulary import JobKind, JobState
from engine.errors import InvalidInput, NotFound
from engine.jobs.progress import ACTIVE

if TYPE_CHECKING:
    from engine.runtime import Runtime

OUTCOMES = (JobState.QUEUED, JobState.RUNNING, JobState.FAILED)
JOB_NOT_FOUND = "That job was not found (it may have been dismissed or its account deleted)."


@dataclass(frozen=True)
class AdminJob:
    id: int
    kind: JobKind
    label: str  # from the learner (e.g. a file name): untrusted
    outcome: JobState
    message: str
    owner: str  # the learner's email, or '' for server work
    attempts: int
    created_at: dt.datetime
    updated_at: dt.datetime


def job_counts(rt: Runtime, *, actor_id: int) -> dict[tuple[JobKind, JobState], int]:
    """How many jobs are waiting ('queued'), running and failed, by (kind, outcome)."""
    with rt.session_factory() as session:
        require_admin(session, actor_id)
        rows = session.execute(
            select(JobProgress.kind, JobProgress.outcome, func.count())
            .where(JobProgress.outcome.in_(OUTCOMES))
            .group_by(JobProgress.kind, JobProgress.outcome)
        ).all()
    return {(JobKind(kind), JobState(outcome)): n for kind, outcome, n in rows}


def list_jobs(
    rt: Runtime,
    *,
    actor_id: int,
    outcome: JobState,
    kind: JobKind | None = None,
    limit: int = 50,
) -> list[AdminJob]:
    """The newest jobs with this outcome (and kind), of every learner."""
    if outcome not in OUTCOMES:
        raise InvalidInput("Choose waiting, running or failed jobs.")
    q = (
        select(JobProgress, User.email)
        .outerjoin(User, User.id == JobProgress.user_id)
        .where(JobProgress.outcome == outcome)
        .order_by(JobProgress.id.desc())
        .limit(limit)
    )
    if kind:
        q = q.where(JobProgress.kind == kind)
    with rt.session_factory() as session:
        require_admin(session, actor_id)
        return [
            AdminJob(
                j.id,
                JobKind(j.kind),
                j.label,
                JobState(j.outcome),
                j.message,
                email or "",
                j.attempts,
                j.created_at,
                j.updated_at,
            )
            for j, email in session.execute(q)
        ]


def _job(session, job_id: int) -> tuple[JobProgress, User | None]:
    row = session.get(JobProgress, job_id)
    if row is None:
        raise NotFound(JOB_NOT_FOUND)
    return row, (session.get(User, row.user_id) if row.user_id is not None else None)


def retry_job(rt: Runtime, *, actor_id: int, job_id: int) -> None:
    """Queue a failed job again.

    Raises:
        Forbidden, NotFound; InvalidInput: not failed, or a kind that cannot run again.
    """
    with rt.session_factory.begin() as session:
        actor = require_admin(session, actor_id)
        row, owner = _job(session, job_id)
        kind = row.kind
    jobs.requeue_failed_job(rt, job_id)
    with rt.session_factory.begin() as session:
        audit(
            session,
            actor,
            "retry_job",
            target=session.merge(owner) if owner else None,
            detail=f"job {job_id} ({kind})",
        )


def cancel_job(rt: Runtime, *, actor_id: int, job_id: int) -> None:
    """Cancel a waiting job, or ask a running one to stop.

    Raises:
        Forbidden, NotFound; InvalidInput: the job has finished.
    """
    with rt.session_factory() as session:
        actor = require_admin(session, actor_id)
        row, owner = _job(session, job_id)
        if row.outcome not in ACTIVE:
            raise InvalidInput("This job has already finished.")
        if owner is None:
            raise InvalidInput("Server work (the nightly check) cannot be cancelled here.")
        owner_id, kind = owner.id, row.kind
    jobs.cancel_job(rt, job_id, user_id=owner_id)
    with rt.session_factory.begin() as session:
        audit(
            session,
            actor,
            "cancel_job",
            target=session.get(User, owner_id),
            detail=f"job {job_id} ({kind})",
        )
