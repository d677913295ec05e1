"""procrastinate wiring: the connection to its schema, the app that queues jobs from pages, and
the app (with every task registered) that a worker runs.

The queue lives in PostgreSQL's `procrastinate` schema (created by migration 0010); every queue
connection sets `search_path=procrastinate`. Pages queue from ordinary threads through a small
synchronous pool; workers use procrastinate's asyncio worker, which runs our synchronous task
functions in threads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from procrastinate import App, PsycopgConnector, SyncPsycopgConnector
from sqlalchemy import text
from sqlalchemy.orm import Session

from engine.db.session import affected_rows

if TYPE_CHECKING:
    from engine.runtime import Runtime


def learner_lock(user_id: int) -> str:
    """The procrastinate lock every job of one learner carries (they run one at a time)."""
    return f"learner:{int(user_id)}"


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
            "WHERE lock = :lock AND status <> 'doing' "
            "AND NOT (task_name = 'delete_account' AND status = 'todo')"
        ),
        {"lock": learner_lock(user_id)},
    )
    session.execute(text("SELECT set_config('search_path', :p, true)"), {"p": previous})
    return affected_rows(result)


def conninfo(rt: Runtime) -> str:
    """The libpq URL of the runtime's database (psycopg, no SQLAlchemy driver name)."""
    return rt.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _connection_kwargs(rt: Runtime) -> dict[str, Any]:
    return {
        "options": "-c search_path=procrastinate",
        "connect_timeout": rt.settings.database.connect_timeout_s,
        "application_name": "groundwork-jobs",
    }


def open_queue_app(rt: Runtime) -> App:
    """A new, opened queueing app on the runtime's database; safe to share between threads.
    The runtime keeps one (`Runtime.queue`) and closes it in `Runtime.close()`."""
    connector = SyncPsycopgConnector(
        conninfo=conninfo(rt),
        min_size=0,
        max_size=4,
        kwargs=_connection_kwargs(rt),
        timeout=rt.settings.database.pool_timeout_s,
    )
    return App(connector=connector).open()


def worker_app(rt: Runtime) -> App:
    """A new app with every Groundwork task bound to `rt`, for one worker."""
    from engine.jobs.tasks import register_tasks

    connector = PsycopgConnector(
        conninfo=conninfo(rt),
        min_size=1,
        max_size=rt.settings.jobs.worker_concurrency + 3,
        kwargs=_connection_kwargs(rt),
    )
    app = App(connector=connector)
    register_tasks(app, rt)
    return app
