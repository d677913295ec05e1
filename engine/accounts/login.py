"""Logging in, throttled per email and per client address.

A failed login never says whether the email exists, in its message or its timing: bcrypt runs
against a dummy hash for unknown emails, and throttling counts per email address whether or not
an account has it.

Each attempt is serialised per email (and per client address) with a transaction-scoped
PostgreSQL advisory lock, checked against the limits, and recorded as failed before the password
is checked, so parallel guesses cannot all pass the check before any of them is counted. The
locks are only ever *tried*: an attempt that finds them taken gives its connection back to the
pool and tries again a moment later, so a flood on one email waits without holding connections
and ends in "busy, try again" after `login_lock_wait_s`. bcrypt then runs with no database
connection held, under a per-process bound on concurrent checks, and a right password turns the
recorded attempt into a success.

A browser holding a valid device cookie for the email (engine/accounts/devices.py) is throttled
per device instead of per email and per address, so an attacker failing on someone's email
locks out untrusted browsers only, never the owner's known one.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import ColumnElement, delete, func, select, text, update
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from engine.accounts.core import AccountInfo, account_info
from engine.accounts.devices import device_hash
from engine.accounts.emails import MAX_EMAIL_LENGTH, normalise_email
from engine.accounts.passwords import checked_password, dummy_hash
from engine.config import Settings
from engine.db.models import LoginAttempt, User
from engine.db.session import affected_rows
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


_T = TypeVar("_T")
_GATES = [threading.Lock() for _ in range(64)]  # striped by the first lock's key
BUSY = "The server is busy with other logins. Try again in a moment."


def busy() -> RateLimited:
    """The "busy, try again" refusal (nothing was recorded or checked)."""
    return RateLimited(BUSY, retry_after_s=5)


def _try_locks(session: Session, locks: list[tuple[int, str]]) -> bool:
    for namespace, key in locks:
        if not session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:ns, hashtext(:key))"),
            {"ns": namespace, "key": key},
        ):
            return False
    return True


def run_locked(
    rt: Runtime, locks: list[tuple[int, str]], work: Callable[[Session], _T], *, wait_s: float
) -> _T:
    """Run `work` in one transaction holding every advisory lock in `locks`.

    Threads of this process first queue for the first key in memory. The database locks are
    then tried, never waited for inside a transaction: when one is taken (by another process,
    or on the address) the transaction ends (giving its connection back to the pool and
    dropping any lock it got) and is tried again after a short, growing, jittered pause.

    Raises:
        RateLimited: the locks (or a pooled connection) did not come free within `wait_s`.
    """
    deadline = time.monotonic() + wait_s
    # Threads of this process queue for the first key here, without a connection, so a flood
    # on one email takes at most one pooled connection per process at a time.
    gate = _GATES[hash(locks[0]) % len(_GATES)]
    if not gate.acquire(timeout=wait_s):
        raise busy()
    try:
        pause = 0.005
        while True:
            try:
                with rt.session_factory.begin() as session:
                    if _try_locks(session, locks):
                        return work(session)
            except PoolTimeout as e:  # every connection busy: the same answer, in time
                log.warning("login waited for a database connection: %s", type(e).__name__)
                raise busy() from e
            if time.monotonic() + pause > deadline:
                raise busy()
            time.sleep(pause * random.uniform(0.5, 1.0))
            pause = min(pause * 2, 0.2)
    finally:
        gate.release()


def _lock_keys(normalised: str, address: str | None) -> list[tuple[int, str]]:
    # Always email first, then address.
    return [(_LOCK_EMAIL, normalised)] + ([(_LOCK_ADDRESS, address)] if address else [])


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
    return list(
        session.scalars(
            select(LoginAttempt.attempted_at)
            .where(where, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at > since)
            .order_by(LoginAttempt.attempted_at)
        )
    )


def _remaining_s(until: dt.datetime | None, now: dt.datetime) -> int:
    if until is None or until <= now:
        return 0
    return max(1, int((until - now).total_seconds() + 0.999))


def _email_lock_s(session: Session, normalised: str, now: dt.datetime, settings: Settings) -> int:
    """Seconds until untrusted browsers (no device cookie) may try this email again, or 0.
    A success from an untrusted browser resets its count (one from the owner's known browser
    does not: it would hand the attacker a fresh set of guesses)."""
    horizon = now - dt.timedelta(
        minutes=settings.accounts.login_failure_window_min + settings.accounts.login_lockout_min
    )
    last_success = session.scalar(
        select(func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.email_normalized == normalised,
            LoginAttempt.device_hash.is_(None),
            LoginAttempt.succeeded.is_(True),
        )
    )
    since = max(horizon, last_success) if last_success else horizon
    failures = _failures(
        session,
        (LoginAttempt.email_normalized == normalised) & LoginAttempt.device_hash.is_(None),
        since,
    )
    limit = settings.accounts.login_max_failures
    return _remaining_s(_locked_until(failures, limit, settings), now)


def _device_lock_s(session: Session, device: str, now: dt.datetime, settings: Settings) -> int:
    """Seconds until this device may try its email again, or 0 (a success resets it)."""
    horizon = now - dt.timedelta(
        minutes=settings.accounts.login_failure_window_min + settings.accounts.login_lockout_min
    )
    last_success = session.scalar(
        select(func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.device_hash == device, LoginAttempt.succeeded.is_(True)
        )
    )
    since = max(horizon, last_success) if last_success else horizon
    failures = _failures(session, LoginAttempt.device_hash == device, since)
    limit = settings.accounts.login_max_failures
    return _remaining_s(_locked_until(failures, limit, settings), now)


def _address_lock_s(
    session: Session, address: str | None, now: dt.datetime, settings: Settings
) -> int:
    """Seconds until this client address may try again, or 0. Successes do not reset it
    (one account of one's own must not buy more guesses at others)."""
    limit = settings.accounts.login_max_failures_per_address
    if not address or limit <= 0:
        return 0
    since = now - dt.timedelta(
        minutes=settings.accounts.login_failure_window_min + settings.accounts.login_lockout_min
    )
    failures = _failures(session, LoginAttempt.client_address == address, since)
    return _remaining_s(_locked_until(failures, limit, settings), now)


def _locked(remaining_s: int, whose: str) -> AccountLocked:
    minutes = (remaining_s + 59) // 60
    return AccountLocked(
        f"Too many failed logins {whose}. Try again in "
        f"{minutes} minute{'s' if minutes != 1 else ''}.",
        retry_after_s=remaining_s,
    )


def _record_attempt(
    rt: Runtime,
    normalised: str,
    address: str | None,
    device: str | None,
    now: dt.datetime,
    settings: Settings,
) -> tuple[int, int | None, str]:
    """Refuse a locked email, address or device; otherwise record a failed attempt and return
    (attempt id, user id or None, hash to check against)."""

    def record(session: Session) -> tuple[int, int | None, str]:
        if device is not None:  # the owner's known browser: its own count only
            if remaining := _device_lock_s(session, device, now, settings):
                raise _locked(remaining, "in this browser")
        else:
            if remaining := _email_lock_s(session, normalised, now, settings):
                raise _locked(remaining, "for this account")
            if remaining := _address_lock_s(session, address, now, settings):
                raise _locked(remaining, "from your network")
        user = session.execute(
            select(User.id, User.password_hash).where(User.email_normalized == normalised)
        ).first()
        attempt = LoginAttempt(
            email_normalized=normalised,
            user_id=user.id if user else None,
            succeeded=False,
            attempted_at=now,
            client_address=address,
            device_hash=device,
        )
        session.add(attempt)
        session.flush()
        return (
            attempt.id,
            (user.id if user else None),
            (user.password_hash if user else dummy_hash()),
        )

    return run_locked(
        rt, _lock_keys(normalised, address), record, wait_s=settings.accounts.login_lock_wait_s
    )


def check_credentials(
    rt: Runtime,
    *,
    email: str,
    password: str,
    client_address: str | None = None,
    device_token: str | None = None,
    now: dt.datetime | None = None,
) -> int | None:
    """The user id when `password` is right for `email`, else None; throttled and recorded.

    `device_token` is the browser's device cookie, if any: valid for this email, the attempt
    is throttled per device instead of per email and address.

    Raises:
        AccountLocked: too many recent failures for this email, client address or device.
        RateLimited: the server is too busy checking passwords right now.
    """
    settings = rt.settings
    now = now or _utcnow()
    normalised = normalise_email(email)[:MAX_EMAIL_LENGTH]
    address = client_address[:64] if client_address else None
    device = device_hash(device_token, email, rt.cookie_key) if device_token else None
    dummy_hash()  # computed once per process, never inside the transaction below
    attempt_id, user_id, password_hash = _record_attempt(
        rt, normalised, address, device, now, settings
    )
    try:
        ok = checked_password(password, password_hash, settings) and user_id is not None
    except RateLimited:
        with rt.session_factory.begin() as session:  # never checked: not a failure of the owner
            session.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))
        raise
    if not ok:
        return None
    try:
        with rt.session_factory.begin() as session:
            session.execute(
                update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(succeeded=True)
            )
            session.execute(update(User).where(User.id == user_id).values(last_login_at=now))
    except PoolTimeout as e:
        log.warning("login waited for a database connection: %s", type(e).__name__)
        raise busy() from e
    return user_id


