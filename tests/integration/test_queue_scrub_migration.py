"""Migration 0016 leaves ids only in the job queue's tables: a queued generation's settings
move to its progress row, a queued account deletion loses the email it carried, and ingestion
queueing locks (which held a file's hash) are cleared."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import create_engine, text

from engine.db.migrate import alembic_config

SHA = "ab" * 32
PARAMS = {
    "material_ids": [],
    "topic": "private topic",
    "question_type": "mix",
    "difficulty": 3,
    "count": 2,
}


def test_queue_rows_are_scrubbed_to_ids(database_factory):
    url = database_factory.create_empty()
    cfg = alembic_config(url)
    try:
        command.upgrade(cfg, "0014")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL search_path TO procrastinate, public"))
            uid = conn.execute(
                text(
                    "INSERT INTO users (email, email_normalized, password_hash, display_name) "
                    "VALUES ('old@example.com', 'old@example.com', '$2b$12$x', 'x') "
                    "RETURNING id"
                )
            ).scalar_one()
            rows = [
                ("generate", None, {"params": PARAMS}, "todo", "now()"),
                (
                    "delete_account",
                    f"delete_account:{uid}",
                    {"confirm_email": "old@example.com"},
                    "succeeded",
                    "NULL",
                ),
                ("ingest", f"ingest:{uid}:{SHA}", {}, "todo", "NULL"),
            ]
            for task, qlock, args, status, scheduled in rows:
                progress = conn.execute(
                    text("INSERT INTO job_progress (user_id, kind) VALUES (:u, :k) RETURNING id"),
                    {"u": uid, "k": task},
                ).scalar_one()
                queue = conn.execute(
                    text(
                        "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, "
                        "queueing_lock, args, status, scheduled_at) VALUES ('default', :t, :l, "
                        f":q, CAST(:a AS jsonb), :s, {scheduled}) RETURNING id"
                    ),
                    {
                        "t": task,
                        "l": f"learner:{uid}",
                        "q": qlock,
                        "s": status,
                        "a": json.dumps({"job_id": progress, **args}),
                    },
                ).scalar_one()
                conn.execute(
                    text("UPDATE job_progress SET queue_job_id = :q WHERE id = :p"),
                    {"q": queue, "p": progress},
                )
        command.upgrade(cfg, "0016")
        with engine.connect() as conn:
            queued = conn.execute(
                text(
                    "SELECT j.task_name, j.args, j.queueing_lock, p.id, p.params "
                    "FROM procrastinate.procrastinate_jobs j "
                    "JOIN job_progress p ON p.queue_job_id = j.id ORDER BY j.id"
                )
            ).all()
            everything = " ".join(
                r[0]
                for r in conn.execute(
                    text("SELECT r::text FROM procrastinate.procrastinate_jobs r")
                )
            )
        engine.dispose()
        assert [(task, args) for task, args, _, _, _ in queued] == [
            (task, {"job_id": progress}) for task, _, _, progress, _ in queued
        ]
        assert queued[0][4] == PARAMS  # the generation's settings, now beside the job
        assert [q for _, _, q, _, _ in queued] == [None, f"delete_account:{uid}", None]
        for secret in ("old@example.com", SHA, "private topic"):
            assert secret not in everything
    finally:
        database_factory.drop(url)
