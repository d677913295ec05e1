"""Faults with real processes: a worker killed mid-ingest, PostgreSQL restarted under load, the
app process restarted while its jobs run, and two app processes sharing one queue."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import jobs, library
from engine.config import get_settings
from engine.db.models import Attempt, Chunk, Material
from engine.db.session import DB_DOWN
from engine.errors import DatabaseUnavailable
from engine.jobs.worker import STOPPED_MESSAGE
from tests.support.jobs import running_worker, wait_for
from tests.support.library_pdfs import text_pdf
from tests.support.processes import (
    ROOT,
    ChromaServer,
    RestartablePostgres,
    process_env,
    start_worker,
    stop,
)

# Each test starts, kills and restarts processes (workers, PostgreSQL, the app).
pytestmark = pytest.mark.slow

SENTENCE = (
    "Glaciers form where snowfall exceeds melting for many years; the snow compacts "
    "into firn and then into dense ice that flows downhill under its own weight. "
)


def glacier_pdf(pages: int = 6) -> bytes:
    """A few pages of text: a step pauses the worker where it is killed, so size adds only
    embedding time."""
    return text_pdf([f"Page {i}. " + SENTENCE * 12 for i in range(pages)])


@pytest.fixture
def chroma(tmp_path):
    server = ChromaServer(tmp_path / "chroma")
    yield server
    server.stop()


@pytest.fixture
def settings(db_url, tmp_path, monkeypatch, chroma, shared_model_cache):
    """This test's database and data folder, vectors in the Chroma server, the run's built
    embedding model."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("GROUNDWORK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GROUNDWORK_MODEL_CACHE_DIR", str(shared_model_cache))
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(chroma.port))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def _state(rt, uid):
    with rt.session_factory() as s:
        materials = s.scalar(
            select(func.count()).select_from(Material).where(Material.user_id == uid)
        )
        chunks = s.scalar(select(func.count()).select_from(Chunk).where(Chunk.user_id == uid))
    return materials, chunks, library.vector_count(rt, user_id=uid)


