"""The process's long-lived resources: settings, the database, and the adapters built on them.

Built by a factory, never at import. The Streamlit app wraps `create_runtime()` in
`st.cache_resource` (`ui.runtime.get_runtime`); the command line uses `get_runtime()`; tests
and benchmarks build their own with `create_runtime(settings)`. Everything a runtime opens is
released by `Runtime.close()`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from engine.accounts.keys import cookie_signing_key
from engine.config import Settings, get_settings
from engine.db.embedded import database_url
from engine.db.migrate import upgrade_head
from engine.db.session import make_engine, make_session_factory, safe_url
from engine.errors import DatabaseUnavailable
from engine.generation.terms import TermCache
from engine.logging_setup import configure_logging, redact

if TYPE_CHECKING:
    from procrastinate import App

    from engine.jobs.worker import EmbeddedWorker
    from engine.retrieval.embeddings import Embedder
    from engine.retrieval.lexical import IndexCache
    from engine.retrieval.stores import RetrievalStores
    from engine.retrieval.vectors import VectorStore

log = logging.getLogger(__name__)


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
    # Offline generation's key-term spaces per material, built on first use (a bounded LRU).
    term_cache: TermCache = field(default_factory=TermCache, repr=False)
    _lock: threading.RLock = field(init=False, repr=False, default_factory=threading.RLock)
    _retrieval: RetrievalStores | None = field(init=False, repr=False, default=None)
    _queue: App | None = field(init=False, repr=False, default=None)
    _worker: EmbeddedWorker | None = field(init=False, repr=False, default=None)

    def _stores(self) -> RetrievalStores:
        with self._lock:
            if self._retrieval is None:
                from engine.retrieval.stores import RetrievalStores

                self._retrieval = RetrievalStores(self.settings)
            return self._retrieval

    @property
    def vectors(self) -> VectorStore:
        """The vector store (Chroma), opened on first use."""
        return self._stores().vectors

    @property
    def embedder(self) -> Embedder:
        """The embedding model the settings name, loaded on first use."""
        return self._stores().embedder

    @property
    def lexical_indexes(self) -> IndexCache:
        """Learners' BM25 indexes, bounded by `cache_budget_mb`."""
        return self._stores().lexical_indexes

    @property
    def queue(self) -> App:
        """The job queue's app for queueing and reading jobs (opened on first use)."""
        with self._lock:
            if self._queue is None:
                from engine.jobs.queue import open_queue_app

                self._queue = open_queue_app(self)
            return self._queue

    @property
    def worker(self) -> EmbeddedWorker | None:
        """The worker thread `ensure_worker()` started in this process, if any."""
        return self._worker

    def ensure_worker(self) -> EmbeddedWorker | None:
        """Start this process's own job worker thread (or start it again if it died), unless
        the settings say workers run elsewhere (GROUNDWORK_EMBEDDED_WORKER=false)."""
        if not self.settings.jobs.embedded_worker:
            return None
        with self._lock:
            if self._worker is None or not self._worker.alive:
                from engine.jobs.worker import EmbeddedWorker

                self._worker = EmbeddedWorker(
                    self, concurrency=self.settings.jobs.worker_concurrency
                ).start()
            return self._worker

    def close(self) -> None:
        """Stop the worker, close the queue and the database pool, and drop the adapters.
        Safe to call twice."""
        with self._lock:
            worker, self._worker = self._worker, None
            queue, self._queue = self._queue, None
            self._retrieval = None
        if worker is not None:
            worker.stop()
        if queue is not None:
            queue.close()
        self.engine.dispose()


def create_runtime(settings: Settings | None = None, *, migrate: bool = True) -> Runtime:
    """Connect to the database (starting the embedded one if needed) and apply migrations.

    Raises:
        ConfigurationError: a configured cookie key that is too short, or a cookie key file
            that cannot be read or created.
        DatabaseUnavailable: the database cannot be reached, started or migrated (the cause
            is logged, without any password).
    """
    settings = settings or get_settings()
    configure_logging(settings)
    cookie_key = cookie_signing_key(settings)
    url: str | None = settings.database.url
    try:
        url = database_url(settings)  # starts the embedded PostgreSQL when none is configured
        engine = _connect(url, settings, migrate=migrate)
    except DatabaseUnavailable as e:
        _log_start_failure(e, url)
        raise
    log.info("runtime ready", extra={"database": safe_url(url)})
    return Runtime(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        cookie_key=cookie_key,
    )


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


@lru_cache(maxsize=1)
def get_runtime() -> Runtime:
    """The command line's runtime: one per process, built on first use from the environment
    (`python -m engine` and scripts; the app has its own in `ui.runtime`)."""
    return create_runtime()
