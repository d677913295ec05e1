"""every tag of an imported Anki note is kept with its questions

Revision ID: 0036
Revises: 0032
Create Date: 2026-12-07

- question_tags: (question, tag) with the learner; hierarchical tags kept as their path
  ("Lang::Spanish"), in the "C" collation so the (user_id, tag) index serves both a tag and
  its descendants (`LIKE 'Lang::%'`). They go with the question and with the account.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "question_tags",
        sa.Column("question_id", sa.BigInteger(), nullable=False),
        sa.Column("tag", sa.String(length=200, collation="C"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_question_tags_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_question_tags_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("question_id", "tag", name=op.f("pk_question_tags")),
    )
    op.create_index("ix_question_tags_user_tag", "question_tags", ["user_id", "tag"])


def downgrade() -> None:
    op.drop_index("ix_question_tags_user_tag", table_name="question_tags")
    op.drop_table("question_tags")
