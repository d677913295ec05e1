"""background jobs: procrastinate's queue schema and the job_progress table

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-23

procrastinate's own schema (the SQL file shipped with the pinned package) is applied here, in
its own PostgreSQL schema `procrastinate`, so Alembic stays the only thing that changes the
database; the queue connects with `search_path=procrastinate`. Upgrading procrastinate means a
new migration applying its shipped migration files, never `procrastinate schema --apply`.
"""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None

QUEUE_SCHEMA = "procrastinate"


def _procrastinate_sql() -> str:
    return (resources.files("procrastinate.sql") / "schema.sql").read_text(encoding="utf-8")


def upgrade() -> None:
    conn = op.get_bind()
    previous = conn.exec_driver_sql("SHOW search_path").scalar()
    conn.exec_driver_sql(f"CREATE SCHEMA {QUEUE_SCHEMA}")
    conn.exec_driver_sql(f"SET LOCAL search_path TO {QUEUE_SCHEMA}")
    conn.exec_driver_sql(_procrastinate_sql().replace("%", "%%"))
    conn.exec_driver_sql(f"SET LOCAL search_path TO {previous}")

    op.create_table(
        "job_progress",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("queue_job_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("label", sa.Text(), server_default="", nullable=False),
        sa.Column("stage", sa.String(length=40), server_default="queued", nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.Column("outcome", sa.String(length=20), server_default="queued", nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("spool_path", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("dismissed", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('ingest', 'generate', 'fit_fsrs', 'reindex', 'export', 'delete_account', "
            "'check')",
            name=op.f("ck_job_progress_kind_known"),
        ),
        sa.CheckConstraint(
            "outcome IN ('queued', 'running', 'done', 'failed', 'cancelled')",
            name=op.f("ck_job_progress_outcome_known"),
        ),
        sa.CheckConstraint(
            "done >= 0 AND total >= 0", name=op.f("ck_job_progress_counts_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            ondelete="CASCADE",
            name=op.f("fk_job_progress_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_progress")),
    )
    op.create_index("ix_job_progress_user_recent", "job_progress", ["user_id", "created_at"])
    op.create_index("ix_job_progress_queue_job_id", "job_progress", ["queue_job_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_job_progress_queue_job_id", table_name="job_progress")
    op.drop_index("ix_job_progress_user_recent", table_name="job_progress")
    op.drop_table("job_progress")
    op.execute(f"DROP SCHEMA {QUEUE_SCHEMA} CASCADE")
