"""The app's process-wide runtime, created once and shared by every session.

The first start from an empty data folder initialises the embedded PostgreSQL and applies the
migrations, which takes seconds. `start_runtime()` (called by app.py before it imports the rest
of the app) begins that work on a thread, so the imports of the pages overlap with it;
`get_runtime()` waits for it to finish. This module is the UI's one way to the runtime: pages
hand `get_runtime()`'s runtime to engine services; UI helpers type it as `ui.runtime.Runtime`.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from engine.config import Settings
    from engine.runtime import Runtime


def _create() -> Runtime:
    """Raises EngineError when the database cannot be reached or started. Starts the embedded
    job worker of this process (see engine.jobs.worker)."""
    from engine.config import get_settings
    from engine.db.embedded import database_url
    from engine.errors import DatabaseUnavailable

    settings = get_settings()
    # The embedded PostgreSQL first (when there is no DATABASE_URL): its initdb and start run
    # in other processes while this one imports the database and migration code below.
    # create_runtime tries again below, then reports and logs the cause.
    with contextlib.suppress(DatabaseUnavailable):
        database_url(settings)
    from engine.bootstrap import create_runtime, ensure_worker, warm_up

    rt = create_runtime(settings)
    # Registered after the embedded PostgreSQL's own exit handler, so it runs first: the job
    # worker stops before the database does (instead of logging connection errors on the way).
    atexit.register(rt.close)
    ensure_worker(rt)  # unless GROUNDWORK_EMBEDDED_WORKER=false
    warm_up(rt)  # the embedding model loads in the background
    return rt


def _creates_database() -> bool:
    """Whether starting now creates a new embedded database (no DATABASE_URL, and no cluster
    in the data folder yet)."""
    from engine.config import get_settings

    s = get_settings()
    return not s.database.url and not (s.storage.pg_data_dir / "PG_VERSION").exists()


class _Starter:
    """One start of the runtime at a time; a failed start is retried by the next call (the
    operator fixes the problem and reloads the page)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._future: Future[Runtime] | None = None
        self._fresh = False

    def creating_database(self) -> bool:
        with self._lock:
            return self._fresh and self._future is not None and not self._future.done()

    def begin(self) -> Future[Runtime]:
        with self._lock:
            future = self._future
            if future is None or (future.done() and future.exception() is not None):
                self._fresh = _creates_database()
                future = Future()
                threading.Thread(
                    target=self._run, args=(future,), name="groundwork-start", daemon=True
                ).start()
                self._future = future
            return future

    def close(self) -> None:
        """Close the runtime this starter made, if it made one (its worker thread included)."""
        with self._lock:
            future, self._future = self._future, None
        if future is not None and future.done() and future.exception() is None:
            future.result().close()

    @staticmethod
    def _run(future: Future[Runtime]) -> None:
        try:
            rt = _create()
        except BaseException as e:  # noqa: BLE001 - handed to the page that waits, which shows it
            future.set_exception(e)
        else:
            future.set_result(rt)


def _release(starter: _Starter) -> None:
    starter.close()


@st.cache_resource(show_spinner=False, on_release=_release)
def _starter() -> _Starter:
    return _Starter()


def start_runtime() -> None:
    """Begin creating the runtime in the background (no-op once it has started)."""
    _starter().begin()


def creating_database() -> bool:
    """True while this process creates and migrates a new embedded database (the first start
    on an empty data folder, a few seconds). No account can exist yet, so nobody is signed in:
    the sign-in pages show at once and wait for the database only when a form is sent."""
    return _starter().creating_database()


def app_settings() -> Settings:
    """The settings the runtime is (being) built with, available before it is ready."""
    from engine.config import get_settings

    return get_settings()


def signup_mode() -> str:
    """Who may create accounts now: the admin's choice in the console once the database is
    up (`GROUNDWORK_SIGNUP_MODE` while a first start creates it)."""
    if creating_database():
        return app_settings().accounts.signup_mode
    from engine.accounts import current_signup_mode

    return current_signup_mode(get_runtime())


def get_runtime() -> Runtime:
    """The runtime, waiting for its start with a spinner the first time.

    Raises:
        EngineError: the database cannot be reached or started (the next call tries again).
    """
    future = _starter().begin()
    if not future.done():
        with st.spinner("Starting Groundwork…"):
            return future.result()
    return future.result()


def reset_runtime() -> None:
    """Close and forget the runtime, so the next call builds a new one (tests with new
    settings)."""
    _starter.clear()
