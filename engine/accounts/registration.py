"""Creating accounts: the sign-up rules, who may create an account (the sign-up mode), and
how fast one client address (and the whole server) may sign up.

Sign-up must say when an email is taken, so it answers "is this email registered?", which a
failed login never does. It therefore answers slowly: a refusal as taken comes after the same
work as a success (validation, then bcrypt), and every sign-up that reaches the check is
recorded (no email kept) and limited per client address, refusals as taken more tightly, and
server-wide, within `signup_window_min`. The check, the record and the new account are one
transaction under an advisory lock that is tried, never waited for holding a connection.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError, TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from engine import server_settings
from engine.accounts import invitations
from engine.accounts.addresses import MAX_ADDRESS_LENGTH
from engine.accounts.core import AccountInfo
from engine.accounts.emails import display_email, email_problem, normalise_email
from engine.accounts.login import busy, run_locked
from engine.accounts.passwords import checked_hash, password_problems
from engine.config import Settings
from engine.db.models import Profile, SignupAttempt, User
from engine.db.models.accounts import ROLES
from engine.db.session import affected_rows
from engine.errors import RateLimited, RegistrationError

if TYPE_CHECKING:
    from engine.runtime import Runtime

log = logging.getLogger(__name__)

_TAKEN = "An account with this email already exists. Log in instead."
# First key of the advisory lock that serialises sign-ups (see engine/accounts/login.py).
_LOCK_SIGNUP = 0x47575355
SIGNUP_CLOSED_MESSAGES = {
    "invite": "Sign-up on this server is by invitation: open the invitation link you were "
    "given, or ask the person who runs it for one.",
    "closed": "This server does not take new accounts.",
    "sso": "Accounts on this server are created by signing in with your organisation's "
    "single sign-on.",
}


def signup_open(settings: Settings) -> bool:
    """Whether the environment's default lets anyone create an account on the Sign up page
    (a rule on settings alone, for the sign-in pages before the database is ready; once it
    is, `current_signup_mode` says what an admin chose)."""
    return settings.accounts.signup_open


def current_signup_mode(rt: Runtime) -> str:
    """The sign-up mode in force: 'open', 'invite', 'closed' or 'sso' (an admin's choice in
    the console, else GROUNDWORK_SIGNUP_MODE)."""
    with rt.session_factory() as session:
        return server_settings.signup_mode(session, rt.settings)


def invitation_problem(
    rt: Runtime, token: str | None, now: dt.datetime | None = None
) -> str | None:
    """Why the Sign up page cannot take this invitation link, or None when it can."""
    with rt.session_factory() as session:
        return invitations.invitation_problem(
            invitations.find(session, token), now or dt.datetime.now(dt.UTC)
        )


def validate_registration(
    *, email: str, password: str, display_name: str, settings: Settings
) -> list[str]:
    """Every problem with a sign-up form at once, as messages fit to show."""
    problems: list[str] = []
    if (problem := email_problem(email)) is not None:
        problems.append(problem)
    problems += password_problems(password, settings)
    name = display_name.strip()
    if not name:
        problems.append("Enter a display name.")
    elif len(name) > 80:
        problems.append("Keep the display name to 80 characters or fewer.")
    return problems


def window_refusal(
    message: str, *, oldest: dt.datetime | None, now: dt.datetime, window: dt.timedelta
) -> RateLimited:
    """The refusal of a limit counted over a sliding `window`: `message` and when the oldest
    counted request leaves the window (at least a minute)."""
    wait_s = max(60, int(((oldest or now) + window - now).total_seconds()))
    minutes = (wait_s + 59) // 60
    return RateLimited(
        f"{message} Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
        retry_after_s=wait_s,
    )


def _signup_refusal(
    session: Session, address: str | None, now: dt.datetime, settings: Settings
) -> RateLimited | None:
    """The refusal when a sign-up limit is reached, else None."""
    a = settings.accounts
    window = dt.timedelta(minutes=a.signup_window_min)

    def count(where: ColumnElement[bool]) -> tuple[int, dt.datetime | None]:
        n, oldest = session.execute(
            select(func.count(), func.min(SignupAttempt.attempted_at)).where(
                where, SignupAttempt.attempted_at > now - window
            )
        ).one()
        return n, oldest

    checks: list[tuple[int, ColumnElement[bool], str]] = []
    if address:
        from_here = SignupAttempt.client_address == address
        checks += [
            (a.signup_max_per_address, from_here, "Too many sign-ups from your network."),
            (
                a.signup_max_taken_per_address,
                from_here & SignupAttempt.taken.is_(True),
                "Too many sign-ups from your network.",
            ),
        ]
    checks.append(
        (
            a.signup_max_global,
            SignupAttempt.id.is_not(None),
            "This server is taking no more new accounts for now.",
        )
    )
    for limit, where, message in checks:
        if limit > 0:
            n, oldest = count(where)
            if n >= limit:
                return window_refusal(message, oldest=oldest, now=now, window=window)
    return None


def register_user(
    rt: Runtime,
    *,
    email: str,
    password: str,
    display_name: str,
    by_admin: bool = False,
    role: str = "learner",
    invitation: str | None = None,
    client_address: str | None = None,
    now: dt.datetime | None = None,
) -> AccountInfo:
    """Create an account and its empty profile.

    `by_admin` marks an account created by the operator (command line): allowed in every
    sign-up mode but 'closed', with the given `role`, and not limited; the Sign up page may
    create learner accounts in 'open' mode, or in 'invite' mode with a valid `invitation`
    token (one use of it is counted), limited per `client_address` and server-wide. The mode
    is the admin's choice when one was made (`current_signup_mode`).

    Raises:
        RegistrationError: sign-up not open, invalid fields (all listed), or an email already
            registered.
        RateLimited: too many sign-ups from this client address or on the server lately, or
            the server is too busy right now.
    """
    settings = rt.settings
    if role not in ROLES or (role != "learner" and not by_admin):
        raise ValueError(f"role {role!r} cannot be given at sign-up")
    now = now or dt.datetime.now(dt.UTC)
    invited = _check_signup(
        rt,
        email=email,
        password=password,
        display_name=display_name,
        by_admin=by_admin,
        invitation=invitation,
        now=now,
    )
    address = client_address[:MAX_ADDRESS_LENGTH] if client_address else None
    if not by_admin:  # a refused flood costs no bcrypt work
        _check_not_flooded(rt, address, now)
    signup = _Signup(
        email=email,
        normalised=normalise_email(email),
        password_hash=checked_hash(password, settings),
        display_name=display_name,
        role=role,
        by_admin=by_admin,
        invitation=invitation if invited else None,
        address=address,
        now=now,
    )
    info = _create_locked(rt, signup)
    log.info("account registered", extra={"user_id": info.user_id})
    return info


def _create_locked(rt: Runtime, signup: _Signup) -> AccountInfo:
    """The account, made under the sign-up lock; RegistrationError when the email is taken."""
    try:
        info = run_locked(
            rt,
            [(_LOCK_SIGNUP, "sign-up")],
            functools.partial(_create_account, signup=signup, settings=rt.settings),
            wait_s=rt.settings.accounts.login_lock_wait_s,
        )
    except IntegrityError as e:  # an operator's account of the same email won the race
        raise RegistrationError(_TAKEN) from e
    if info is None:
        raise RegistrationError(_TAKEN)
    return info


def _check_signup(
    rt: Runtime,
    *,
    email: str,
    password: str,
    display_name: str,
    by_admin: bool,
    invitation: str | None,
    now: dt.datetime,
) -> bool:
    """RegistrationError unless the sign-up mode lets this sign-up in, its fields are valid
    (all problems listed) and its invitation, when one is needed, can be used; True when it
    redeems an invitation (its use is counted when the account is made)."""
    mode = current_signup_mode(rt)
    invited = mode == "invite" and not by_admin
    if mode == "closed" or (mode == "sso" and not by_admin) or (invited and not invitation):
        raise RegistrationError(SIGNUP_CLOSED_MESSAGES[mode])
    problems = validate_registration(
        email=email, password=password, display_name=display_name, settings=rt.settings
    )
    if problems:
        raise RegistrationError(" ".join(problems))
    if invited and (problem := invitation_problem(rt, invitation, now)) is not None:
        raise RegistrationError(problem)
    return invited


def _check_not_flooded(rt: Runtime, address: str | None, now: dt.datetime) -> None:
    """RateLimited when this client address or the server signed up too often lately."""
    try:
        with rt.session_factory() as session:
            refused = _signup_refusal(session, address, now, rt.settings)
    except PoolTimeout as e:
        raise busy() from e
    if refused is not None:
        raise refused


@dataclass(frozen=True)
class _Signup:
    """A sign-up that passed the checks made before the sign-up lock."""

    email: str
    normalised: str
    password_hash: str
    display_name: str
    role: str
    by_admin: bool
    # The invitation it redeems (None: not an invited sign-up).
    invitation: str | None
    address: str | None
    now: dt.datetime


def _create_account(session: Session, *, signup: _Signup, settings: Settings) -> AccountInfo | None:
    """Under the sign-up lock: the account and its profile, or None when the email is taken
    (the attempt is recorded; the caller raises the refusal after the commit)."""
    s = signup
    if not s.by_admin and (refused := _signup_refusal(session, s.address, s.now, settings)):
        raise refused
    taken = session.scalar(select(User.id).where(User.email_normalized == s.normalised))
    if not s.by_admin:
        session.add(
            SignupAttempt(client_address=s.address, taken=taken is not None, attempted_at=s.now)
        )
    if taken is not None:
        return None
    if s.invitation is not None:  # counted under the row's lock: two cannot share a last use
        invitations.redeem(session, s.invitation, s.now)
    user = User(
        email=display_email(s.email),
        email_normalized=s.normalised,
        password_hash=s.password_hash,
        display_name=s.display_name.strip(),
        role=s.role,
    )
    session.add(user)
    session.flush()
    session.add(Profile(user_id=user.id))
    return AccountInfo(user.id, user.email, user.display_name, onboarded=False, role=s.role)


def prune_signup_attempts(rt: Runtime, *, older_than: dt.timedelta, now: dt.datetime) -> int:
    """Forget sign-up attempts older than `older_than` (housekeeping)."""
    with rt.session_factory.begin() as session:
        result = session.execute(
            delete(SignupAttempt).where(SignupAttempt.attempted_at < now - older_than)
        )
    return affected_rows(result)
