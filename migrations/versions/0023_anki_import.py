"""imported questions (Anki): source key for re-import, 'anki' generator, self-rated grader

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-07

- questions.external_key ('anki:<note guid>:<card ord>'), unique per learner where set: a
  re-import of the same deck updates its questions instead of adding them again.
- questions.generator may be 'anki' or 'csv' (imported, not generated).
- attempts.grader may be 'self': a flashcard rated by the learner (Again/Hard/Good/Easy), in
  Groundwork or, for imported history, in Anki.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("questions", sa.Column("external_key", sa.String(length=160), nullable=True))
    op.create_index(
        "uq_questions_user_external_key",
        "questions",
        ["user_id", "external_key"],
        unique=True,
        postgresql_where=sa.text("external_key IS NOT NULL"),
    )
    op.drop_constraint(op.f("ck_questions_generator_known"), "questions", type_="check")
    op.create_check_constraint(
        op.f("ck_questions_generator_known"),
        "questions",
        "generator IN ('llm','offline','anki','csv')",
    )
    op.drop_constraint(op.f("ck_attempts_grader_known"), "attempts", type_="check")
    op.create_check_constraint(
        op.f("ck_attempts_grader_known"),
        "attempts",
        "grader IN ('choice','exact','fuzzy','keypoints','llm','self')",
    )


def downgrade() -> None:
    op.execute("DELETE FROM attempts WHERE grader = 'self'")
    op.execute("DELETE FROM questions WHERE generator IN ('anki', 'csv')")
    op.drop_constraint(op.f("ck_attempts_grader_known"), "attempts", type_="check")
    op.create_check_constraint(
        op.f("ck_attempts_grader_known"),
        "attempts",
        "grader IN ('choice','exact','fuzzy','keypoints','llm')",
    )
    op.drop_constraint(op.f("ck_questions_generator_known"), "questions", type_="check")
    op.create_check_constraint(
        op.f("ck_questions_generator_known"), "questions", "generator IN ('llm','offline')"
    )
    op.drop_index("uq_questions_user_external_key", table_name="questions")
    op.drop_column("questions", "external_key")
