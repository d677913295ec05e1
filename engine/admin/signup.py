"""Sign-up in the admin console: the sign-up mode (stored in PostgreSQL, the environment's
value is the default) and invitation links with an expiry and a maximum number of uses."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from engine import server_settings
from engine.accounts import invitations
from engine.accounts.emails import display_email, email_problem
from engine.accounts.sso import SSO_DOMAINS, allowed_domains
from engine.admin.access import audit, require_admin
from engine.db.models import Invitation
from engine.errors import InvalidInput, MailNotSent, NotFound
from engine.mail import NOT_CONFIGURED, app_link, links_by_email, send_mail

if TYPE_CHECKING:
    from engine.runtime import Runtime

MAX_INVITATION_DAYS = 90
MAX_INVITATION_USES = 1000
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def set_signup_mode(rt: Runtime, *, actor_id: int, mode: str) -> None:
    """Change who may create accounts, at once for every process.

    Raises:
        Forbidden: the caller is not an admin.
        InvalidInput: an unknown mode.
    """
    if mode not in server_settings.SIGNUP_MODES:
        raise InvalidInput("Choose open, invite, closed or sso.")
    with rt.session_factory.begin() as session:
        actor = require_admin(session, actor_id)
        before = server_settings.signup_mode(session, rt.settings)
        server_settings.put_value(session, server_settings.SIGNUP_MODE, mode)
        audit(session, actor, "set_signup_mode", detail=f"{before} -> {mode}")


def signup_mode(rt: Runtime, *, actor_id: int) -> str:
    with rt.session_factory() as session:
        require_admin(session, actor_id)
        return server_settings.signup_mode(session, rt.settings)


@dataclass(frozen=True)
class NewInvitation:
    """A created invitation; the token is shown once (only its hash is kept)."""

    id: int
    token: str
    expires_at: dt.datetime
    # Sent by email to this address; or why an email asked for was not sent (the link stays
    # valid, to be copied).
    emailed_to: str | None = None
    mail_error: str | None = None


@dataclass(frozen=True)
class InvitationRow:
    id: int
    note: str
    created_at: dt.datetime
    expires_at: dt.datetime
    max_uses: int
    uses: int
    revoked: bool
    problem: str | None  # why it cannot be used now, None when it can


def _invitation_problems(days: int, max_uses: int, email: str, settings) -> list[str]:
    problems = []
    if not 1 <= days <= MAX_INVITATION_DAYS:
        problems.append(f"Choose between 1 and {MAX_INVITATION_DAYS} days.")
    if not 1 <= max_uses <= MAX_INVITATION_USES:
        problems.append(f"Choose between 1 and {MAX_INVITATION_USES} uses.")
    if email and not links_by_email(settings):
        problems.append(NOT_CONFIGURED)
    elif email and (problem := email_problem(email)) is not None:
        problems.append(problem)
    return problems


def invitation_email(*, url: str, expires_at: dt.datetime, max_uses: int) -> tuple[str, str]:
    """The subject and plain-text body of an invitation's email."""
    uses = "one account" if max_uses == 1 else f"up to {max_uses} accounts"
    body = (
        "Hello,\n\n"
        "You are invited to create an account on Groundwork, where you study from your "
        "own documents.\n"
        "Open this link to sign up:\n\n"
        f"{url}\n\n"
        f"The link works until {expires_at:%Y-%m-%d %H:%M} UTC, for {uses}.\n"
    )
    return "Your invitation to Groundwork", body


