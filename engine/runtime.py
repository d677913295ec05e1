"""The process's long-lived infrastructure: settings, the database, and the adapters built on
them (vector store, embedder, lexical indexes, job queue).

Infrastructure only: this module imports no service and no job module. The composition root,
`engine.bootstrap`, builds runtimes (`create_runtime`, `get_runtime`) and starts workers. The
Streamlit app wraps `create_runtime()` in `st.cache_resource` (`ui.runtime.get_runtime`); the
command line uses `get_runtime()`; tests and benchmarks build their own with
`create_runtime(settings)`, and `Runtime.with_settings(...)` for other settings on the same
database. Everything a runtime opens is released by `Runtime.close()`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings
from engine.db.embedded import database_url
from engine.db.migrate import upgrade_head
from engine.db.session import make_engine, make_read_session_factory, safe_url
from engine.errors import DatabaseUnavailable
from engine.logging_setup import redact
from engine.lru import LruCache
from engine.queueing import open_queue_app
from engine.retrieval.embeddings import Embedder
from engine.retrieval.lexical import IndexCache
from engine.retrieval.stores import RetrievalStores
from engine.retrieval.vectors import VectorStore

if TYPE_CHECKING:
    from procrastinate import App

log = logging.getLogger(__name__)


class Worker(Protocol):
    """A job worker running in this process (`engine.jobs.worker.EmbeddedWorker`)."""

    @property
    def alive(self) -> bool: ...

    def stop(self, timeout: float = 30.0) -> None: ...


class _Adapters:
    """What a runtime opens on first use, shared with its `with_settings` copies and closed by
    the runtime that made it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings  # the adapters are built from the first runtime's settings
        self.lock = threading.RLock()
        self.retrieval: RetrievalStores | None = None
        self.queue: App | None = None
        self.worker: Worker | None = None


