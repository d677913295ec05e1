"""Changing a password (by the learner) and resetting it (by the operator). Both end the
learner's other sessions, so a copied cookie or a forgotten signed-in browser stops working."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from engine.accounts.emails import normalise_email
from engine.accounts.login import check_credentials
from engine.accounts.passwords import hash_password, password_problems
from engine.accounts.sessions import revoke_user_sessions
from engine.db.models import User
from engine.db.session import affected_rows
from engine.errors import AuthenticationFailed, InvalidInput, NotFound

if TYPE_CHECKING:
    from engine.runtime import Runtime

log = logging.getLogger(__name__)


def _set_password(rt: Runtime, user_id: int, password: str, keep_session_id: str | None) -> int:
    password_hash = hash_password(password)  # before the transaction: no connection held
    with rt.session_factory.begin() as session:
        found = affected_rows(
            session.execute(
                update(User).where(User.id == user_id).values(password_hash=password_hash)
            )
        )
        if not found:
            raise NotFound("That account no longer exists.")
        return revoke_user_sessions(session, user_id=user_id, keep_session_id=keep_session_id)


def change_password(
    rt: Runtime,
    *,
    user_id: int,
    current_password: str,
    new_password: str,
    keep_session_id: str | None = None,
    client_address: str | None = None,
    device_token: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Replace the learner's password after checking the current one (throttled like a login,
    so a signed-in browser cannot be used to guess it; `device_token` as for a login); returns
    how many other sessions ended.

    Raises:
        InvalidInput: the new password breaks the rules or equals the current one.
        AuthenticationFailed: the current password is wrong.
        AccountLocked, RateLimited: as for a login.
    """
    problems = password_problems(new_password, rt.settings)
    if new_password == current_password:
        problems.append("Choose a new password that differs from the current one.")
    if problems:
        raise InvalidInput(" ".join(problems))
    with rt.session_factory() as session:
        email = session.scalar(select(User.email_normalized).where(User.id == user_id))
    if email is None:
        raise NotFound("That account no longer exists.")
    checked = check_credentials(
        rt,
        email=email,
        password=current_password,
        client_address=client_address,
        device_token=device_token,
        now=now,
    )
    if checked != user_id:
        raise AuthenticationFailed("Your current password is not right.")
    ended = _set_password(rt, user_id, new_password, keep_session_id)
    log.info("password changed", extra={"user_id": user_id, "sessions_ended": ended})
    return ended


def reset_password(rt: Runtime, *, email: str, new_password: str) -> int:
    """Set a learner's password without the current one (operator command) and end all of
    their sessions; returns the learner's user id.

    Raises:
        NotFound: no account has this email.
        InvalidInput: the new password breaks the rules.
    """
    if problems := password_problems(new_password, rt.settings):
        raise InvalidInput(" ".join(problems))
    with rt.session_factory() as session:
        user_id = session.scalar(
            select(User.id).where(User.email_normalized == normalise_email(email))
        )
    if user_id is None:
        raise NotFound(f"No account has the email {email}.")
    ended = _set_password(rt, user_id, new_password, keep_session_id=None)
    log.info("password reset by the operator", extra={"user_id": user_id, "sessions_ended": ended})
    return user_id