def create_invitation(
    rt: Runtime,
    *,
    actor_id: int,
    days: int,
    max_uses: int,
    note: str = "",
    email: str = "",
    now: dt.datetime | None = None,
) -> NewInvitation:
    """A sign-up link valid for `days` days and `max_uses` sign-ups; sent to `email` when
    one is given (email must be set up). A failed email leaves the invitation valid and says
    why in `mail_error`.

    Raises:
        Forbidden; InvalidInput: days or uses out of range, a malformed email, or an email
            asked for while email is not set up (nothing is created).
    """
    email = email.strip()
    if problems := _invitation_problems(days, max_uses, email, rt.settings):
        raise InvalidInput(" ".join(problems))
    now = now or dt.datetime.now(dt.UTC)
    token = invitations.new_token()
    expires = now + dt.timedelta(days=days)
    to = display_email(email) if email else None
    with rt.session_factory.begin() as session:
        actor = require_admin(session, actor_id)
        inv = Invitation(
            token_hash=invitations.token_hash(token),
            note=(note.strip() or (f"for {to}" if to else ""))[:200],
            created_by=actor_id,
            created_at=now,
            expires_at=expires,
            max_uses=max_uses,
        )
        session.add(inv)
        session.flush()
        audit(
            session,
            actor,
            "create_invitation",
            detail=f"invitation {inv.id}: {max_uses} uses, {days} days"
            + (f", emailed to {to}" if to else ""),
        )
        created = NewInvitation(inv.id, token, expires)
    if to is None:
        return created
    assert rt.settings.deployment.base_url is not None  # links_by_email checked it
    subject, body = invitation_email(
        url=app_link(rt.settings.deployment.base_url, invite=token),
        expires_at=expires,
        max_uses=max_uses,
    )
    try:
        send_mail(rt.settings, to=to, subject=subject, body=body)
    except MailNotSent as e:  # the invitation stays valid: the console shows it to copy
        return NewInvitation(inv.id, token, expires, mail_error=e.user_message)
    return NewInvitation(inv.id, token, expires, emailed_to=to)


def list_invitations(
    rt: Runtime, *, actor_id: int, now: dt.datetime | None = None, limit: int = 100
) -> list[InvitationRow]:
    now = now or dt.datetime.now(dt.UTC)
    with rt.session_factory() as session:
        require_admin(session, actor_id)
        rows = session.scalars(select(Invitation).order_by(Invitation.id.desc()).limit(limit))
        return [
            InvitationRow(
                i.id,
                i.note,
                i.created_at,
                i.expires_at,
                i.max_uses,
                i.uses,
                i.revoked_at is not None,
                invitations.invitation_problem(i, now),
            )
            for i in rows
        ]


def revoke_invitation(rt: Runtime, *, actor_id: int, invitation_id: int) -> None:
    with rt.session_factory.begin() as session:
        actor = require_admin(session, actor_id)
        inv = session.get(Invitation, invitation_id, with_for_update=True)
        if inv is None:
            raise NotFound("That invitation was not found.")
        if inv.revoked_at is None:
            inv.revoked_at = dt.datetime.now(dt.UTC)
            audit(session, actor, "revoke_invitation", detail=f"invitation {inv.id}")


def sso_domains(rt: Runtime, *, actor_id: int) -> list[str]:
    """Email domains single sign-on may create accounts for (empty: any)."""
    with rt.session_factory() as session:
        require_admin(session, actor_id)
        return allowed_domains(session)


def set_sso_domains(rt: Runtime, *, actor_id: int, domains: str) -> list[str]:
    """Limit single sign-on sign-ups to these comma-separated domains ('' lifts the limit).

    Raises:
        Forbidden; InvalidInput: something that is not a domain.
    """
    cleaned = [d.strip().lower().lstrip("@") for d in domains.split(",") if d.strip()]
    bad = [d for d in cleaned if not _DOMAIN.fullmatch(d)]
    if bad:
        raise InvalidInput(
            f"Not a domain: {', '.join(bad)}. Write e.g. school.example, other.example"
        )
    with rt.session_factory.begin() as session:
        actor = require_admin(session, actor_id)
        server_settings.put_value(session, SSO_DOMAINS, ",".join(cleaned) or None)
        audit(session, actor, "set_sso_domains", detail=", ".join(cleaned) or "any")
    return cleaned
