"""Signed-in sessions kept in PostgreSQL, and the signed cookie that names one.

Signing in creates a row with a random session id (only its SHA-256 is stored) and returns a
token, signed with the install's cookie key, that carries the id and its expiry. A browser is
signed in only while the signature is valid AND the row is neither revoked nor expired, so
logging out or changing the password makes a copied cookie useless.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jwt
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from engine.accounts.core import AccountInfo, account_info
from engine.db.models import AuthSession
from engine.db.session import affected_rows

if TYPE_CHECKING:
    from engine.runtime import Runtime

log = logging.getLogger(__name__)

_ALGORITHM = "HS256"
_MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True)
class SignedIn:
    """A new session: the id stays in the server-side session state, the token goes into the
    cookie (both are secrets; never log them)."""

    account: AccountInfo
    session_id: str
    token: str
    expires_at: dt.datetime


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def sign_token(session_id: str, expires_at: dt.datetime, key: str) -> str:
    if len(key) < 32:
        raise ValueError("cookie signing key too short")
    return jwt.encode(
        {"sid": session_id, "exp": int(expires_at.timestamp())}, key, algorithm=_ALGORITHM
    )


def session_id_from_token(token: str | None, key: str) -> str | None:
    """The session id a cookie names, or None when it is missing, forged, altered or expired."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    try:
        claims = jwt.decode(
            token, key, algorithms=[_ALGORITHM], options={"require": ["sid", "exp"]}
        )
    except jwt.PyJWTError:
        return None
    sid = claims.get("sid")
    return sid if isinstance(sid, str) and sid else None


def start_session(
    rt: Runtime,
    *,
    account: AccountInfo,
    client_address: str | None = None,
    now: dt.datetime | None = None,
) -> SignedIn:
    """Record a new signed-in session for `account` and sign its cookie token (with the
    runtime's cookie key)."""
    now = now or _utcnow()
    session_id = secrets.token_urlsafe(32)
    expires_at = now + dt.timedelta(days=rt.settings.accounts.cookie_expiry_days)
    with rt.session_factory.begin() as session:
        # The learner's sessions that ended over a day ago are of no further use.
        session.execute(
            delete(AuthSession).where(
                AuthSession.user_id == account.user_id,
                (AuthSession.expires_at < now - dt.timedelta(days=1))
                | (AuthSession.revoked_at < now - dt.timedelta(days=1)),
            )
        )
        session.add(
            AuthSession(
                user_id=account.user_id,
                token_hash=_digest(session_id),
                created_at=now,
                expires_at=expires_at,
                client_address=client_address[:64] if client_address else None,
            )
        )
    return SignedIn(
        account, session_id, sign_token(session_id, expires_at, rt.cookie_key), expires_at
    )


def resume_session(
    rt: Runtime, *, session_id: str, now: dt.datetime | None = None
) -> AccountInfo | None:
    """The learner of a live session (fresh from the database), or None when the session is
    unknown, revoked or expired, or its account is gone."""
    now = now or _utcnow()
    with rt.session_factory() as session:
        user_id = session.scalar(
            select(AuthSession.user_id).where(
                AuthSession.token_hash == _digest(session_id),
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > now,
            )
        )
        return account_info(session, user_id) if user_id is not None else None


def revoke_session(rt: Runtime, *, session_id: str, now: dt.datetime | None = None) -> None:
    """End one session (logout)."""
    with rt.session_factory.begin() as session:
        session.execute(
            update(AuthSession)
            .where(AuthSession.token_hash == _digest(session_id), AuthSession.revoked_at.is_(None))
            .values(revoked_at=now or _utcnow())
        )


def revoke_user_sessions(
    session: Session,
    *,
    user_id: int,
    keep_session_id: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """End every live session of a learner except `keep_session_id`, inside the caller's
    transaction (so a password change and the revocation commit together)."""
    stmt = (
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now or _utcnow())
    )
    if keep_session_id is not None:
        stmt = stmt.where(AuthSession.token_hash != _digest(keep_session_id))
    return affected_rows(session.execute(stmt))


def prune_sessions(rt: Runtime, *, older_than: dt.timedelta, now: dt.datetime) -> int:
    """Forget sessions that expired or were revoked more than `older_than` ago."""
    cutoff = now - older_than
    with rt.session_factory.begin() as session:
        result = session.execute(
            delete(AuthSession).where(
                (AuthSession.expires_at < cutoff) | (AuthSession.revoked_at < cutoff)
            )
        )
    return affected_rows(result)
