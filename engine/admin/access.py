"""Who may call an admin service, and how an action is recorded in the audit log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.db.models import AuditEntry, User
from engine.errors import Forbidden

if TYPE_CHECKING:
    from engine.runtime import Runtime

ADMINS_ONLY = "Only administrators can do this. Nothing was shown or changed."
COMMAND_LINE = "command line"
LAST_ADMIN = (
    "This is the only administrator account: make another account an admin first, "
    "so the server keeps one."
)


class Role(StrEnum):
    LEARNER = "learner"
    TEACHER = "teacher"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    """Who did something: an admin's account, or the operator's shell (user_id None)."""

    user_id: int | None
    label: str


OPERATOR = Actor(None, COMMAND_LINE)


def require_admin(session: Session, actor_id: int) -> Actor:
    """The admin calling a service, or Forbidden (for a learner, a teacher, a disabled or
    deleted account alike)."""
    row = session.execute(
        select(User.email, User.role).where(
            User.id == actor_id, User.deleting_since.is_(None), User.disabled_at.is_(None)
        )
    ).first()
    if row is None or row.role != Role.ADMIN:
        raise Forbidden(ADMINS_ONLY)
    return Actor(actor_id, row.email)


def check_admin(rt: Runtime, *, actor_id: int) -> None:
    """Raises Forbidden unless the account is a usable admin (the console asks first)."""
    with rt.session_factory() as session:
        require_admin(session, actor_id)


def audit(
    session: Session, actor: Actor, action: str, *, target: User | None = None, detail: str = ""
) -> None:
    """Record an admin action (in the caller's transaction, so it commits with the change)."""
    session.add(
        AuditEntry(
            actor_id=actor.user_id,
            actor=actor.label[:320],
            action=action[:40],
            target_user_id=target.id if target is not None else None,
            target=target.email if target is not None else "",
            detail=detail,
        )
    )


def count_other_admins(session: Session, user_id: int) -> int:
    """Usable admin accounts besides `user_id`, with every admin row locked, so two admins
    demoting each other at once cannot leave the server without one."""
    rows = session.execute(
        select(User.id, User.disabled_at, User.deleting_since)
        .where(User.role == Role.ADMIN)
        .order_by(User.id)
        .with_for_update()
    ).all()
    return sum(
        1 for r in rows if r.id != user_id and r.disabled_at is None and r.deleting_since is None
    )


@dataclass(frozen=True)
class AuditRow:
    at: dt.datetime
    actor: str
    action: str
    target: str
    detail: str


def audit_log(
    rt: Runtime, *, actor_id: int, limit: int = 100, offset: int = 0
) -> tuple[list[AuditRow], int]:
    """The audit log, newest first, and how many entries it has (admins only; read-only)."""
    with rt.session_factory() as session:
        require_admin(session, actor_id)
        total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        rows = session.execute(
            select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
        ).scalars()
        return [AuditRow(r.at, r.actor, r.action, r.target, r.detail) for r in rows], total
