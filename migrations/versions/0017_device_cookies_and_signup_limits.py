"""device cookies for login throttling; sign-up attempts for sign-up throttling

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

- login_attempts.device_hash: attempts from a browser holding a valid device cookie for the
  email are counted per device, so an attacker hammering an email does not lock its owner's
  known browser out (the email's own lock then covers untrusted browsers only).
- signup_attempts: sign-ups that reached the "email taken?" check (no email stored), for
  limits per client address and server-wide.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("login_attempts", sa.Column("device_hash", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_login_attempts_device_time",
        "login_attempts",
        ["device_hash", "attempted_at"],
        unique=False,
    )
    op.create_table(
        "signup_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("taken", sa.Boolean(), nullable=False),
        sa.Column(
            "attempted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_attempts")),
    )
    op.create_index(
        "ix_signup_attempts_address_time",
        "signup_attempts",
        ["client_address", "attempted_at"],
        unique=False,
    )
    op.create_index("ix_signup_attempts_time", "signup_attempts", ["attempted_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_signup_attempts_time", table_name="signup_attempts")
    op.drop_index("ix_signup_attempts_address_time", table_name="signup_attempts")
    op.drop_table("signup_attempts")
    op.drop_index("ix_login_attempts_device_time", table_name="login_attempts")
    op.drop_column("login_attempts", "device_hash")
