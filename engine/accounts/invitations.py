"""Sign-up invitations: links with a random token (only its SHA-256 is stored), an expiry and a
maximum number of uses; an admin lists and revokes them (engine/admin/signup.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import Invitation
from engine.errors import RegistrationError

INVITATION_EXPIRED = "This invitation has expired. Ask for a new one."
INVITATION_REVOKED = "This invitation was withdrawn. Ask for a new one."
INVITATION_USED_UP = "This invitation has been used as many times as it allows. Ask for a new one."
INVITATION_UNKNOWN = "This invitation link is not valid. Check that you copied all of it."
MAX_TOKEN_LENGTH = 200


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


def invitation_problem(inv: Invitation | None, now: dt.datetime) -> str | None:
    """Why an invitation cannot be used now, or None when it can."""
    if inv is None:
        return INVITATION_UNKNOWN
    if inv.revoked_at is not None:
        return INVITATION_REVOKED
    if inv.expires_at <= now:
        return INVITATION_EXPIRED
    if inv.uses >= inv.max_uses:
        return INVITATION_USED_UP
    return None


def find(session: Session, token: str | None, *, lock: bool = False) -> Invitation | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    q = select(Invitation).where(Invitation.token_hash == token_hash(token))
    return session.scalar(q.with_for_update() if lock else q)


def redeem(session: Session, token: str | None, now: dt.datetime) -> Invitation:
    """Count one use of the invitation (in the caller's transaction, with the row locked).

    Raises:
        RegistrationError: unknown, expired, revoked or used-up invitation.
    """
    inv = find(session, token, lock=True)
    if (problem := invitation_problem(inv, now)) is not None:
        raise RegistrationError(problem)
    assert inv is not None
    inv.uses += 1
    return inv
