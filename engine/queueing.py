"""The job queue's adapter (procrastinate): the connection to its schema, the app that queues
jobs from pages, and the app a worker runs (its tasks registered by the caller).

The queue lives in PostgreSQL's `procrastinate` schema (created by migration 0010); every queue
connection sets `search_path=procrastinate`. Pages queue from ordinary threads through a small
synchronous pool; workers use procrastinate's asyncio worker, which runs our synchronous task
functions in threads.
"""

from __future__ import annotations

from typing import Any

from procrastinate import App, PsycopgConnector, SyncPsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.db.session import affected_rows


class QueueUnavailable(Exception):
    """The queue's database could not be reached (nothing was queued or cancelled)."""


class AlreadyWaiting(Exception):
    """A job with the same queueing lock is already waiting (nothing was queued)."""


def learner_lock(user_id: int) -> str:
    """The procrastinate lock of a learner's jobs other than uploads: such a job runs alone,
    never beside another job of the learner (migration 0033's fetch rule)."""
    return f"learner:{int(user_id)}"


def upload_lock(user_id: int, lane: int) -> str:
    """The lock of a learner's upload in `lane`: uploads in different lanes run side by side,
    those in one lane one after another, and none beside a job holding `learner_lock`."""
    return f"{learner_lock(user_id)}#{int(lane)}"


# SQL: the lock `lock_col` is the learner's plain lock or one of their upload lanes.
LEARNER_GROUP = "split_part({col}, '#', 1) = :lock"


def purge_learner_jobs(session: Session, *, user_id: int) -> int:
    """Remove the learner's queue rows, in the caller's transaction: waiting ones (they never
    run) and finished ones (history the account no longer has). A running job stays, and so
    does a waiting account deletion. Returns how many went."""
    # procrastinate's delete trigger names its tables without the schema.
    previous = session.scalar(text("SELECT current_setting('search_path')"))
    session.execute(
        text("SELECT set_config('search_path', 'procrastinate, ' || :p, true)"), {"p": previous}
    )
    result = session.execute(
        text(
            "DELETE FROM procrastinate.procrastinate_jobs "
            f"WHERE {LEARNER_GROUP.format(col='lock')} AND status <> 'doing' "
            "AND NOT (task_name = 'delete_account' AND status = 'todo')"
        ),
        {"lock": learner_lock(user_id)},
    )
    session.execute(text("SELECT set_config('search_path', :p, true)"), {"p": previous})
    return affected_rows(result)


def conninfo(database: Engine) -> str:
    """The libpq URL of the database (psycopg, no SQLAlchemy driver name)."""
    return database.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _connection_kwargs(settings: Settings) -> dict[str, Any]:
    return {
        "options": "-c search_path=procrastinate",
        "connect_timeout": settings.database.connect_timeout_s,
        "application_name": "groundwork-jobs",
    }


def open_queue_app(database: Engine, settings: Settings) -> App:
    """A new, opened queueing app on the database; safe to share between threads. The runtime
    keeps one (`Runtime.queue`) and closes it in `Runtime.close()`."""
    connector = SyncPsycopgConnector(
        conninfo=conninfo(database),
        min_size=0,
        max_size=4,
        kwargs=_connection_kwargs(settings),
        timeout=settings.database.pool_timeout_s,
    )
    return App(connector=connector).open()


def worker_app(database: Engine, settings: Settings) -> App:
    """A new app for one worker, not yet opened; the caller registers its tasks
    (`engine.jobs.tasks.register_tasks`)."""
    connector = PsycopgConnector(
        conninfo=conninfo(database),
        min_size=1,
        max_size=settings.jobs.worker_concurrency + 3,
        kwargs=_connection_kwargs(settings),
    )
    return App(connector=connector)


def defer(
    app: App,
    task: str,
    *,
    job_id: int,
    queue: str | None = None,
    lock: str | None = None,
    queueing_lock: str | None = None,
    priority: int = 0,
) -> int:
    """Queue `task` with its one argument, the id of its progress row; returns the queue's
    job id.

    Raises:
        AlreadyWaiting: a job with the same `queueing_lock` is waiting.
        QueueUnavailable: the queue's database cannot be reached.
    """
    try:
        return app.configure_task(
            task, queue=queue, lock=lock, queueing_lock=queueing_lock, priority=priority
        ).defer(job_id=job_id)
    except AlreadyEnqueued:
        raise AlreadyWaiting(task) from None
    except ConnectorException as e:
        raise QueueUnavailable(repr(e)) from e


def cancel(app: App, queue_job_id: int, *, abort: bool = False) -> bool:
    """Cancel a waiting job (True when it was still waiting), or with `abort` ask a running
    one to stop.

    Raises:
        QueueUnavailable: the queue's database cannot be reached.
    """
    try:
        return app.job_manager.cancel_job_by_id(queue_job_id, abort=abort)
    except ConnectorException as e:
        raise QueueUnavailable(repr(e)) from e