def _wait_stage(rt, job_id, uid, stage, timeout_s=180.0):
    deadline = time.monotonic() + timeout_s
    while True:
        job = jobs.get_job(rt, job_id, user_id=uid)
        if job.stage == stage and job.done > 0:
            return job
        assert not job.finished, job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def _wait_paused(marker: Path, step: str, worker, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not (marker.is_file() and step in marker.read_text(encoding="utf-8")):
        assert worker.poll() is None, "the worker ended before reaching " + step
        assert time.monotonic() < deadline, "the worker never reached " + step
        time.sleep(0.05)


@pytest.mark.parametrize("step", ["ingest:original-saved", "ingest:rows-committed"])
@pytest.mark.parametrize("retries", [3, 0])
def test_a_worker_killed_mid_ingest_is_recovered_by_the_next(
    runtime, make_user, tmp_path, retries, step
):
    """Killed before its rows (nothing in the stores yet) or between its rows and its vectors
    (half-written): the next worker retries from scratch or fails the job, and in both cases
    nothing half-written remains."""
    uid = make_user()
    job_id = jobs.submit_ingestion(
        runtime, user_id=uid, source=io.BytesIO(glacier_pdf()), filename="glaciers.pdf"
    )
    env = process_env(runtime.settings)
    marker = tmp_path / "paused"
    first = start_worker(
        {**env, "GROUNDWORK_PAUSE_AT": step, "GROUNDWORK_PAUSE_FILE": str(marker)},
        tmp_path / "worker1.log",
    )
    try:
        _wait_paused(marker, step, first)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert jobs.get_job(runtime, job_id, user_id=uid).outcome == "running"
        materials, chunks, vectors = _state(runtime, uid)
        if step == "ingest:original-saved":
            assert (materials, chunks, vectors) == (0, 0, 0)
        else:  # rows committed as 'indexing', no vectors yet: half-written until recovered
            assert materials == 1 and chunks > 0 and vectors == 0
        second = start_worker(
            {**env, "GROUNDWORK_JOBS_MAX_RETRIES": str(retries)}, tmp_path / "worker2.log"
        )
        try:
            done = wait_for(runtime, job_id, user_id=uid, timeout_s=240)
            # the worker removes the spooled upload right after recording the outcome
            spool = runtime.settings.storage.spool_path
            deadline = time.monotonic() + 60
            while any(spool.iterdir()) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop(second)
    finally:
        stop(first)
    if retries:
        assert done.outcome == "done", done.message
        assert done.attempts == 2
        materials, chunks, vectors = _state(runtime, uid)
        assert materials == 1 and chunks == vectors == done.result.chunks > 0
    else:
        assert done.outcome == "failed" and done.message == STOPPED_MESSAGE
        assert _state(runtime, uid) == (0, 0, 0)
    # "nothing was saved": not even the original saved before the rows
    stored = list((runtime.settings.storage.data_dir / "originals").rglob("*.pdf"))
    assert len(stored) == (1 if retries else 0)
    assert not any(runtime.settings.storage.spool_path.iterdir())


# --- PostgreSQL restarted under load --------------------------------------------------------


@pytest.fixture
def own_postgres(tmp_path, monkeypatch):
    from engine.db.migrate import upgrade_head

    # Outside pytest's basetemp, as for the session's server: the postgres user must reach it.
    pg = RestartablePostgres(Path(tempfile.mkdtemp(prefix="groundwork-test-pgr-")) / "pg")
    url = pg.url()
    upgrade_head(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("GROUNDWORK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CHROMA_HOST", raising=False)
    get_settings.cache_clear()
    yield pg
    get_settings.cache_clear()
    pg.close()


def _wait_until(condition, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_postgres_restart_fails_requests_clearly_then_recovers_without_losing_attempts(
    own_postgres,
):
    from engine import accounts
    from engine.bootstrap import create_runtime
    from engine.practice.submit import submit_answer
    from tests.support.practice import add_question, token

    # Questions stay in play however they score (quality retirement is not under test).
    rt = create_runtime(get_settings().replace(quality_min_attempts=10**6), migrate=False)
    learners = [
        accounts.register_user(
            rt,
            email=f"load{n}@example.com",
            password="correct horse battery staple",
            display_name="Load",
        ).user_id
        for n in range(6)
    ]
    banks = {u: [add_question(rt.session_factory, u) for _ in range(20)] for u in learners}
    uid = learners[0]
    recorded: list[int] = []
    failures: list[BaseException] = []
    stop_at = time.monotonic() + 12
    give_up = stop_at + 90  # the database is back long before this
    lock = threading.Lock()

    def learner(me: int) -> None:  # one thread per learner, as one browser tab each
        i = 0
        while time.monotonic() < stop_at:
            tok = token()  # one answer: resubmitted with the same token until it is recorded
            while time.monotonic() < give_up:
                try:
                    r = submit_answer(
                        rt,
                        user_id=me,
                        question_id=banks[me][i % 20],
                        token=tok,
                        response=1,
                        confidence=3,
                        seconds=5,
                        expected_reviews=None,
                    )
                except Exception as e:  # noqa: BLE001 - every failure is counted and checked
                    with lock:
                        failures.append(e)
                    if not isinstance(e, DatabaseUnavailable):
                        break
                    time.sleep(0.2)
                    continue
                with lock:
                    recorded.append(r.attempt_id)
                break
            i += 1

    threads = [threading.Thread(target=learner, args=(u,), daemon=True) for u in learners]
    with running_worker(rt):
        for t in threads:
            t.start()
        _wait_until(lambda: len(recorded) >= len(learners), "no answer recorded before the outage")
        own_postgres.stop()
        with pytest.raises(DatabaseUnavailable):  # queueing during the outage: a clear refusal
            jobs.submit_fsrs_fit(rt, user_id=uid)
        _wait_until(lambda: failures, "no learner noticed the outage")
        own_postgres.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads), "learners still failing"
        job_id = jobs.submit_ingestion(
            rt, user_id=uid, source=io.BytesIO(text_pdf([SENTENCE])), filename="after.pdf"
        )
        done = wait_for(rt, job_id, user_id=uid, timeout_s=120)
    assert done.outcome == "done", done.message  # the worker came back with the database
    assert failures, "the restart was not noticed"
    assert all(
        isinstance(e, DatabaseUnavailable) and e.user_message == DB_DOWN for e in failures
    ), {type(e).__name__ for e in failures}
    with rt.session_factory() as s:
        stored = s.scalars(select(Attempt.id)).all()
    assert len(recorded) == len(set(recorded)) == len(stored)  # none lost, none twice
    assert set(recorded) == set(stored)
    rt.close()


# --- the app process restarts; two app processes share the queue ---------------------------

APP_SCRIPT = """
import io, json, sys, time
from engine import jobs
from engine.accounts import get_account
from engine.bootstrap import get_runtime
from tests.support.library_pdfs import text_pdf
rt = get_runtime()
uid = get_account(rt, email=sys.argv[2]).user_id
if sys.argv[1] == "queue":
    pages = [f"Page {i}. " + "Snow compacts into firn and then into ice. " * 40 for i in range(40)]
    print(jobs.submit_ingestion(rt, user_id=uid, source=io.BytesIO(text_pdf(pages)),
                                filename="shared.pdf"), flush=True)
    time.sleep(600)  # a running app process, until it is killed
else:
    seen = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        job = jobs.get_job(rt, int(sys.argv[3]), user_id=uid)
        seen.append([job.outcome, job.stage, job.done, job.total])
        if len(seen) == 1:
            print("watching", flush=True)
        if job.finished:
            break
        time.sleep(0.1)
    print(json.dumps(seen), flush=True)
"""


def test_jobs_survive_the_app_process_and_show_in_another(runtime, make_user, tmp_path):
    import json

    from engine.db.models import User

    uid = make_user()
    with runtime.session_factory() as s:
        email = s.get(User, uid).email
    env = process_env(runtime.settings)
    script = tmp_path / "app_process.py"
    script.write_text(APP_SCRIPT)
    app_a = subprocess.Popen(
        [sys.executable, str(script), "queue", email],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    app_b = worker = None
    try:
        job_id = int(app_a.stdout.readline())
        # The other app watches from before the job starts (no worker runs yet), so on a busy
        # machine the job cannot finish while that app is still starting.
        app_b = subprocess.Popen(
            [sys.executable, str(script), "watch", email, str(job_id)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert app_b.stdout.readline().strip() == "watching"
        worker = start_worker(env, tmp_path / "worker.log")
        _wait_stage(runtime, job_id, uid, "reading")
        app_a.kill()  # the app that queued it goes away while the job runs
        app_a.wait(10)
        out, _ = app_b.communicate(timeout=300)
        assert app_b.returncode == 0
    finally:
        for proc in (worker, app_a, app_b):
            if proc is not None:
                stop(proc)
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen[-1][0] == "done"
    running = [s for s in seen if s[0] == "running"]
    assert running and any(s[2] > 0 for s in running)  # live progress seen by the other app
    assert jobs.get_job(runtime, job_id, user_id=uid).result.pages == 40
