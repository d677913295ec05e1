"""A job worker process runs at a lower CPU priority than the app, so background ingestion and
generation yield the CPU to learners' requests on a shared machine."""

from __future__ import annotations

import os
import time

import pytest

from tests.support.processes import process_env, start_worker, stop

# Starts a `python -m engine worker` process.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("niceness", [10, 4])
def test_a_worker_process_lowers_its_own_cpu_priority(runtime, tmp_path, niceness):
    """By 10 by default (other tests' workers run at the test's priority: `process_env`), or
    as GROUNDWORK_JOBS_WORKER_NICENESS says."""
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    # No model warm-up: at +10 on a busy machine it holds the worker's exit for half a minute.
    env = process_env(runtime.settings, GROUNDWORK_EMBEDDING_WARM_UP="false")
    if niceness == 10:
        env.pop("GROUNDWORK_JOBS_WORKER_NICENESS")  # the default
    else:
        env["GROUNDWORK_JOBS_WORKER_NICENESS"] = str(niceness)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        deadline = time.monotonic() + 60
        while os.getpriority(os.PRIO_PROCESS, worker.pid) == mine:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker kept the app's priority"
            time.sleep(0.1)
        assert os.getpriority(os.PRIO_PROCESS, worker.pid) == min(19, mine + niceness)
    finally:
        stop(worker)
