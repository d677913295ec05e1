"""Running the server from the admin console: the audit log, settings changed at run time,
per-learner limits and sign-up invitations."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.base import Base


class AuditEntry(Base):
    """One admin action or role change: who (kept as text too, so it outlives the account),
    what, to whom, when. Rows are only ever added."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The actor's email at the time, or 'command line' for the operator's shell.
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(40))
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    target: Mapped[str] = mapped_column(String(320), server_default="")
    detail: Mapped[str] = mapped_column(Text, server_default="")

    __table_args__ = (Index("ix_audit_log_at", "at"),)


class ServerSetting(Base):
    """A setting an admin changed at run time (the environment's value is the default)."""

    __tablename__ = "server_settings"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class UserLimit(Base):
    """A per-learner override of a usage limit (engine/usage/ reads it)."""

    __tablename__ = "user_limits"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("value >= 1", name="value_positive"),)


class Invitation(Base):
    """A sign-up link: usable `max_uses` times until `expires_at`, unless revoked. Only the
    SHA-256 of its random token is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str] = mapped_column(String(200), server_default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    max_uses: Mapped[int] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, server_default="0")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("max_uses >= 1 AND uses >= 0 AND uses <= max_uses", name="uses_in_range"),
    )


class SsoIdentity(Base):
    """An identity at a single sign-on provider (issuer + subject) linked to an account."""

    __tablename__ = "sso_identities"

    issuer: Mapped[str] = mapped_column(String(300), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
