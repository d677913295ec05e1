"""The composition root: builds the runtime and runs the job workers.

Everything above the services starts here: the app (`ui.runtime`), the command line
(`python -m engine`), tests and benchmarks. The runtime (`engine.runtime`) holds infrastructure
only; binding jobs to the services that do their work (`engine.jobs.worker`) happens here,
never below.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from functools import lru_cache

from engine.accounts.keys import cookie_signing_key
from engine.config import Settings, get_settings
from engine.db.session import make_session_factory
from engine.jobs.worker import EmbeddedWorker, run_worker_async
from engine.logging_setup import configure_logging
from engine.runtime import Runtime, Worker, open_database

log = logging.getLogger(__name__)


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
    engine = open_database(settings, migrate=migrate)
    return Runtime(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        cookie_key=cookie_key,
    )


@lru_cache(maxsize=1)
def get_runtime() -> Runtime:
    """The command line's runtime: one per process, built on first use from the environment
    (`python -m engine` and scripts; the app has its own in `ui.runtime`)."""
    return create_runtime()


def ensure_worker(rt: Runtime) -> Worker | None:
    """Start this process's own job worker thread (or start it again if it died), unless
    the settings say workers run elsewhere (GROUNDWORK_EMBEDDED_WORKER=false). `rt.close()`
    stops it."""
    if not rt.settings.jobs.embedded_worker:
        return None
    return rt.keep_worker(
        lambda: EmbeddedWorker(rt, concurrency=rt.settings.jobs.worker_concurrency).start()
    )


def warm_up(rt: Runtime) -> None:
    """Prepare the embedding model in the background when the app or a worker starts (the
    first start builds it, tens of seconds); an upload arriving before it is ready says so.
    GROUNDWORK_EMBEDDING_WARM_UP=false leaves it to the first use."""
    if rt.settings.embedding.warm_up:
        rt.warm_up_embedder()


def lower_worker_priority(rt: Runtime) -> int:
    """Give this worker process a lower CPU priority than the app processes beside it (by
    GROUNDWORK_JOBS_WORKER_NICENESS, 10 by default), so ingestion and generation jobs never
    slow learners' clicks on a shared machine. Returns the new nice value."""
    return os.nice(rt.settings.jobs.worker_niceness)


def run_worker(rt: Runtime, *, concurrency: int | None = None) -> None:
    """`python -m engine worker`: run until SIGINT or SIGTERM, then finish gracefully. The
    process runs at a lower CPU priority (`lower_worker_priority`)."""
    log.info("worker at CPU niceness %d", lower_worker_priority(rt))
    warm_up(rt)

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None  # main() runs as the event loop's task
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        await run_worker_async(rt, concurrency=concurrency)

    try:
        asyncio.run(main())
    except asyncio.CancelledError:
        log.info("worker stopped")
