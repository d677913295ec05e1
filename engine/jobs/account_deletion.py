"""Deleting an account as a job: checked, marked, its sessions ended and its other jobs
stopped before the deletion job (`engine.jobs.tasks.delete_account_body`) removes the rest."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.accounts import check_credentials, normalise_email, revoke_user_sessions
from engine.admin.access import LAST_ADMIN, count_other_admins
from engine.db.models import JobProgress, User
from engine.domain.vocabulary import JobKind
from engine.errors import AuthenticationFailed, EngineError, InvalidInput, NotFound
from engine.jobs import progress as jp
from engine.jobs.spool import remove_spooled
from engine.jobs.submission import AlreadyQueued, _defer, _lock_live_user
from engine.queueing import purge_learner_jobs
from engine.runtime import Runtime

log = logging.getLogger(__name__)


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
        job_id = jp.create(
            session, user_id=user_id, kind=JobKind.DELETE_ACCOUNT, label="My account"
        )
        if on_marked is not None:
            on_marked(session)
    try:
        _defer(
            rt,
            JobKind.DELETE_ACCOUNT,
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
        if path:  # the query reads rows that have one
            remove_spooled(rt, path=Path(path))
    return purged
