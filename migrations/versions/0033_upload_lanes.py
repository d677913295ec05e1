"""upload lanes: a learner's uploads run side by side, their other jobs alone

Revision ID: 0033
Revises: 0036
Create Date: 2026-12-07

procrastinate runs one job per `lock` at a time. A learner's jobs carry `learner:<id>`; their
uploads now carry a lane of it, `learner:<id>#<n>` (`engine.queueing.upload_lock`). This
replaces procrastinate's fetch function (same signature, same result) with one that also
treats a lock and its lanes as one group: a job holding the plain lock (account deletion,
re-indexing, every other kind) never runs beside any job of its group and, while it waits at
its turn, no lane job queued after it starts; lane jobs of different lanes run side by side.
Fetches take a transaction-level advisory lock, so two workers never judge the same moment
differently. A future procrastinate upgrade that replaces this function must keep the rule.
"""

from __future__ import annotations

from alembic import op

revision = "0033"
down_revision = "0036"
branch_labels = None
depends_on = None

# Any fixed key: it only serialises fetches against each other.
_FETCH_LOCK = 7_306_115_110

_SIGNATURE = """
CREATE OR REPLACE FUNCTION procrastinate.procrastinate_fetch_job_v2(
    target_queue_names character varying[],
    p_worker_id bigint
)
    RETURNS procrastinate.procrastinate_jobs
    LANGUAGE plpgsql
AS $$
DECLARE
    found_jobs procrastinate.procrastinate_jobs;
BEGIN
"""

_TAIL = """
                AND jobs.status = 'todo'
                AND (target_queue_names IS NULL OR jobs.queue_name = ANY( target_queue_names ))
                AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())
            ORDER BY jobs.priority DESC, jobs.id ASC LIMIT 1
            FOR UPDATE OF jobs SKIP LOCKED
    )
    UPDATE procrastinate.procrastinate_jobs
        SET status = 'doing', worker_id = p_worker_id
        FROM candidate
        WHERE procrastinate.procrastinate_jobs.id = candidate.id
        RETURNING procrastinate.procrastinate_jobs.* INTO found_jobs;

 RETURN found_jobs;
END;
$$;
"""

_AHEAD_OR_RUNNING = """
                            AND (
                                other_jobs.status = 'doing'
                                OR (
                                    other_jobs.status = 'todo'
                                    AND (
                                        other_jobs.priority > jobs.priority
                                        OR (other_jobs.priority = jobs.priority
                                            AND other_jobs.id < jobs.id)
                                    )
                                )
                            )
                )
"""

GROUPED = (
    _SIGNATURE
    + f"""
    PERFORM pg_advisory_xact_lock({_FETCH_LOCK});
    WITH candidate AS (
        SELECT jobs.*
            FROM procrastinate.procrastinate_jobs AS jobs
            WHERE
                -- reject the job if a job of its lock, or of its lock's group when either
                -- holds the plain lock, is running or waits ahead of it
                NOT EXISTS (
                    SELECT 1
                        FROM procrastinate.procrastinate_jobs AS other_jobs
                        WHERE
                            jobs.lock IS NOT NULL
                            AND other_jobs.id <> jobs.id
                            AND other_jobs.status IN ('todo', 'doing')
                            AND (
                                other_jobs.lock = jobs.lock
                                OR (
                                    split_part(other_jobs.lock, '#', 1)
                                        = split_part(jobs.lock, '#', 1)
                                    AND (strpos(jobs.lock, '#') = 0
                                         OR strpos(other_jobs.lock, '#') = 0)
                                )
                            )"""
    + _AHEAD_OR_RUNNING
    + _TAIL
)

ORIGINAL = (
    _SIGNATURE
    + """
    WITH candidate AS (
        SELECT jobs.*
            FROM procrastinate.procrastinate_jobs AS jobs
            WHERE
                NOT EXISTS (
                    SELECT 1
                        FROM procrastinate.procrastinate_jobs AS other_jobs
                        WHERE
                            jobs.lock IS NOT NULL
                            AND other_jobs.lock = jobs.lock"""
    + _AHEAD_OR_RUNNING
    + _TAIL
)


def upgrade() -> None:
    op.get_bind().exec_driver_sql(GROUPED)


def downgrade() -> None:
    op.get_bind().exec_driver_sql(ORIGINAL)
