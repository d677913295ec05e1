"""Password reset links: "Forgot password?" on the sign-in page (the link is sent by email)
and the links an admin makes in the console.

A link carries a random token; only its SHA-256 is stored, with an expiry
(`password_reset_ttl_min`). It works once: setting a password with it spends it and every
other open link of the account, and ends every session of the account.

A request always gets the same answer, whether or not an account has the address, and is
handled the same way: it is recorded (with a keyed hash of the address asked for, never the
address) under the same locks, the limits count every request per address asked for and per
client address within `password_reset_window_min`, and the email goes out on a background
thread, so neither the answer, its timing nor the limits tell which addresses have accounts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from engine.accounts.addresses import MAX_ADDRESS_LENGTH
from engine.accounts.core import account_info
from engine.accounts.emails import email_problem, normalise_email
from engine.accounts.login import run_locked
from engine.accounts.passwords import checked_hash, password_problems
from engine.accounts.registration import window_refusal
from engine.accounts.sessions import revoke_user_sessions
from engine.config import Settings
from engine.db.models import PasswordReset, User
from engine.db.session import affected_rows
from engine.errors import InvalidInput, RateLimited
from engine.mail import app_link, links_by_email, send_later

if TYPE_CHECKING:
    from engine.runtime import Runtime

log = logging.getLogger(__name__)

RESET_UNKNOWN = (
    "This password reset link is not valid. Check that you copied all of it, or ask for a new one."
)
RESET_EXPIRED = "This password reset link has expired. Ask for a new one."
RESET_USED = (
    "This password reset link was already used (each link works once). Ask for a new one "
    "if you need to."
)
RESET_UNAVAILABLE = (
    "Password reset by email is not available on this server: ask the person who runs it "
    "for a reset link."
)
MAX_TOKEN_LENGTH = 200
# First keys of the advisory locks that serialise requests per address asked for and per
# client address (see engine/accounts/login.py).
_LOCK_EMAIL = 0x47575245
_LOCK_ADDRESS = 0x47575241


def requested_message(settings: Settings) -> str:
    """The one answer to every request that was taken (account or not)."""
    minutes = settings.accounts.password_reset_ttl_min
    return (
        "If an account has this email address, a link to choose a new password is on its "
        f"way. It works once, for {minutes} minutes. If no email arrives, check the spam "
        "folder or ask the person who runs this server."
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def email_key(rt: Runtime, email_normalized: str) -> str:
    """The keyed hash a request is counted under (the address itself is not kept)."""
    key = hmac.new(rt.cookie_key.encode(), b"groundwork password-reset v1", hashlib.sha256)
    return hmac.new(key.digest(), email_normalized.encode(), hashlib.sha256).hexdigest()


def issue_token(
    session: Session,
    rt: Runtime,
    *,
    user: User,
    now: dt.datetime,
    issued_by: int | None = None,
    client_address: str | None = None,
) -> tuple[str, dt.datetime]:
    """Record a new one-time link for `user` in the caller's transaction; returns its token
    (a secret: never log it) and expiry."""
    token = secrets.token_urlsafe(32)
    expires = now + dt.timedelta(minutes=rt.settings.accounts.password_reset_ttl_min)
    session.add(
        PasswordReset(
            email_hash=email_key(rt, user.email_normalized),
            user_id=user.id,
            token_hash=token_hash(token),
            issued_by=issued_by,
            client_address=client_address,
            requested_at=now,
            expires_at=expires,
        )
    )
    return token, expires


def reset_email(*, name: str, url: str, expires_at: dt.datetime) -> tuple[str, str]:
    """The subject and plain-text body of a reset link's email."""
    body = (
        f"Hello {name},\n\n"
        "Someone (we hope you) asked to choose a new password for your Groundwork account.\n"
        "Open this link to choose it:\n\n"
        f"{url}\n\n"
        f"The link works once, until {expires_at:%Y-%m-%d %H:%M} UTC. Choosing a new "
        "password signs you out on every device.\n\n"
        "If you did not ask for this, ignore this email: your password stays as it is.\n"
    )
    return "Choose a new Groundwork password", body


def _refusal(
    session: Session, rt: Runtime, key: str, address: str | None, now: dt.datetime
) -> RateLimited | None:
    a = rt.settings.accounts
    window = dt.timedelta(minutes=a.password_reset_window_min)
    asked = PasswordReset.issued_by.is_(None) & (PasswordReset.requested_at > now - window)
    checks: list[tuple[int, ColumnElement[bool], str]] = [
        (
            a.password_reset_max_per_email,
            PasswordReset.email_hash == key,
            "Too many password reset requests for this email address.",
        )
    ]
    if address:
        checks.append(
            (
                a.password_reset_max_per_address,
                PasswordReset.client_address == address,
                "Too many password reset requests from your network.",
            )
        )
    for limit, where, message in checks:
        if limit > 0:
            n, oldest = session.execute(
                select(func.count(), func.min(PasswordReset.requested_at)).where(asked, where)
            ).one()
            if n >= limit:
                return window_refusal(message, oldest=oldest, now=now, window=window)
    return None


