"""accounts: a deletion mark on users; job parameters kept beside the job, not in the queue

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-07

`users.deleting_since` is set (with every session revoked, in one transaction) when a learner
asks to delete the account; from then on the account cannot sign in, queue a job or have one
run, until the deletion job removes it. `job_progress.params` holds what a job needs besides
its id (a generation's topic and settings, an upload's SHA-256 for the "already waiting"
check), so the queue's own tables hold ids only. Existing queue rows are scrubbed the same way:
their arguments keep only `job_id` (a generation's parameters move to its progress row, the
emails of queued account deletions go), and ingestion queueing locks (which held a file's
hash) are cleared.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("deleting_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column("job_progress", sa.Column("params", postgresql.JSONB(), nullable=True))
    op.execute("""
        UPDATE job_progress p SET params = j.args->'params'
        FROM procrastinate.procrastinate_jobs j
        WHERE j.id = p.queue_job_id AND j.args ? 'params'""")
    # procrastinate's triggers name its tables without the schema.
    conn = op.get_bind()
    previous = conn.exec_driver_sql("SHOW search_path").scalar()
    conn.exec_driver_sql("SET LOCAL search_path TO procrastinate")
    conn.exec_driver_sql("""
        UPDATE procrastinate_jobs
        SET args = jsonb_build_object('job_id', args->'job_id')
        WHERE args ? 'job_id' AND args - 'job_id' <> '{}'::jsonb""")
    conn.exec_driver_sql("""
        UPDATE procrastinate_jobs SET queueing_lock = NULL
        WHERE task_name = 'ingest' AND queueing_lock IS NOT NULL""")
    conn.exec_driver_sql(f"SET LOCAL search_path TO {previous}")


def downgrade() -> None:
    op.drop_column("job_progress", "params")
    op.drop_column("users", "deleting_since")
