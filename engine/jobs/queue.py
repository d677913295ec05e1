"""procrastinate wiring: the connection to its schema, the app that queues jobs from pages, and
the app (with every task registered) that a worker runs.

The queue lives in PostgreSQL's `procrastinate` schema (created by migration 0010); every queue
connection sets `search_path=procrastinate`. Pages queue from ordinary threads through a small
synchronous pool; workers use procrastinate's asyncio worker, which runs our synchronous task
functions in threads.
"""

from __future__ import annotations

import threading
from typing import Any

from procrastinate import App, PsycopgConnector, SyncPsycopgConnector

from engine.db.session import normalise_url
from engine.runtime import Runtime, database_url

_QUEUE_KEY = "job_queue_app"
_lock = threading.Lock()


def conninfo(rt: Runtime) -> str:
    """The libpq URL of the runtime's database (psycopg, no SQLAlchemy driver name)."""
    url = normalise_url(database_url(rt.settings))
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _connection_kwargs(rt: Runtime) -> dict[str, Any]:
    return {"options": "-c search_path=procrastinate",
            "connect_timeout": rt.settings.database.connect_timeout_s,
            "application_name": "groundwork-jobs"}


def queue_app(rt: Runtime) -> App:
    """The runtime's queueing app (opened on first use); safe to share between threads."""
    with _lock:
        app = rt.extras.get(_QUEUE_KEY)
        if app is None:
            connector = SyncPsycopgConnector(conninfo=conninfo(rt), min_size=0, max_size=4,
                                             kwargs=_connection_kwargs(rt),
                                             timeout=rt.settings.database.pool_timeout_s)
            app = App(connector=connector).open()
            rt.extras[_QUEUE_KEY] = app
        return app  # type: ignore[return-value]


def close_queue(rt: Runtime) -> None:
    with _lock:
        app = rt.extras.pop(_QUEUE_KEY, None)
    if app is not None:
        app.close()  # type: ignore[attr-defined]


def worker_app(rt: Runtime) -> App:
    """A new app with every Groundwork task bound to `rt`, for one worker."""
    from engine.jobs.tasks import register_tasks

    connector = PsycopgConnector(conninfo=conninfo(rt), min_size=1,
                                 max_size=rt.settings.jobs.worker_concurrency + 3,
                                 kwargs=_connection_kwargs(rt))
    app = App(connector=connector)
    register_tasks(app, rt)
    return app
