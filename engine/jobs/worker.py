"""Running workers: the worker loop that `python -m engine worker` runs in a process of its own
(`engine.bootstrap.run_worker`) or one thread inside the app process (the embedded default),
plus recovery of jobs whose worker died.

procrastinate marks a worker stalled when its heartbeat stops; its jobs stay 'doing'. Every
worker looks for such jobs every heartbeat: a safe-to-retry job is queued again (its progress
row says so), any other is marked failed with a message, and its spooled upload removed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from pathlib import Path
from typing import Any, cast

from procrastinate import App
from procrastinate.jobs import Job, Status
from sqlalchemy import text

from engine import library
from engine.domain.vocabulary import JobKind, JobState
from engine.jobs import progress as jp
from engine.jobs.spool import remove_spooled
from engine.jobs.tasks import RETRYABLE, register_tasks
from engine.queueing import worker_app
from engine.runtime import Runtime

log = logging.getLogger(__name__)

STOPPED_MESSAGE = (
    "The worker doing this stopped before it finished; nothing was saved. Please try again."
)


async def recover_stalled(app: App, rt: Runtime) -> int:
    """Queue again (or fail) the jobs of workers that stopped sending heartbeats."""
    s = rt.settings
    stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=s.jobs.stalled_after_s)
    handled = 0
    for job in stalled:
        try:
            await _recover(app, rt, job)
            handled += 1
        except Exception:  # another worker got there first, or the database went away
            log.info("stalled job not recovered here", extra={"queue_job": job.id}, exc_info=True)
    return handled


async def _recover(app: App, rt: Runtime, job: Job) -> None:
    job_id = int(cast(int, job.task_kwargs.get("job_id", 0)))  # our tasks defer an int
    if job.task_name in RETRYABLE and job.attempts < rt.settings.jobs.max_retries:
        await app.job_manager.retry_job(job)
        await asyncio.to_thread(
            jp.note,
            rt,
            job_id,
            "The worker doing this stopped; trying again.",
            outcome="queued",
            stage="waiting",
        )
        log.warning("stalled job queued again", extra={"queue_job": job.id, "job": job_id})
        return
    await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
    # One thread call: a worker told to stop while it runs cannot leave the job failed but
    # its upload (and a PDF password stored with it) in the spool.
    await asyncio.to_thread(_fail_stopped, rt, job_id)
    log.warning("stalled job failed", extra={"queue_job": job.id, "job": job_id})


def _fail_stopped(rt: Runtime, job_id: int) -> None:
    """Fail a stopped job for good: undo its half-written ingestion, record the outcome,
    remove its spooled upload."""
    row = jp.row(rt, job_id)
    if row is not None and row.spool_path:
        _undo_ingestion(rt, row)
    jp.finish(rt, job_id, outcome=JobState.FAILED, message=STOPPED_MESSAGE)
    if row is not None and row.spool_path:
        remove_spooled(rt, path=Path(row.spool_path))


def _undo_ingestion(rt: Runtime, row: Any) -> None:
    """A stopped ingestion that will not run again leaves nothing half-written behind."""
    path = Path(row.spool_path)
    if row.kind != JobKind.INGEST or not path.is_file():
        return
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    library.undo_interrupted_ingestion(rt, user_id=row.user_id, sha256=sha256)


async def _recovery_loop(app: App, rt: Runtime) -> None:
    while True:
        try:
            await recover_stalled(app, rt)
        except Exception:  # the database is restarting: try again next beat
            log.warning("could not look for stalled jobs", exc_info=True)
        await asyncio.sleep(rt.settings.jobs.heartbeat_s)


def live_workers(rt: Runtime) -> int:
    """How many workers (in any process) said they live within `jobs_stalled_after_s`."""
    with rt.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM procrastinate.procrastinate_workers "
                    "WHERE last_heartbeat > now() - make_interval(secs => :s)"
                ),
                {"s": rt.settings.jobs.stalled_after_s},
            ).scalar()
            or 0
        )


async def _run_once(
    rt: Runtime, *, concurrency: int | None, name: str, queues: list[str] | None = None
) -> None:
    s = rt.settings
    app = worker_app(rt.engine, s)
    register_tasks(app, rt)
    async with app.open_async():
        recovery = asyncio.create_task(_recovery_loop(app, rt))
        try:
            # Stopping on request is always a cancellation of this task (signal handlers in
            # `engine.bootstrap.run_worker`, `EmbeddedWorker.stop` otherwise), so a normal return means the
            # worker stopped itself, e.g. its listener lost the database.
            await app.run_worker_async(
                concurrency=concurrency or s.jobs.worker_concurrency,
                name=name,
                # procrastinate's type leaves out None, which its Worker takes as every queue.
                queues=queues,  # type: ignore[arg-type]
                install_signal_handlers=False,
                # A finished job's record is its progress row; the queue keeps no history.
                delete_jobs="successful",
                update_heartbeat_interval=s.jobs.heartbeat_s,
                stalled_worker_timeout=s.jobs.stalled_after_s,
                shutdown_graceful_timeout=30.0,
            )
        finally:
            recovery.cancel()
            await asyncio.gather(recovery, return_exceptions=True)


async def run_worker_async(
    rt: Runtime,
    *,
    concurrency: int | None = None,
    name: str = "worker",
    queues: list[str] | None = None,
) -> None:
    """Run jobs (of `queues`, default all) until this task is cancelled.

    When the database goes away (a restart, a failover) the worker starts again once it is
    back; jobs it was running are recovered as stalled jobs by whichever worker sees them.
    """
    delay = 1.0
    while True:
        try:
            await _run_once(rt, concurrency=concurrency, name=name, queues=queues)
            log.warning("worker stopped by itself; starting again in %.0f s", delay)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("worker lost the database; starting again in %.0f s", delay, exc_info=True)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 15.0)


class EmbeddedWorker:
    """One worker on a daemon thread of this process (the app's default), started by
    `engine.bootstrap.ensure_worker()` and stopped by `Runtime.close()`."""

    def __init__(
        self, rt: Runtime, *, concurrency: int = 1, queues: list[str] | None = None
    ) -> None:
        self._rt, self._concurrency, self._queues = rt, concurrency, queues
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="gw-worker", daemon=True)

    def start(self) -> EmbeddedWorker:
        self._thread.start()
        self._ready.wait(10)
        return self

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            self._ready.set()
            await run_worker_async(
                self._rt, concurrency=self._concurrency, name="embedded", queues=self._queues
            )

        try:
            asyncio.run(main())
        except asyncio.CancelledError:
            pass  # stopped
        except Exception:
            log.exception("the embedded worker stopped")
        finally:
            self._ready.set()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> None:
        if self._loop is not None and self._task is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout)