def request_password_reset(
    rt: Runtime, *, email: str, client_address: str | None = None, now: dt.datetime | None = None
) -> str:
    """ "Forgot password?": email a one-time link to the account with this address, if there
    is one (active: not disabled or being deleted). Returns the answer to show, the same
    whether or not an account has the address.

    Raises:
        InvalidInput: email is not set up on this server, or the address is malformed.
        RateLimited: too many requests for this address or from this client address lately,
            or the server is busy.
    """
    settings = rt.settings
    if not links_by_email(settings):
        raise InvalidInput(RESET_UNAVAILABLE)
    if (problem := email_problem(email)) is not None:
        raise InvalidInput(problem)
    now = now or dt.datetime.now(dt.UTC)
    normalised = normalise_email(email)
    key = email_key(rt, normalised)
    address = client_address[:MAX_ADDRESS_LENGTH] if client_address else None

    def record(session: Session) -> tuple[str, str, str, dt.datetime] | None:
        if (refused := _refusal(session, rt, key, address, now)) is not None:
            raise refused
        user = session.scalar(select(User).where(User.email_normalized == normalised))
        if user is None or account_info(session, user.id) is None:
            session.add(PasswordReset(email_hash=key, client_address=address, requested_at=now))
            return None
        token, expires = issue_token(session, rt, user=user, now=now, client_address=address)
        return user.email, user.display_name, token, expires

    locks = [(_LOCK_EMAIL, key)] + ([(_LOCK_ADDRESS, address)] if address else [])
    found = run_locked(rt, locks, record, wait_s=settings.accounts.login_lock_wait_s)
    if found is not None:
        to, name, token, expires = found
        assert settings.deployment.base_url is not None  # links_by_email checked it
        subject, body = reset_email(
            name=name, url=app_link(settings.deployment.base_url, reset=token), expires_at=expires
        )
        send_later(settings, to=to, subject=subject, body=body)
    log.info("password reset requested")  # nothing that tells whether an account matched
    return requested_message(settings)


def _problem(row: PasswordReset | None, now: dt.datetime) -> str | None:
    if row is None or row.expires_at is None:
        return RESET_UNKNOWN
    if row.used_at is not None:
        return RESET_USED
    if row.expires_at <= now:
        return RESET_EXPIRED
    return None


def _find(session: Session, token: str | None, *, lock: bool = False) -> PasswordReset | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    q = select(PasswordReset).where(PasswordReset.token_hash == token_hash(token))
    return session.scalar(q.with_for_update() if lock else q)


def reset_problem(rt: Runtime, token: str | None, now: dt.datetime | None = None) -> str | None:
    """Why this reset link cannot be used now (unknown, used, expired), or None when it can."""
    with rt.session_factory() as session:
        return _problem(_find(session, token), now or dt.datetime.now(dt.UTC))


def reset_password_with_token(
    rt: Runtime, *, token: str | None, new_password: str, now: dt.datetime | None = None
) -> int:
    """Set the password of the link's account (the same rules as at sign-up), spend the link
    and every other open link of the account, and end all of its sessions. Returns the
    account's user id.

    Raises:
        InvalidInput: the password breaks the rules (nothing is spent), or the link is
            unknown, already used or expired, or its account cannot sign in.
        RateLimited: the server is busy.
    """
    if problems := password_problems(new_password, rt.settings):
        raise InvalidInput(" ".join(problems))
    password_hash = checked_hash(new_password, rt.settings)  # no connection held meanwhile
    now = now or dt.datetime.now(dt.UTC)
    with rt.session_factory.begin() as session:
        row = _find(session, token, lock=True)
        if (problem := _problem(row, now)) is not None:
            raise InvalidInput(problem)
        assert row is not None and row.user_id is not None
        if account_info(session, row.user_id) is None:
            raise InvalidInput(
                "This account is disabled or being deleted: ask the person who runs this server."
            )
        user_id = row.user_id
        session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))
        session.execute(
            update(PasswordReset)
            .where(
                PasswordReset.user_id == user_id,
                PasswordReset.token_hash.is_not(None),
                PasswordReset.used_at.is_(None),
            )
            .values(used_at=now)
        )
        ended = revoke_user_sessions(session, user_id=user_id, now=now)
    log.info("password reset with a link", extra={"user_id": user_id, "sessions_ended": ended})
    return user_id


def prune_password_resets(rt: Runtime, *, older_than: dt.timedelta, now: dt.datetime) -> int:
    """Forget reset requests and links older than `older_than` (housekeeping)."""
    with rt.session_factory.begin() as session:
        result = session.execute(
            delete(PasswordReset).where(
                PasswordReset.requested_at < now - older_than,
                func.coalesce(PasswordReset.expires_at, PasswordReset.requested_at) < now,
            )
        )
    return affected_rows(result)
