"""practice: review states, attempts, flags, personal FSRS parameters

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

The due queue is served by the partial index ix_review_states_due (user_id, due_at) WHERE NOT
suspended: a learner's due questions are a short range scan at any table size, so the tables
are not partitioned.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_states",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("question_id", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("suspended", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("reviews", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lapses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("first_reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sm2_repetitions", sa.Integer(), nullable=False),
        sa.Column("sm2_interval_days", sa.Integer(), nullable=False),
        sa.Column("sm2_easiness", sa.Float(), nullable=False),
        sa.Column("sm2_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fsrs_state", sa.SmallInteger(), nullable=False),
        sa.Column("fsrs_step", sa.SmallInteger(), nullable=True),
        sa.Column("fsrs_stability", sa.Float(), nullable=True),
        sa.Column("fsrs_difficulty", sa.Float(), nullable=True),
        sa.Column("fsrs_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "reviews >= 0 AND lapses >= 0", name=op.f("ck_review_states_counts_non_negative")
        ),
        sa.CheckConstraint(
            "sm2_easiness >= 1", name=op.f("ck_review_states_sm2_easiness_positive")
        ),
        sa.CheckConstraint(
            "fsrs_state IN (1, 2, 3)", name=op.f("ck_review_states_fsrs_state_known")
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_review_states_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_review_states_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_states")),
        sa.UniqueConstraint("question_id", name="uq_review_states_question_id"),
    )
    op.create_index(
        "ix_review_states_due",
        "review_states",
        ["user_id", "due_at"],
        unique=False,
        postgresql_where=sa.text("NOT suspended"),
    )

    op.create_table(
        "attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("question_id", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("review_number", sa.Integer(), nullable=False),
        sa.Column(
            "answered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.SmallInteger(), nullable=False),
        sa.Column("response", sa.Text(), server_default="", nullable=False),
        sa.Column("hinted", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("grader", sa.String(length=10), nullable=False),
        sa.Column("grade_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("quality", sa.SmallInteger(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("scheduler", sa.String(length=10), nullable=False),
        sa.Column("xp", sa.Integer(), nullable=False),
        sa.Column("state_before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("state_after", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("disputed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispute_note", sa.Text(), nullable=True),
        sa.CheckConstraint("seconds BETWEEN 1 AND 3600", name=op.f("ck_attempts_seconds_range")),
        sa.CheckConstraint("confidence BETWEEN 1 AND 5", name=op.f("ck_attempts_confidence_range")),
        sa.CheckConstraint("quality BETWEEN 0 AND 5", name=op.f("ck_attempts_quality_range")),
        sa.CheckConstraint("rating BETWEEN 1 AND 4", name=op.f("ck_attempts_rating_range")),
        sa.CheckConstraint("score >= 0 AND score <= 1", name=op.f("ck_attempts_score_range")),
        sa.CheckConstraint("scheduler IN ('sm2','fsrs')", name=op.f("ck_attempts_scheduler_known")),
        sa.CheckConstraint(
            "grader IN ('choice','exact','fuzzy','keypoints','llm')",
            name=op.f("ck_attempts_grader_known"),
        ),
        sa.CheckConstraint("xp >= 0", name=op.f("ck_attempts_xp_non_negative")),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_attempts_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_attempts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
        sa.UniqueConstraint("user_id", "token", name="uq_attempts_user_token"),
        sa.UniqueConstraint("question_id", "review_number", name="uq_attempts_question_review"),
    )
    op.create_index(
        "ix_attempts_user_answered", "attempts", ["user_id", "answered_at"], unique=False
    )

    op.create_table(
        "flags",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("question_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=10), nullable=True),
        sa.CheckConstraint(
            "reason IN ('wrong','unclear','duplicate','other')", name=op.f("ck_flags_reason_known")
        ),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('kept','retired','replaced')",
            name=op.f("ck_flags_resolution_known"),
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_flags_attempt_id_attempts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_flags_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_flags_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flags")),
    )
    op.create_index("ix_flags_question", "flags", ["question_id"], unique=False)
    op.create_index(
        "ix_flags_user_open",
        "flags",
        ["user_id"],
        unique=False,
        postgresql_where=sa.text("resolved_at IS NULL"),
    )

    # A question leaving (or re-entering) the queues takes its review state with it, whichever
    # service changed its status: the due index only ever sees active questions.
    op.execute("""
        CREATE FUNCTION review_states_follow_question_status() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE review_states SET suspended = (NEW.status <> 'active')
             WHERE question_id = NEW.id AND suspended IS DISTINCT FROM (NEW.status <> 'active');
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER questions_status_suspends_review_state
        AFTER UPDATE OF status ON questions
        FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
        EXECUTE FUNCTION review_states_follow_question_status()
    """)

    op.create_table(
        "scheduler_parameters",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("adopted", sa.Boolean(), nullable=False),
        sa.Column("n_reviews", sa.Integer(), nullable=False),
        sa.Column("current_log_loss", sa.Float(), nullable=True),
        sa.Column("candidate_log_loss", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "fitted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_scheduler_parameters_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_scheduler_parameters")),
    )


def downgrade() -> None:
    op.drop_table("scheduler_parameters")
    op.execute("DROP TRIGGER questions_status_suspends_review_state ON questions")
    op.execute("DROP FUNCTION review_states_follow_question_status()")
    op.drop_index(
        "ix_flags_user_open", table_name="flags", postgresql_where=sa.text("resolved_at IS NULL")
    )
    op.drop_index("ix_flags_question", table_name="flags")
    op.drop_table("flags")
    op.drop_index("ix_attempts_user_answered", table_name="attempts")
    op.drop_table("attempts")
    op.drop_index(
        "ix_review_states_due",
        table_name="review_states",
        postgresql_where=sa.text("NOT suspended"),
    )
    op.drop_table("review_states")
