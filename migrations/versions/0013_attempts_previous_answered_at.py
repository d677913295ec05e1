"""analytics: each attempt keeps when its question was answered before, in a column

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-23

`attempts.previous_answered_at` is the moment the question's previous answer was saved (NULL
for a first answer), written by the submit path with the attempt. It was only inside the
`state_before` JSON, so the Analytics page's daily scan had to visit every attempt in the heap
and turn that text into a timestamp per row; as a column INCLUDEd in the covering index
ix_attempts_user_answered the scan is index-only. Existing attempts are backfilled from
`state_before`. Rebuilding the index locks writes to `attempts` while it runs. Afterwards run
`VACUUM (ANALYZE, INDEX_CLEANUP ON) attempts`: the backfill leaves dead row versions on a few
pages, and when they are under 2% of the table vacuum skips index cleanup by default, which
keeps those pages out of index-only scans.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None

COVERED = ["question_id", "review_number", "correct", "seconds", "confidence", "rating", "xp"]


def upgrade() -> None:
    op.add_column(
        "attempts", sa.Column("previous_answered_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute("""
        UPDATE attempts
        SET previous_answered_at = (state_before->'fsrs'->>'last_reviewed_at')::timestamptz
        WHERE state_before->'fsrs'->>'last_reviewed_at' IS NOT NULL""")
    op.drop_index("ix_attempts_user_answered", table_name="attempts")
    op.create_index(
        "ix_attempts_user_answered",
        "attempts",
        ["user_id", "answered_at"],
        postgresql_include=[*COVERED, "previous_answered_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_attempts_user_answered", table_name="attempts")
    op.create_index(
        "ix_attempts_user_answered",
        "attempts",
        ["user_id", "answered_at"],
        postgresql_include=COVERED,
    )
    op.drop_column("attempts", "previous_answered_at")
