"""Helpers for tests of background jobs: run a worker in this process, wait for outcomes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from engine.jobs import get_job
from engine.jobs.progress import JobView
from engine.jobs.worker import EmbeddedWorker
from engine.runtime import Runtime


@contextmanager
def running_worker(rt: Runtime, concurrency: int = 1) -> Iterator[EmbeddedWorker]:
    worker = EmbeddedWorker(rt, concurrency=concurrency).start()
    try:
        yield worker
    finally:
        worker.stop()


def wait_for(
    rt: Runtime, job_id: int, *, user_id: int, timeout_s: float = 120.0, until: str = "finished"
) -> JobView:
    """Poll the progress row until the job has finished (or reached `until`)."""
    deadline = time.monotonic() + timeout_s
    while True:
        job = get_job(rt, job_id, user_id=user_id)
        if job.finished if until == "finished" else job.outcome == until:
            return job
        assert time.monotonic() < deadline, f"job {job_id} stuck at {job}"
        time.sleep(0.05)
