"""Accounts: registration, login with throttling, and what the session needs to know of a user.

Passwords are stored only as bcrypt hashes. A failed login never says whether the email exists,
in its message or its timing: bcrypt runs against a dummy hash for unknown emails, and throttling
is counted per email address whether or not an account has it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from functools import lru_cache

import bcrypt
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings
from engine.db.models import LoginAttempt, Profile, User
from engine.errors import AccountLocked, AuthenticationFailed, NotFound, RegistrationError

log = logging.getLogger(__name__)

# Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is not our check.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BCRYPT_MAX_BYTES = 72
_LOGIN_FAILED = "Wrong email or password."


@dataclass(frozen=True)
class AccountInfo:
    """What the UI keeps about the signed-in learner (no secrets)."""

    user_id: int
    email: str
    display_name: str
    onboarded: bool


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Same cost as real hashes, so an unknown email costs the same time as a wrong password.
    return hash_password("groundwork-timing-equaliser")


def validate_registration(
    *, email: str, password: str, display_name: str, settings: Settings
) -> list[str]:
    """Every problem with a sign-up form at once, as messages fit to show."""
    problems: list[str] = []
    if not _EMAIL.match(email.strip()) or len(email.strip()) > 320:
        problems.append("Enter a valid email address, like name@example.com.")
    if len(password) < settings.password_min_length:
        problems.append(
            f"Choose a password of at least {settings.password_min_length} characters."
        )
    elif len(password.encode("utf-8")) > _BCRYPT_MAX_BYTES:
        problems.append("Choose a password of at most 72 bytes.")
    elif password.strip() == "" or len(set(password)) < 4:
        problems.append("Choose a password with more variety than that.")
    name = display_name.strip()
    if not name:
        problems.append("Enter a display name.")
    elif len(name) > 80:
        problems.append("Keep the display name to 80 characters or fewer.")
    return problems


def register_user(
    session_factory: sessionmaker[Session],
    *,
    email: str,
    password: str,
    display_name: str,
    settings: Settings,
) -> AccountInfo:
    """Create an account and its empty profile.

    Raises:
        RegistrationError: invalid fields (all listed) or an email already registered.
    """
    problems = validate_registration(
        email=email, password=password, display_name=display_name, settings=settings
    )
    if problems:
        raise RegistrationError(" ".join(problems))
    normalised = normalise_email(email)
    password_hash = hash_password(password)
    try:
        with session_factory.begin() as session:
            taken = session.scalar(select(User.id).where(User.email_normalized == normalised))
            if taken is not None:
                raise RegistrationError(
                    "An account with this email already exists. Log in instead."
                )
            user = User(
                email=email.strip().lower(),
                email_normalized=normalised,
                password_hash=password_hash,
                display_name=display_name.strip(),
            )
            session.add(user)
            session.flush()
            session.add(Profile(user_id=user.id))
            info = AccountInfo(user.id, user.email, user.display_name, onboarded=False)
    except IntegrityError as e:  # a concurrent registration of the same email won the race
        raise RegistrationError("An account with this email already exists. Log in instead.") from e
    log.info("account registered", extra={"user_id": info.user_id})
    return info


def _lock_remaining_s(
    session: Session, normalised: str, now: dt.datetime, settings: Settings
) -> int:
    """Seconds until this email may try again, or 0 when it is not locked."""
    window_start = now - dt.timedelta(minutes=settings.login_failure_window_min)
    last_success = session.scalar(
        select(func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.email_normalized == normalised, LoginAttempt.succeeded.is_(True)
        )
    )
    since = max(window_start - dt.timedelta(minutes=settings.login_lockout_min),
                last_success or window_start - dt.timedelta(days=1))
    failures = session.scalars(
        select(LoginAttempt.attempted_at)
        .where(
            LoginAttempt.email_normalized == normalised,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.attempted_at > since,
        )
        .order_by(LoginAttempt.attempted_at)
    ).all()
    # Locked when some run of `max_failures` failures fits inside one window; the lock lasts
    # `lockout_min` from the failure that completed the run.
    n = settings.login_max_failures
    window = dt.timedelta(minutes=settings.login_failure_window_min)
    locked_until: dt.datetime | None = None
    for i in range(n - 1, len(failures)):
        if failures[i] - failures[i - n + 1] <= window:
            locked_until = failures[i] + dt.timedelta(minutes=settings.login_lockout_min)
    if locked_until is None or locked_until <= now:
        return 0
    return max(1, int((locked_until - now).total_seconds() + 0.999))


def authenticate(
    session_factory: sessionmaker[Session],
    *,
    email: str,
    password: str,
    settings: Settings,
    now: dt.datetime | None = None,
) -> AccountInfo:
    """Check a login.

    Raises:
        AccountLocked: too many recent failures for this email (known or not).
        AuthenticationFailed: wrong email or password; the message never says which.
    """
    now = now or dt.datetime.now(dt.UTC)
    normalised = normalise_email(email)
    with session_factory.begin() as session:
        remaining = _lock_remaining_s(session, normalised, now, settings)
        if remaining:
            minutes = (remaining + 59) // 60
            raise AccountLocked(
                "Too many failed logins for this account. Try again in "
                f"{minutes} minute{'s' if minutes != 1 else ''}.",
                retry_after_s=remaining,
            )
        user = session.scalar(select(User).where(User.email_normalized == normalised))
        if user is None:
            verify_password(password, _dummy_hash())
            ok = False
        else:
            ok = verify_password(password, user.password_hash)
        session.add(
            LoginAttempt(
                email_normalized=normalised[:320],
                user_id=user.id if user else None,
                succeeded=ok,
                attempted_at=now,
            )
        )
        if not ok:
            info = None
        else:
            assert user is not None
            user.last_login_at = now
            profile = session.get(Profile, user.id)
            info = AccountInfo(
                user.id, user.email, user.display_name,
                onboarded=bool(profile and profile.onboarded_at),
            )
    if info is None:
        log.info("login failed")
        raise AuthenticationFailed(_LOGIN_FAILED)
    log.info("login succeeded", extra={"user_id": info.user_id})
    return info


def get_account(session_factory: sessionmaker[Session], *, email: str) -> AccountInfo:
    """The account for an email (used to restore a session from a valid cookie).

    Raises:
        NotFound: no such account.
    """
    with session_factory() as session:
        row = session.execute(
            select(User, Profile.onboarded_at)
            .join(Profile, Profile.user_id == User.id)
            .where(User.email_normalized == normalise_email(email))
        ).first()
    if row is None:
        raise NotFound("That account no longer exists.")
    user, onboarded_at = row
    return AccountInfo(user.id, user.email, user.display_name, onboarded=onboarded_at is not None)


def prune_login_attempts(
    session_factory: sessionmaker[Session], *, older_than: dt.timedelta, now: dt.datetime
) -> int:
    """Forget login attempts older than `older_than` (housekeeping)."""
    with session_factory.begin() as session:
        result = session.execute(
            delete(LoginAttempt).where(LoginAttempt.attempted_at < now - older_than)
        )
    return result.rowcount or 0
