"""images shown with questions (imported from Anki notes); the Anki import runs as a job

Revision ID: 0030
Revises: 0027
Create Date: 2026-12-07

- question_images: a question's checked image bytes (PNG, JPEG, GIF, WebP), on the question
  or the answer side, owned by the learner; they go with the question and the account.
- job_progress.kind may be 'import_anki'.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0027"
branch_labels = None
depends_on = None

OLD_KINDS = "'ingest', 'generate', 'fit_fsrs', 'reindex', 'export', 'delete_account', 'check'"


def upgrade() -> None:
    op.create_table(
        "question_images",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("question_id", sa.BigInteger(), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=20), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "side IN ('question', 'answer')", name=op.f("ck_question_images_side_known")
        ),
        sa.CheckConstraint(
            "media_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')",
            name=op.f("ck_question_images_media_type_known"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_question_images_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_question_images_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_images")),
    )
    op.create_index(
        "ix_question_images_user_question", "question_images", ["user_id", "question_id"]
    )
    op.drop_constraint(op.f("ck_job_progress_kind_known"), "job_progress", type_="check")
    op.create_check_constraint(
        op.f("ck_job_progress_kind_known"), "job_progress", f"kind IN ({OLD_KINDS}, 'import_anki')"
    )


def downgrade() -> None:
    op.execute("DELETE FROM job_progress WHERE kind = 'import_anki'")
    op.drop_constraint(op.f("ck_job_progress_kind_known"), "job_progress", type_="check")
    op.create_check_constraint(
        op.f("ck_job_progress_kind_known"), "job_progress", f"kind IN ({OLD_KINDS})"
    )
    op.drop_index("ix_question_images_user_question", table_name="question_images")
    op.drop_table("question_images")
