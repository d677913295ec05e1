"""usage keys: limits outlive the account; hosted embedding calls are logged

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

`llm_usage` rows are no longer deleted with their account: `user_id` becomes NULL and the rows
keep counting through `account_key` (a keyed hash of the normalised email) and `address_key`
(of the client address), so deleting an account and signing up again does not refill the
limits. The task 'embedding' logs hosted embedding calls. A partial index finds the
reservations in flight, which the system-wide cap on concurrent model calls counts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("llm_usage", sa.Column("account_key", sa.String(length=64), nullable=True))
    op.add_column("llm_usage", sa.Column("address_key", sa.String(length=64), nullable=True))
    op.alter_column("llm_usage", "user_id", existing_type=sa.BigInteger(), nullable=True)
    op.drop_constraint(op.f("fk_llm_usage_user_id_users"), "llm_usage", type_="foreignkey")
    op.create_foreign_key(
        op.f("fk_llm_usage_user_id_users"),
        "llm_usage",
        "users",
        ["user_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.drop_constraint(op.f("ck_llm_usage_task_known"), "llm_usage", type_="check")
    op.create_check_constraint(
        "task_known", "llm_usage", "task IN ('generation','grading','tutor','embedding')"
    )
    op.create_index("ix_llm_usage_account_created", "llm_usage", ["account_key", "created_at"])
    op.create_index("ix_llm_usage_address_created", "llm_usage", ["address_key", "created_at"])
    op.create_index(
        "ix_llm_usage_reserved",
        "llm_usage",
        ["expires_at"],
        postgresql_where=sa.text("outcome = 'reserved'"),
    )


def downgrade() -> None:
    op.execute("DELETE FROM llm_usage WHERE user_id IS NULL OR task = 'embedding'")
    op.drop_index("ix_llm_usage_reserved", table_name="llm_usage")
    op.drop_index("ix_llm_usage_address_created", table_name="llm_usage")
    op.drop_index("ix_llm_usage_account_created", table_name="llm_usage")
    op.drop_constraint(op.f("ck_llm_usage_task_known"), "llm_usage", type_="check")
    op.create_check_constraint(
        "task_known", "llm_usage", "task IN ('generation','grading','tutor')"
    )
    op.drop_constraint(op.f("fk_llm_usage_user_id_users"), "llm_usage", type_="foreignkey")
    op.create_foreign_key(
        op.f("fk_llm_usage_user_id_users"),
        "llm_usage",
        "users",
        ["user_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.alter_column("llm_usage", "user_id", existing_type=sa.BigInteger(), nullable=False)
    op.drop_column("llm_usage", "address_key")
    op.drop_column("llm_usage", "account_key")
