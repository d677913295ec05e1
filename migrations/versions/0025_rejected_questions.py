"""rejected questions: what a learner rejected on the Generate page is never offered again

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07

- rejected_questions: per learner, the dedupe key (stem and answer, as the bank deduplicates),
  the normalised source sentence and the stem of each generated question they rejected.
  Generation (and so Quiz me in the tutor) leaves these out; Undo on the page removes the row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rejected_questions",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("material_id", sa.BigInteger(), nullable=True),
        sa.Column("dedupe_key", sa.Text(), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("stem", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_rejected_questions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_rejected_questions_material_id_materials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_questions")),
        sa.UniqueConstraint("user_id", "dedupe_key", name="uq_rejected_questions_user_key"),
    )


def downgrade() -> None:
    op.drop_table("rejected_questions")
