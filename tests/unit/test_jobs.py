"""Background jobs: progress snapshots, outcomes, errors shown as messages, learner isolation."""

from __future__ import annotations

import threading
import time

import pytest

from engine.errors import EngineError, NotFound, PdfNoText
from engine.jobs import JobRunner


def _wait(runner: JobRunner, job_id: str, user_id: int = 1, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while True:
        job = runner.get(job_id, user_id=user_id)
        if job.finished:
            return job
        assert time.monotonic() < deadline, "job did not finish"
        time.sleep(0.01)


@pytest.fixture
def runner():
    r = JobRunner(max_workers=1)
    yield r
    r.shutdown()


def test_submit_returns_at_once_and_progress_is_visible_while_running(runner):
    release = threading.Event()
    reported = threading.Event()

    def work(progress):
        progress({"pages_read": 3})
        reported.set()
        release.wait(5)
        return "result"

    job_id = runner.submit(user_id=1, name="notes.pdf", fn=work)
    assert reported.wait(5)
    running = runner.get(job_id, user_id=1)
    assert running.state == "running" and running.progress == {"pages_read": 3}
    release.set()
    done = _wait(runner, job_id)
    assert done.state == "done" and done.result == "result" and done.name == "notes.pdf"


def test_jobs_queue_in_order_on_one_worker(runner):
    order: list[str] = []
    ids = [runner.submit(user_id=1, name=n, fn=lambda p, n=n: order.append(n)) for n in "abc"]
    for job_id in ids:
        _wait(runner, job_id)
    assert order == ["a", "b", "c"]


def test_an_engine_error_becomes_the_outcome(runner):
    def work(progress):
        raise PdfNoText("This PDF has no text that can be read.")

    job = _wait(runner, runner.submit(user_id=1, name="scan.pdf", fn=work))
    assert job.state == "failed"
    assert isinstance(job.error, PdfNoText)
    assert job.error.user_message == "This PDF has no text that can be read."


def test_a_bug_is_logged_and_reported_as_a_clear_message(runner, caplog):
    def work(progress):
        raise KeyError("boom")

    job = _wait(runner, runner.submit(user_id=1, name="x.pdf", fn=work))
    assert job.state == "failed" and type(job.error) is EngineError
    assert "nothing was saved" in job.error.user_message
    assert "background job failed" in caplog.text
    # the worker survives and runs the next job
    assert _wait(runner, runner.submit(user_id=1, name="y.pdf", fn=lambda p: 7)).result == 7


def test_another_learners_job_is_not_found(runner):
    job_id = runner.submit(user_id=1, name="private.pdf", fn=lambda p: "secret")
    _wait(runner, job_id)
    with pytest.raises(NotFound):
        runner.get(job_id, user_id=2)
    runner.forget(job_id, user_id=2)  # cannot forget someone else's job either
    assert runner.get(job_id, user_id=1).result == "secret"


def test_forget_drops_a_finished_job(runner):
    job_id = runner.submit(user_id=1, name="a.pdf", fn=lambda p: 1)
    _wait(runner, job_id)
    runner.forget(job_id, user_id=1)
    with pytest.raises(NotFound):
        runner.get(job_id, user_id=1)
