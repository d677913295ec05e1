"""usage reservations: llm_usage holds reserved model requests, and grading/tutor calls

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-23

A reservation is an llm_usage row with outcome 'reserved', the units it holds and when it
expires; engine/usage.py writes it before a model call and turns it into the usage-log row
after.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("llm_usage", sa.Column("units", sa.Integer(), server_default="0", nullable=False))
    op.add_column("llm_usage", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        "task_known", "llm_usage", "task IN ('generation','grading','tutor')"
    )
    op.create_check_constraint(
        "reservation_expires", "llm_usage", "outcome <> 'reserved' OR expires_at IS NOT NULL"
    )
    op.drop_constraint(op.f("ck_llm_usage_amounts_non_negative"), "llm_usage", type_="check")
    op.create_check_constraint(
        "amounts_non_negative",
        "llm_usage",
        "tokens_in >= 0 AND tokens_out >= 0 AND cost_usd >= 0 AND latency_ms >= 0"
        " AND questions_returned >= 0 AND units >= 0",
    )


def downgrade() -> None:
    op.execute("DELETE FROM llm_usage WHERE outcome = 'reserved'")
    op.drop_constraint(op.f("ck_llm_usage_amounts_non_negative"), "llm_usage", type_="check")
    op.create_check_constraint(
        "amounts_non_negative",
        "llm_usage",
        "tokens_in >= 0 AND tokens_out >= 0 AND cost_usd >= 0 AND latency_ms >= 0"
        " AND questions_returned >= 0",
    )
    op.drop_constraint(op.f("ck_llm_usage_reservation_expires"), "llm_usage", type_="check")
    op.drop_constraint(op.f("ck_llm_usage_task_known"), "llm_usage", type_="check")
    op.drop_column("llm_usage", "expires_at")
    op.drop_column("llm_usage", "units")
