"""usage by time: an index on llm_usage.created_at

Revision ID: 0037
Revises: 0033
Create Date: 2026-12-07

The admin console's model usage (the last 30 days, per learner, day and task) and the
server-wide limits (every learner's usage since a moment) read `llm_usage` by time alone; the
existing indexes lead with a learner, an account or an address, so both read the whole table.
"""

from __future__ import annotations

from alembic import op

revision = "0037"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_llm_usage_created", "llm_usage", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_llm_usage_created", table_name="llm_usage")
