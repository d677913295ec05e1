"""The runtime and the composition root: a runtime with other settings shares the database and
the adapters, and the process's own worker is started once and stopped with the runtime."""

from __future__ import annotations

import time

from sqlalchemy import text

from engine.bootstrap import create_runtime, ensure_worker
from engine.jobs.worker import live_workers


def test_a_runtime_with_other_settings_shares_the_database_and_adapters(runtime):
    other = runtime.with_settings(runtime.settings.replace(retrieval_feedback_passages=0))
    assert other.settings.retrieval.feedback_passages == 0
    assert runtime.settings.retrieval.feedback_passages != 0  # the original keeps its own
    assert other.engine is runtime.engine and other.session_factory is runtime.session_factory
    assert other.vectors is runtime.vectors
    assert other.embedder is runtime.embedder
    assert other.lexical_indexes is runtime.lexical_indexes
    assert other.queue is runtime.queue
    assert other.term_cache is runtime.term_cache and other.query_cache is runtime.query_cache
    other.close()  # the copy's close leaves what it shares open
    with runtime.session_factory() as s:
        assert s.scalar(text("SELECT 1")) == 1
    assert runtime.vectors is other.vectors


def test_the_process_worker_starts_once_and_stops_with_the_runtime(settings):
    rt = create_runtime(settings.replace(embedded_worker=True), migrate=False)
    try:
        worker = ensure_worker(rt)
        assert worker is not None and worker.alive
        assert ensure_worker(rt) is worker and rt.worker is worker
        deadline = time.monotonic() + 120  # running: its heartbeat is in the queue's tables
        while live_workers(rt) == 0:
            assert worker.alive and time.monotonic() < deadline
            time.sleep(0.1)
        assert ensure_worker(rt) is worker
    finally:
        rt.close()
    assert not worker.alive and rt.worker is None


def test_no_worker_when_workers_run_elsewhere(settings):
    rt = create_runtime(settings.replace(embedded_worker=False), migrate=False)
    try:
        assert ensure_worker(rt) is None and rt.worker is None
    finally:
        rt.close()
