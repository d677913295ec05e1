"""Learner accounts, their profile (onboarding answers and gamification), login attempts and
signed-in sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db.base import Base

SELF_LEVELS = ("beginner", "intermediate", "advanced", "expert")
ROLES = ("learner", "teacher", "admin")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    # The unique key (engine/accounts/emails.py: NFKC, casefold, look-alikes folded), so two
    # spellings of one address are one account.
    email_normalized: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when the learner asked to delete the account: from then on it cannot sign in, queue
    # a job or have one run, until the deletion job removes it.
    deleting_since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # learner, teacher or admin (engine/accounts/roles.py decides what each may do).
    role: Mapped[str] = mapped_column(String(10), server_default="learner")
    # Set by an admin: the account can neither sign in nor stay signed in until enabled.
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    profile: Mapped[Profile] = relationship(back_populates="user", uselist=False)

    __table_args__ = (
        CheckConstraint("password_hash LIKE '$2%'", name="password_is_bcrypt"),
        CheckConstraint("role IN ('learner','teacher','admin')", name="role_known"),
        Index("ix_users_role", "role"),
    )


class Profile(Base):
    __tablename__ = "profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    learning_goals: Mapped[str] = mapped_column(Text, server_default="")
    subjects: Mapped[str] = mapped_column(Text, server_default="")
    self_level: Mapped[str | None] = mapped_column(String(20))
    daily_target: Mapped[int] = mapped_column(Integer, server_default="20")
    exam_date: Mapped[dt.date | None] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    onboarded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Practice settings (issue 5 reads and writes these).
    scheduler: Mapped[str] = mapped_column(String(10), server_default="sm2")
    # Gamification.
    xp: Mapped[int] = mapped_column(BigInteger, server_default="0")
    level: Mapped[int] = mapped_column(Integer, server_default="1")
    streak: Mapped[int] = mapped_column(Integer, server_default="0")
    best_streak: Mapped[int] = mapped_column(Integer, server_default="0")
    last_activity_date: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    user: Mapped[User] = relationship(back_populates="profile")

    __table_args__ = (
        CheckConstraint(
            "self_level IS NULL OR self_level IN ('beginner','intermediate','advanced','expert')",
            name="self_level_known",
        ),
        CheckConstraint("daily_target BETWEEN 1 AND 500", name="daily_target_range"),
        CheckConstraint("scheduler IN ('sm2','fsrs')", name="scheduler_known"),
        CheckConstraint(
            "xp >= 0 AND level >= 1 AND streak >= 0 AND best_streak >= streak",
            name="gamification_sane",
        ),
    )


class LoginAttempt(Base):
    """Every login attempt for an email (known or not), for throttling and audit."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email_normalized: Mapped[str] = mapped_column(String(320))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Recorded as failed before the password is checked; set true when it was right.
    succeeded: Mapped[bool] = mapped_column(Boolean)
    attempted_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # The client's network address when known (throttling per address beside per email).
    client_address: Mapped[str | None] = mapped_column(String(64))
    # SHA-256 of the id in the browser's device cookie when it presented a valid one for this
    # email: such attempts are throttled per device, not per email (engine/accounts/devices.py).
    device_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_login_attempts_email_time", "email_normalized", "attempted_at"),
        Index("ix_login_attempts_address_time", "client_address", "attempted_at"),
        Index("ix_login_attempts_device_time", "device_hash", "attempted_at"),
    )


class SignupAttempt(Base):
    """A sign-up that reached the "is this email taken?" check, for throttling per client
    address and server-wide. No email is kept: only when, from where, and whether it was
    refused as taken."""

    __tablename__ = "signup_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    client_address: Mapped[str | None] = mapped_column(String(64))
    taken: Mapped[bool] = mapped_column(Boolean)
    attempted_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        Index("ix_signup_attempts_address_time", "client_address", "attempted_at"),
        Index("ix_signup_attempts_time", "attempted_at"),
    )


class AuthSession(Base):
    """A signed-in browser. The cookie carries the random session id; only its SHA-256 is
    stored, and a session counts only while it is neither revoked nor expired."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    client_address: Mapped[str | None] = mapped_column(String(64))


class PasswordReset(Base):
    """A "forgot password" request or an admin's reset link. Every request is kept (for the
    limits per email address asked for and per client address), with only the SHA-256 of the
    address, so a request for an address without an account keeps no address; a request for
    an account holds the SHA-256 of a one-time link's random token, usable once until
    `expires_at`."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The admin who made the link in the console (None: the learner asked on the sign-in page).
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    client_address: Mapped[str | None] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(
            "(token_hash IS NULL) = (expires_at IS NULL) AND "
            "(token_hash IS NULL OR user_id IS NOT NULL)",
            name="token_has_account_and_expiry",
        ),
        Index("ix_password_resets_email_time", "email_hash", "requested_at"),
        Index("ix_password_resets_address_time", "client_address", "requested_at"),
    )
