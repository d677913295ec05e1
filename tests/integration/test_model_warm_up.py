"""The embedding model is prepared when the app or a worker starts, in the background; an upload
that arrives before it is ready says so in its progress instead of sitting silently."""

from __future__ import annotations

import io
import threading
import time

from engine.bootstrap import warm_up
from engine.jobs import get_job, submit_ingestion
from engine.jobs.tasks import PREPARING_MODEL
from engine.retrieval import stores
from tests.support.jobs import running_worker, wait_for
from tests.support.library_pdfs import text_pdf

TEXT = (
    "Glaciers form where snowfall exceeds melting for many years. The snow compacts into "
    "firn and then into dense glacial ice, which flows downhill under its own weight."
)


def _slow_model(monkeypatch) -> threading.Event:
    """Loading the model waits until the returned event is set (a first start's build)."""
    release = threading.Event()
    real = stores.load_embedder

    def load(settings):
        assert release.wait(120), "the model was never released"
        return real(settings)

    monkeypatch.setattr(stores, "load_embedder", load)
    return release


def test_starting_prepares_the_model_in_the_background(runtime, monkeypatch):
    release = _slow_model(monkeypatch)
    assert not runtime.embedder_ready
    warm_up(runtime)  # returns at once
    assert not runtime.wait_for_embedder(0.2)
    assert runtime.vectors is not None  # the rest of retrieval does not wait for the model
    release.set()
    assert runtime.wait_for_embedder(120)
    assert runtime.embedder_ready


def test_an_upload_before_the_model_is_ready_says_it_is_being_prepared(
    runtime, make_user, monkeypatch
):
    uid = make_user()
    release = _slow_model(monkeypatch)
    warm_up(runtime)
    job_id = submit_ingestion(
        runtime, user_id=uid, source=io.BytesIO(text_pdf([TEXT])), filename="glaciers.pdf"
    )
    with running_worker(runtime):
        deadline = time.monotonic() + 60
        while not (job := get_job(runtime, job_id, user_id=uid)).message.startswith(
            PREPARING_MODEL
        ):
            assert time.monotonic() < deadline, job
            time.sleep(0.05)
        assert job.outcome == "running" and not runtime.embedder_ready
        release.set()
        done = wait_for(runtime, job_id, user_id=uid)
    assert done.outcome == "done", done.message
    assert done.result.chunks >= 1
