"""password reset links ("forgot password" by email, and the admin console's reset links)

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-07

- password_resets: every "forgot password" request (SHA-256 of the address asked for, the
  client address, when; for the limits), and for an account the SHA-256 of a one-time link's
  token with its expiry and when it was used; the admin who made a console link.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "password_resets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("issued_by", sa.BigInteger(), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column(
            "requested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(token_hash IS NULL) = (expires_at IS NULL) AND "
            "(token_hash IS NULL OR user_id IS NOT NULL)",
            name=op.f("ck_password_resets_token_has_account_and_expiry"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_password_resets_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["issued_by"],
            ["users.id"],
            name=op.f("fk_password_resets_issued_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    op.create_index(
        op.f("ix_password_resets_user_id"), "password_resets", ["user_id"], unique=False
    )
    op.create_index(
        "ix_password_resets_email_time",
        "password_resets",
        ["email_hash", "requested_at"],
        unique=False,
    )
    op.create_index(
        "ix_password_resets_address_time",
        "password_resets",
        ["client_address", "requested_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_password_resets_address_time", table_name="password_resets")
    op.drop_index("ix_password_resets_email_time", table_name="password_resets")
    op.drop_index(op.f("ix_password_resets_user_id"), table_name="password_resets")
    op.drop_table("password_resets")
