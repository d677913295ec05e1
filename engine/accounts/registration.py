"""Creating accounts: the sign-up rules, and who may create an account (the sign-up mode)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.accounts.core import AccountInfo
from engine.accounts.emails import display_email, email_problem, normalise_email
from engine.accounts.passwords import hash_password, password_problems
from engine.config import Settings
from engine.db.models import Profile, User
from engine.errors import RegistrationError

if TYPE_CHECKING:
    from engine.runtime import Runtime

log = logging.getLogger(__name__)

_TAKEN = "An account with this email already exists. Log in instead."
SIGNUP_CLOSED_MESSAGES = {
    "invite": "Sign-up on this server is by invitation: the person who runs it creates "
              "accounts. Ask them for one.",
    "closed": "This server does not take new accounts.",
}


def signup_open(settings: Settings) -> bool:
    """Whether anyone may create an account on the Sign up page (a rule on settings alone, so
    the sign-in pages can ask before the database is ready)."""
    return settings.accounts.signup_open


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


def register_user(
    rt: Runtime,
    *,
    email: str,
    password: str,
    display_name: str,
    by_admin: bool = False,
) -> AccountInfo:
    """Create an account and its empty profile.

    `by_admin` marks an account created by the operator (command line): allowed in the
    'open' and 'invite' sign-up modes; the Sign up page may create accounts only in 'open'.

    Raises:
        RegistrationError: sign-up not open, invalid fields (all listed), or an email already
            registered.
    """
    settings = rt.settings
    mode = settings.accounts.signup_mode
    if mode == "closed" or (mode == "invite" and not by_admin):
        raise RegistrationError(SIGNUP_CLOSED_MESSAGES[mode])
    problems = validate_registration(
        email=email, password=password, display_name=display_name, settings=settings
    )
    if problems:
        raise RegistrationError(" ".join(problems))
    normalised = normalise_email(email)
    password_hash = hash_password(password)
    try:
        with rt.session_factory.begin() as session:
            taken = session.scalar(select(User.id).where(User.email_normalized == normalised))
            if taken is not None:
                raise RegistrationError(_TAKEN)
            user = User(email=display_email(email), email_normalized=normalised,
                        password_hash=password_hash, display_name=display_name.strip())
            session.add(user)
            session.flush()
            session.add(Profile(user_id=user.id))
            info = AccountInfo(user.id, user.email, user.display_name, onboarded=False)
    except IntegrityError as e:  # a concurrent registration of the same email won the race
        raise RegistrationError(_TAKEN) from e
    log.info("account registered", extra={"user_id": info.user_id})
    return info
