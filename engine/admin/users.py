"""Accounts in the admin console and on the command line: search, role, disable/enable, sign
out everywhere, temporary passwords, deletion. Every change is audited."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from engine.accounts.emails import normalise_email
from engine.accounts.passwords import generate_password, hash_password
from engine.accounts.resets import issue_token, reset_email
from engine.accounts.sessions import revoke_user_sessions
from engine.admin.access import (
    LAST_ADMIN,
    OPERATOR,
    Actor,
    Role,
    audit,
    count_other_admins,
    require_admin,
)
from engine.db.models import AuthSession, User
from engine.errors import InvalidInput, MailNotSent, NotFound
from engine.jobs import start_account_deletion
from engine.mail import app_link, links_by_email, send_mail

if TYPE_CHECKING:
    from engine.runtime import Runtime

log = logging.getLogger(__name__)

USER_NOT_FOUND = "That account was not found (it may have been deleted)."


@dataclass(frozen=True)
class UserRow:
    """An account as the console lists it (no secrets)."""

    id: int
    email: str
    display_name: str
    role: str
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    disabled: bool
    deleting: bool
    live_sessions: int


def _row(user: User, live: int) -> UserRow:
    return UserRow(
        user.id,
        user.email,
        user.display_name,
        user.role,
        user.created_at,
        user.last_login_at,
        user.disabled_at is not None,
        user.deleting_since is not None,
        live,
    )


def _live_sessions(now: dt.datetime):
    return (
        select(func.count())
        .where(
            AuthSession.user_id == User.id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )
        .correlate(User)
        .scalar_subquery()
    )


def search_users(
    rt: Runtime,
    *,
    actor_id: int,
    query: str = "",
    role: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[UserRow], int]:
    """Accounts whose email or name contains `query` (any role when `role` is None), by email;
    and how many match in all.

    Raises:
        Forbidden: the caller is not an admin.
    """
    now = dt.datetime.now(dt.UTC)
    with rt.session_factory() as session:
        require_admin(session, actor_id)
        where = []
        if query.strip():
            pattern = (
                "%"
                + query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                + "%"
            )
            where.append(or_(User.email.ilike(pattern), User.display_name.ilike(pattern)))
        if role:
            where.append(User.role == Role(role))
        total = session.scalar(select(func.count()).select_from(User).where(*where)) or 0
        rows = session.execute(
            select(User, _live_sessions(now))
            .where(*where)
            .order_by(User.email_normalized)
            .limit(limit)
            .offset(offset)
        )
        return [_row(u, live) for u, live in rows], total


def _target(session: Session, user_id: int, *, lock: bool = True) -> User:
    q = select(User).where(User.id == user_id)
    user = session.scalar(q.with_for_update() if lock else q)
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user


def get_user(rt: Runtime, *, actor_id: int, user_id: int) -> UserRow:
    now = dt.datetime.now(dt.UTC)
    with rt.session_factory() as session:
        require_admin(session, actor_id)
        row = session.execute(select(User, _live_sessions(now)).where(User.id == user_id)).first()
        if row is None:
            raise NotFound(USER_NOT_FOUND)
        return _row(row[0], row[1])


def _change_role(session: Session, actor: Actor, user: User, role: Role) -> bool:
    if user.role == role:
        return False
    if user.role == Role.ADMIN and count_other_admins(session, user.id) == 0:
        raise InvalidInput(LAST_ADMIN)
    audit(session, actor, "set_role", target=user, detail=f"{user.role} -> {role}")
    user.role = role
    return True


def set_role(rt: Runtime, *, actor_id: int, user_id: int, role: str) -> bool:
    """Give an account a role; returns whether it changed. The last admin keeps theirs.

    Raises:
        Forbidden: the caller is not an admin.
        NotFound: no such account.
        InvalidInput: an unknown role, or the change would leave no admin.
    """
    wanted = _role(role)
    with rt.session_factory.begin() as session:
        actor = require_admin(session, actor_id)
        return _change_role(session, actor, _target(session, user_id), wanted)


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(f"Unknown role {role!r}: choose learner, teacher or admin.") from None


def set_role_by_email(rt: Runtime, *, email: str, role: str) -> bool:
    """The operator's `set-role` command (audited as the command line)."""
    wanted = _role(role)
    with rt.session_factory.begin() as session:
        user = session.scalar(
            select(User).where(User.email_normalized == normalise_email(email)).with_for_update()
        )
        if user is None:
            raise NotFound(f"No account has the email {email}.")
        return _change_role(session, OPERATOR, user, wanted)


def audit_operator(rt: Runtime, action: str, *, user_id: int, detail: str = "") -> None:
    """Record something the operator did from the command line to an account."""
    with rt.session_factory.begin() as session:
        audit(
            session, OPERATOR, action, target=_target(session, user_id, lock=False), detail=detail
        )


