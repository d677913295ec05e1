"""analytics: the attempts index covers the columns the charts aggregate

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-23

ix_attempts_user_answered (user_id, answered_at) now INCLUDEs question_id, review_number,
correct, seconds, confidence, rating and xp, so the Analytics page's per-day, per-hour,
per-confidence, time and XP aggregates are index-only scans of the learner's slice instead of
a heap visit per attempt; ix_review_states_user (user_id) serves the charts that read every
schedule of a learner, suspended ones included (the due index leaves those out). Rebuilding
the attempts index locks writes to `attempts` while it runs.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None

COVERED = ["question_id", "review_number", "correct", "seconds", "confidence", "rating", "xp"]


def upgrade() -> None:
    op.drop_index("ix_attempts_user_answered", table_name="attempts")
    op.create_index(
        "ix_attempts_user_answered",
        "attempts",
        ["user_id", "answered_at"],
        postgresql_include=COVERED,
    )
    op.create_index("ix_review_states_user", "review_states", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_review_states_user", table_name="review_states")
    op.drop_index("ix_attempts_user_answered", table_name="attempts")
    op.create_index("ix_attempts_user_answered", "attempts", ["user_id", "answered_at"])
