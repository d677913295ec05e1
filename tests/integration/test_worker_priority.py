"""A job worker process runs at a lower CPU priority than the app, so background ingestion and
generation yield the CPU to learners' requests on a shared machine."""

from __future__ import annotations

import os
import time

import pytest

from engine.bootstrap import WORKER_NICENESS
from tests.support.processes import process_env, start_worker, stop

# Starts a `python -m engine worker` process.
pytestmark = pytest.mark.slow


def test_a_worker_process_lowers_its_own_cpu_priority(runtime, tmp_path):
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    worker = start_worker(process_env(runtime.settings), tmp_path / "worker.log")
    try:
        deadline = time.monotonic() + 60
        while os.getpriority(os.PRIO_PROCESS, worker.pid) == mine:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker kept the app's priority"
            time.sleep(0.1)
        assert os.getpriority(os.PRIO_PROCESS, worker.pid) == min(19, mine + WORKER_NICENESS)
    finally:
        stop(worker)