def authenticate(
    rt: Runtime,
    *,
    email: str,
    password: str,
    client_address: str | None = None,
    device_token: str | None = None,
    now: dt.datetime | None = None,
) -> AccountInfo:
    """Check a login (`device_token`: the browser's device cookie, if any).

    Raises:
        AccountLocked: too many recent failures for this email (known or not), address or
            device.
        AuthenticationFailed: wrong email or password; the message never says which.
        RateLimited: the server is too busy with other logins right now.
    """
    user_id = check_credentials(
        rt,
        email=email,
        password=password,
        client_address=client_address,
        device_token=device_token,
        now=now,
    )
    info = None
    if user_id is not None:
        try:
            with rt.session_factory() as session:
                info = account_info(session, user_id)
        except PoolTimeout as e:
            log.warning("login waited for a database connection: %s", type(e).__name__)
            raise busy() from e
    if info is None:
        log.info("login failed")
        raise AuthenticationFailed(LOGIN_FAILED)
    log.info("login succeeded", extra={"user_id": info.user_id})
    return info


def prune_login_attempts(rt: Runtime, *, older_than: dt.timedelta, now: dt.datetime) -> int:
    """Forget login attempts older than `older_than` (housekeeping)."""
    with rt.session_factory.begin() as session:
        result = session.execute(
            delete(LoginAttempt).where(LoginAttempt.attempted_at < now - older_than)
        )
    return affected_rows(result)
