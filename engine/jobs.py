"""Background jobs for slow work (PDF ingestion), so the page that started one stays usable.

One small worker pool per runtime. A job belongs to one learner: reading another learner's
job is reported as not found. Pages poll `get_job()` for a snapshot (state and the latest
progress) and `forget_job()` it once they have shown the outcome. Finished jobs nobody came
back for are dropped after an hour.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from engine.errors import EngineError, NotFound
from engine.runtime import Runtime

log = logging.getLogger(__name__)

_RUNNER_KEY = "job_runner"
_runner_lock = threading.Lock()
_KEEP_FINISHED_S = 3600.0


@dataclass(frozen=True)
class JobSnapshot:
    id: str
    user_id: int
    name: str
    state: str  # 'queued', 'running', 'done' or 'failed'
    progress: Any = None  # the latest value passed to the job's progress callback
    result: Any = None  # set when state == 'done'
    error: EngineError | None = None  # set when state == 'failed'
    finished_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")


class JobRunner:
    """Runs jobs on a few threads and keeps a snapshot of each."""

    def __init__(self, max_workers: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="gw-job")
        self._jobs: dict[str, JobSnapshot] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def submit(
        self, *, user_id: int, name: str, fn: Callable[[Callable[[Any], None]], Any]
    ) -> str:
        """Queue `fn(progress)`; returns the job id at once."""
        job_id = f"job-{next(self._ids)}"
        with self._lock:
            self._prune(time.monotonic())
            self._jobs[job_id] = JobSnapshot(job_id, user_id, name, "queued")
        self._pool.submit(self._run, job_id, fn)
        return job_id

    def get(self, job_id: str, *, user_id: int) -> JobSnapshot:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.user_id != user_id:
            raise NotFound("That upload is no longer being tracked. Check your library.")
        return job

    def forget(self, job_id: str, *, user_id: int) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.user_id == user_id and job.finished:
                del self._jobs[job_id]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            self._jobs[job_id] = replace(self._jobs[job_id], **changes)

    def _run(self, job_id: str, fn: Callable[[Callable[[Any], None]], Any]) -> None:
        self._update(job_id, state="running")
        try:
            result = fn(lambda p: self._update(job_id, progress=p))
        except EngineError as e:
            self._update(job_id, state="failed", error=e, finished_at=time.monotonic())
        except Exception as e:  # a bug must not kill the worker; the learner gets a message
            log.exception("background job failed", extra={"job": job_id})
            self._update(
                job_id,
                state="failed",
                error=EngineError(
                    "Something went wrong while processing this file; nothing was saved. "
                    "Please try again.",
                    detail=repr(e),
                ),
                finished_at=time.monotonic(),
            )
        else:
            self._update(job_id, state="done", result=result, finished_at=time.monotonic())

    def _prune(self, now: float) -> None:
        stale = [
            jid for jid, job in self._jobs.items()
            if job.finished_at is not None and now - job.finished_at > _KEEP_FINISHED_S
        ]
        for jid in stale:
            del self._jobs[jid]


def job_runner(rt: Runtime) -> JobRunner:
    """The runtime's job runner, created on first use. One worker: ingestion already uses
    every core for embedding, and queued files keep their order."""
    with _runner_lock:
        runner = rt.extras.get(_RUNNER_KEY)
        if runner is None:
            runner = JobRunner(max_workers=1)
            rt.extras[_RUNNER_KEY] = runner
        return runner  # type: ignore[return-value]


def submit_ingestion(
    rt: Runtime, *, user_id: int, data: bytes, filename: str, password: str | None = None
) -> str:
    """Ingest a PDF in the background; poll `get_job` for progress and the IngestResult."""
    from engine import library

    def _work(progress: Callable[[Any], None]) -> Any:
        return library.ingest_pdf(rt, user_id=user_id, data=data, filename=filename,
                                  password=password, progress=progress)

    return job_runner(rt).submit(user_id=user_id, name=filename, fn=_work)


def get_job(rt: Runtime, job_id: str, *, user_id: int) -> JobSnapshot:
    """Raises NotFound for unknown jobs and other learners' jobs."""
    return job_runner(rt).get(job_id, user_id=user_id)


def forget_job(rt: Runtime, job_id: str, *, user_id: int) -> None:
    job_runner(rt).forget(job_id, user_id=user_id)
