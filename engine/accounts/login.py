"""Logging in, throttled per email and per client address.

A failed login never says whether the email exists, in its message or its timing: bcrypt runs
against a dummy hash for unknown emails, and throttling counts per email address whether or not
an account has it.

Each attempt is serialised per email (and per client address) with a transaction-scoped
PostgreSQL advisory lock, checked against the limits, and recorded as failed before the password
is checked, so parallel guesses cannot all pass the check before any of them is counted. bcrypt
then runs with no database connection held, under a per-process bound on concurrent checks, and a
right password turns the recorded attempt into a success.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, delete, func, select, text, update
from sqlalchemy.orm import Session

from engine.accounts.core import AccountInfo, account_info
from engine.accounts.emails import MAX_EMAIL_LENGTH, normalise_email
from engine.accounts.passwords import checked_password, dummy_hash
from engine.config import Settings
from engine.db.models import LoginAttempt, User
from engine.errors import AccountLocked, AuthenticationFailed, RateLimited

if TYPE_CHECKING:
    from engine.runtime import Runtime

log = logging.getLogger(__name__)

LOGIN_FAILED = "Wrong email or password."
# First key of the two-part advisory locks taken here (the second is a hash of the email or
# address), so they never collide with other uses of advisory locks.
_LOCK_EMAIL = 0x47574C45
_LOCK_ADDRESS = 0x47574C41


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _serialise(session: Session, normalised: str, address: str | None) -> None:
    # Always email first, then address: two attempts never wait on each other in a cycle.
    session.execute(text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))"),
                    {"ns": _LOCK_EMAIL, "key": normalised})
    if address:
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))"),
                        {"ns": _LOCK_ADDRESS, "key": address})


def _locked_until(failures: list[dt.datetime], n: int, settings: Settings) -> dt.datetime | None:
    """End of the lock when some run of `n` failures fits inside one window (the lock lasts
    `login_lockout_min` from the failure that completed the run), else None."""
    window = dt.timedelta(minutes=settings.accounts.login_failure_window_min)
    until = None
    for i in range(n - 1, len(failures)):
        if failures[i] - failures[i - n + 1] <= window:
            until = failures[i] + dt.timedelta(minutes=settings.accounts.login_lockout_min)
    return until


def _failures(session: Session, where: ColumnElement[bool], since: dt.datetime) -> list:
    return list(session.scalars(
        select(LoginAttempt.attempted_at)
        .where(where, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at > since)
        .order_by(LoginAttempt.attempted_at)
    ))


def _remaining_s(until: dt.datetime | None, now: dt.datetime) -> int:
    if until is None or until <= now:
        return 0
    return max(1, int((until - now).total_seconds() + 0.999))


def _email_lock_s(session: Session, normalised: str, now: dt.datetime, settings: Settings) -> int:
    """Seconds until this email may try again, or 0. A success resets its count."""
    horizon = now - dt.timedelta(minutes=settings.accounts.login_failure_window_min
                                 + settings.accounts.login_lockout_min)
    last_success = session.scalar(
        select(func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.email_normalized == normalised, LoginAttempt.succeeded.is_(True)))
    since = max(horizon, last_success) if last_success else horizon
    failures = _failures(session, LoginAttempt.email_normalized == normalised, since)
    limit = settings.accounts.login_max_failures
    return _remaining_s(_locked_until(failures, limit, settings), now)


def _address_lock_s(session: Session, address: str | None, now: dt.datetime,
                    settings: Settings) -> int:
    """Seconds until this client address may try again, or 0. Successes do not reset it
    (one account of one's own must not buy more guesses at others)."""
    limit = settings.accounts.login_max_failures_per_address
    if not address or limit <= 0:
        return 0
    since = now - dt.timedelta(minutes=settings.accounts.login_failure_window_min
                               + settings.accounts.login_lockout_min)
    failures = _failures(session, LoginAttempt.client_address == address, since)
    return _remaining_s(_locked_until(failures, limit, settings), now)


def _locked(remaining_s: int, whose: str) -> AccountLocked:
    minutes = (remaining_s + 59) // 60
    return AccountLocked(
        f"Too many failed logins {whose}. Try again in "
        f"{minutes} minute{'s' if minutes != 1 else ''}.",
        retry_after_s=remaining_s,
    )


def _record_attempt(rt: Runtime, normalised: str,
                    address: str | None, now: dt.datetime,
                    settings: Settings) -> tuple[int, int | None, str]:
    """Refuse a locked email or address; otherwise record a failed attempt and return
    (attempt id, user id or None, hash to check against)."""
    with rt.session_factory.begin() as session:
        _serialise(session, normalised, address)
        if remaining := _email_lock_s(session, normalised, now, settings):
            raise _locked(remaining, "for this account")
        if remaining := _address_lock_s(session, address, now, settings):
            raise _locked(remaining, "from your network")
        user = session.execute(select(User.id, User.password_hash)
                               .where(User.email_normalized == normalised)).first()
        attempt = LoginAttempt(email_normalized=normalised, user_id=user.id if user else None,
                               succeeded=False, attempted_at=now, client_address=address)
        session.add(attempt)
        session.flush()
        return attempt.id, (user.id if user else None), (user.password_hash if user
                                                         else dummy_hash())


def check_credentials(
    rt: Runtime,
    *,
    email: str,
    password: str,
    client_address: str | None = None,
    now: dt.datetime | None = None,
) -> int | None:
    """The user id when `password` is right for `email`, else None; throttled and recorded.

    Raises:
        AccountLocked: too many recent failures for this email or this client address.
        RateLimited: the server is too busy checking passwords right now.
    """
    settings = rt.settings
    now = now or _utcnow()
    normalised = normalise_email(email)[:MAX_EMAIL_LENGTH]
    address = client_address[:64] if client_address else None
    dummy_hash()  # computed once per process, never inside the transaction below
    attempt_id, user_id, password_hash = _record_attempt(rt, normalised, address,
                                                         now, settings)
    try:
        ok = checked_password(password, password_hash, settings) and user_id is not None
    except RateLimited:
        with rt.session_factory.begin() as session:  # never checked: not a failure of the owner
            session.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))
        raise
    if not ok:
        return None
    with rt.session_factory.begin() as session:
        session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id)
                        .values(succeeded=True))
        session.execute(update(User).where(User.id == user_id).values(last_login_at=now))
    return user_id


def authenticate(
    rt: Runtime,
    *,
    email: str,
    password: str,
    client_address: str | None = None,
    now: dt.datetime | None = None,
) -> AccountInfo:
    """Check a login.

    Raises:
        AccountLocked: too many recent failures for this email (known or not) or address.
        AuthenticationFailed: wrong email or password; the message never says which.
        RateLimited: the server is too busy checking passwords right now.
    """
    user_id = check_credentials(rt, email=email, password=password,
                                client_address=client_address, now=now)
    info = None
    if user_id is not None:
        with rt.session_factory() as session:
            info = account_info(session, user_id)
    if info is None:
        log.info("login failed")
        raise AuthenticationFailed(LOGIN_FAILED)
    log.info("login succeeded", extra={"user_id": info.user_id})
    return info


def prune_login_attempts(
    rt: Runtime, *, older_than: dt.timedelta, now: dt.datetime
) -> int:
    """Forget login attempts older than `older_than` (housekeeping)."""
    with rt.session_factory.begin() as session:
        result = session.execute(
            delete(LoginAttempt).where(LoginAttempt.attempted_at < now - older_than)
        )
    return result.rowcount or 0
