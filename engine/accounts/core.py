"""What the session needs to know of a learner, and looking a learner up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts.emails import normalise_email
from engine.db.models import Profile, User
from engine.errors import NotFound

if TYPE_CHECKING:
    from engine.runtime import Runtime


@dataclass(frozen=True)
class AccountInfo:
    """What the UI keeps about the signed-in learner (no secrets)."""

    user_id: int
    email: str
    display_name: str
    onboarded: bool
    role: str = "learner"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def account_info(session: Session, user_id: int) -> AccountInfo | None:
    """The learner, or None when the account is gone, being deleted or disabled (it can then
    neither sign in nor stay signed in)."""
    row = session.execute(
        select(User, Profile.onboarded_at)
        .join(Profile, Profile.user_id == User.id)
        .where(User.id == user_id, User.deleting_since.is_(None), User.disabled_at.is_(None))
    ).first()
    if row is None:
        return None
    user, onboarded_at = row
    return AccountInfo(
        user.id, user.email, user.display_name, onboarded=onboarded_at is not None, role=user.role
    )


def user_id_for_email(session: Session, email: str) -> int | None:
    return session.scalar(select(User.id).where(User.email_normalized == normalise_email(email)))


def get_account(rt: Runtime, *, email: str) -> AccountInfo:
    """The account for an email.

    Raises:
        NotFound: no such account.
    """
    with rt.session_factory() as session:
        user_id = user_id_for_email(session, email)
        info = account_info(session, user_id) if user_id is not None else None
    if info is None:
        raise NotFound("That account no longer exists.")
    return info