def set_disabled(rt: Runtime, *, actor_id: int, user_id: int, disabled: bool) -> None:
    """Disable an account (it is signed out everywhere at once and cannot sign in) or enable it.

    Raises:
        Forbidden, NotFound; InvalidInput: disabling oneself or the last admin.
    """
    with rt.session_factory.begin() as session:
        actor = require_admin(session, actor_id)
        user = _target(session, user_id)
        if disabled == (user.disabled_at is not None):
            return
        if disabled:
            if user.id == actor_id:
                raise InvalidInput("You cannot disable your own account.")
            if user.role == Role.ADMIN and count_other_admins(session, user.id) == 0:
                raise InvalidInput(LAST_ADMIN)
            user.disabled_at = func.now()
            ended = revoke_user_sessions(session, user_id=user.id)
            audit(session, actor, "disable", target=user, detail=f"{ended} sessions ended")
        else:
            user.disabled_at = None
            audit(session, actor, "enable", target=user)


def sign_out_everywhere(rt: Runtime, *, actor_id: int, user_id: int) -> int:
    """End every session of the account; returns how many ended."""
    with rt.session_factory.begin() as session:
        actor = require_admin(session, actor_id)
        user = _target(session, user_id)
        ended = revoke_user_sessions(session, user_id=user.id)
        audit(session, actor, "sign_out_everywhere", target=user, detail=f"{ended} sessions")
        return ended


def set_temporary_password(rt: Runtime, *, actor_id: int, user_id: int) -> str:
    """Replace the account's password with a generated one (returned once, to be handed to
    the learner, who should change it on the Profile page) and end all of its sessions."""
    password = generate_password()
    password_hash = hash_password(password)  # before the transaction: no connection held
    with rt.session_factory.begin() as session:
        actor = require_admin(session, actor_id)
        user = _target(session, user_id)
        session.execute(update(User).where(User.id == user.id).values(password_hash=password_hash))
        ended = revoke_user_sessions(session, user_id=user.id)
        audit(session, actor, "temporary_password", target=user, detail=f"{ended} sessions ended")
    log.info("temporary password set by an admin", extra={"user_id": user_id})
    return password


@dataclass(frozen=True)
class ResetLink:
    """A one-time password reset link the console made: emailed to `emailed_to`, or (when
    email is not set up or sending failed, `mail_error` saying why) to be copied from `url`."""

    url: str
    expires_at: dt.datetime
    emailed_to: str | None
    mail_error: str | None


def create_reset_link(
    rt: Runtime, *, actor_id: int, user_id: int, base_url: str, now: dt.datetime | None = None
) -> ResetLink:
    """A one-time link with which the account's owner chooses a new password (valid for
    `password_reset_ttl_min`); sent to the account's email when email is set up. The link
    starts with GROUNDWORK_PUBLIC_URL when set, else with `base_url` (the console's own
    address). The account's sessions end only when the link is used.

    Raises:
        Forbidden, NotFound.
    """
    now = now or dt.datetime.now(dt.UTC)
    by_email = links_by_email(rt.settings)
    with rt.session_factory.begin() as session:
        actor = require_admin(session, actor_id)
        user = _target(session, user_id, lock=False)
        token, expires = issue_token(session, rt, user=user, now=now, issued_by=actor_id)
        audit(
            session,
            actor,
            "reset_link",
            target=user,
            detail=f"valid until {expires:%Y-%m-%d %H:%M} UTC, "
            + ("sent by email" if by_email else "shown to copy"),
        )
        to, name = user.email, user.display_name
    url = app_link(rt.settings.deployment.base_url or base_url, reset=token)
    if not by_email:
        return ResetLink(url, expires, None, None)
    subject, body = reset_email(name=name, url=url, expires_at=expires)
    try:
        send_mail(rt.settings, to=to, subject=subject, body=body)
    except MailNotSent as e:  # the link stays valid: the console shows it to copy
        return ResetLink(url, expires, None, e.user_message)
    return ResetLink(url, expires, to, None)


def delete_user(rt: Runtime, *, actor_id: int, user_id: int, confirm_email: str) -> int:
    """Delete an account with everything in it, by the same background job as a learner's own
    deletion; `confirm_email` must be the account's email. Returns the job id.

    Raises:
        Forbidden, NotFound; InvalidInput: wrong confirmation, oneself, or the last admin.
    """
    with rt.session_factory() as session:
        require_admin(session, actor_id)
        user = _target(session, user_id, lock=False)
        if normalise_email(confirm_email or "") != user.email_normalized:
            raise InvalidInput(
                "Type the account's email exactly as shown to delete it. Nothing was deleted."
            )
        if user.id == actor_id:
            raise InvalidInput("Delete your own account from your Profile page.")
        if user.deleting_since is not None:
            raise InvalidInput("That account is already being deleted.")

    def check_and_audit(session: Session) -> None:  # the last admin is refused before this
        audit(
            session,
            require_admin(session, actor_id),
            "delete_account",
            target=_target(session, user_id),
        )

    return start_account_deletion(rt, user_id=user_id, on_marked=check_and_audit)