@dataclass(eq=False)
class Runtime:
    """Settings, the database engine and session factory, and the adapters services share.

    The adapters are built on first use (a page that never searches never loads the
    embedding model) and kept until `close()`. Safe to share between threads.
    """

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    # Signs the "stay signed in" cookie (configured, or this install's own generated key).
    cookie_key: str = field(repr=False, default="")
    # Offline generation's key-term spaces, by (material id, sha256, embedding model label),
    # built on first use (a bounded LRU).
    term_cache: LruCache[tuple[int, str, str], Any] = field(default_factory=LruCache, repr=False)
    # Read-only query results that several parts of one page load share (a bounded LRU).
    query_cache: LruCache[Hashable, Any] = field(
        default_factory=lambda: LruCache(max_entries=32), repr=False
    )
    _adapters: _Adapters | None = field(repr=False, default=None)
    # False for a `with_settings` copy: its `close()` leaves the shared resources open.
    _owner: bool = field(repr=False, default=True)
    # Sessions for reads only, outside a transaction (`make_read_session_factory`): the hot
    # reads of a practice click use them.
    read_session_factory: sessionmaker[Session] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.read_session_factory = make_read_session_factory(self.engine)
        if self._adapters is None:
            self._adapters = _Adapters(self.settings)

    @property
    def _shared(self) -> _Adapters:
        assert self._adapters is not None  # set by __post_init__
        return self._adapters

    def with_settings(self, settings: Settings) -> Runtime:
        """This runtime with other settings, for comparing settings or a limit in one call:
        the same database, vector store, embedder, lexical indexes, job queue and caches
        (opened once, from this runtime's settings, and closed by this runtime's `close()`;
        the copy's own `close()` does nothing)."""
        return dataclasses.replace(self, settings=settings, _owner=False)

    def _stores(self) -> RetrievalStores:
        shared = self._shared
        with shared.lock:
            if shared.retrieval is None:
                shared.retrieval = RetrievalStores(shared.settings)
            return shared.retrieval

    @property
    def vectors(self) -> VectorStore:
        """The vector store (Chroma), opened on first use."""
        return self._stores().vectors

    @property
    def embedder(self) -> Embedder:
        """The embedding model the settings name, loaded on first use."""
        return self._stores().embedder

    def warm_up_embedder(self) -> None:
        """Start loading the embedding model on a background thread (once per runtime), so
        the first upload or search does not wait for it (`engine.bootstrap.warm_up`)."""
        self._stores().warm_up_embedder()

    @property
    def embedder_ready(self) -> bool:
        """Whether the embedding model is loaded (using `embedder` will not wait for it)."""
        return self._stores().built("embedder")

    def wait_for_embedder(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for the model's background loading (`warm_up_embedder`);
        True once it has ended (loaded, or failed: then `embedder` raises why)."""
        return self._stores().wait_for_embedder(timeout_s)

    @property
    def lexical_indexes(self) -> IndexCache:
        """Learners' BM25 indexes, bounded by `cache_budget_mb`."""
        return self._stores().lexical_indexes

    @property
    def queue(self) -> App:
        """The job queue's app for queueing and reading jobs (opened on first use)."""
        shared = self._shared
        with shared.lock:
            if shared.queue is None:
                shared.queue = open_queue_app(self.engine, shared.settings)
            return shared.queue

    @property
    def worker(self) -> Worker | None:
        """The worker thread this process runs (`engine.bootstrap.ensure_worker`), if any."""
        return self._shared.worker

    def keep_worker(self, start: Callable[[], Worker]) -> Worker:
        """The live worker of this process, or the one `start()` starts (again, if the last
        one died); `close()` stops it."""
        shared = self._shared
        with shared.lock:
            if shared.worker is None or not shared.worker.alive:
                shared.worker = start()
            return shared.worker

    def close(self) -> None:
        """Stop the worker, close the queue and the database pool, and drop the adapters.
        Safe to call twice; does nothing for a `with_settings` copy."""
        if not self._owner:
            return
        shared = self._shared
        with shared.lock:
            worker, shared.worker = shared.worker, None
            queue, shared.queue = shared.queue, None
            shared.retrieval = None
        if worker is not None:
            worker.stop()
        if queue is not None:
            queue.close()
        self.engine.dispose()


def open_database(settings: Settings, *, migrate: bool = True) -> Engine:
    """Connect to the database (starting the embedded one if needed) and apply migrations.

    Raises:
        DatabaseUnavailable: the database cannot be reached, started or migrated (the cause
            is logged, without any password).
    """
    url: str | None = settings.database.url
    try:
        url = database_url(settings)  # starts the embedded PostgreSQL when none is configured
        engine = _connect(url, settings, migrate=migrate)
    except DatabaseUnavailable as e:
        _log_start_failure(e, url)
        raise
    log.info("runtime ready", extra={"database": safe_url(url)})
    return engine


def _connect(url: str, settings: Settings, *, migrate: bool) -> Engine:
    engine = make_engine(url, settings)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        if migrate:
            upgrade_head(url)
    except (OperationalError, DatabaseUnavailable) as e:
        engine.dispose()
        orig = getattr(e, "orig", None) or getattr(e, "detail", None)
        raise DatabaseUnavailable(
            f"Cannot reach the database at {safe_url(url)}. Check that it is running and that "
            "DATABASE_URL is right.",
            detail=str(orig) if orig else str(e),
        ) from e
    except SQLAlchemyError as e:
        engine.dispose()
        raise DatabaseUnavailable(
            "The database schema could not be brought up to date.", detail=repr(e)
        ) from e
    return engine


def _log_start_failure(e: DatabaseUnavailable, url: str | None) -> None:
    """What the start-up page calls "the technical details": the cause, for the operator's
    log. The URL's password is masked wherever it appears."""
    cause = e.detail or repr(e.__cause__ or e)
    database = None
    if url:
        database = safe_url(url)
        try:
            password = make_url(url).password
        except ArgumentError:
            password = None
        if password:
            cause = cause.replace(str(password), "***")
    log.error(
        "database start failed: %s",
        redact(cause),
        extra={"database": database, "problem": e.user_message},
    )
