"""Background jobs on PostgreSQL: ownership, locks, queueing locks, retries, cancel, spool."""

from __future__ import annotations

import io
import threading
import time

import pytest
from sqlalchemy import func, select

from engine import jobs
from engine.db.models import Chunk, JobProgress, Material
from engine.errors import InvalidInput, NotFound
from tests.support.jobs import running_worker, wait_for
from tests.support.library_pdfs import blank_pages_pdf, encrypted_pdf, text_pdf

PASSWORD = "correct horse battery staple"  # make_user's
TEXT = (
    "Glaciers form where snowfall exceeds melting for many years. The snow compacts into "
    "firn and then into dense glacial ice, which flows downhill under its own weight."
)


def _submit(rt, uid, data=None, name="glaciers.pdf", password=None):
    return jobs.submit_ingestion(
        rt,
        user_id=uid,
        source=io.BytesIO(data or text_pdf([TEXT])),
        filename=name,
        password=password,
    )


def _spooled(rt):
    folder = rt.settings.storage.spool_path
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_ingestion_runs_in_a_worker_with_progress_and_outcome(runtime, make_user):
    uid = make_user()
    job_id = _submit(runtime, uid)
    queued = jobs.get_job(runtime, job_id, user_id=uid)
    assert queued.outcome == "queued" and queued.label == "glaciers.pdf"
    assert len(_spooled(runtime)) == 1  # waiting on disk, not in memory
    with running_worker(runtime):
        done = wait_for(runtime, job_id, user_id=uid)
    assert done.outcome == "done", done.message
    assert done.result.chunks >= 1 and done.result.duplicate is False
    assert done.message.startswith("Added: 1 page")
    assert _spooled(runtime) == []  # removed when the job ended
    with runtime.session_factory() as s:
        assert (
            s.scalar(select(func.count()).select_from(Material).where(Material.user_id == uid)) == 1
        )


def _set(rt, **changes):
    rt.settings = rt.settings.replace(**changes)


def _materials(rt, uid):
    with rt.session_factory() as s:
        return (
            s.scalar(select(func.count()).select_from(Material).where(Material.user_id == uid)),
            s.scalar(select(func.count()).select_from(Chunk).where(Chunk.user_id == uid)),
        )


@pytest.fixture
def held(monkeypatch):
    """Ingestion of files named 'hold-*' waits until the test releases it."""
    from engine import library

    release, started = threading.Event(), threading.Event()
    real = library.ingest_pdf

    def ingest(rt, **kwargs):
        if kwargs["filename"].startswith("hold-"):
            started.set()
            assert release.wait(60), "never released"
        return real(rt, **kwargs)

    monkeypatch.setattr(library, "ingest_pdf", ingest)
    yield release, started
    release.set()


def test_jobs_belong_to_their_learner(runtime, make_user):
    a, b = make_user(), make_user()
    job_id = _submit(runtime, a)
    with pytest.raises(NotFound):
        jobs.get_job(runtime, job_id, user_id=b)
    with pytest.raises(NotFound):
        jobs.cancel_job(runtime, job_id, user_id=b)
    with pytest.raises(NotFound):
        jobs.dismiss_job(runtime, job_id, user_id=b)
    assert jobs.recent_jobs(runtime, user_id=b) == []
    assert [j.id for j in jobs.recent_jobs(runtime, user_id=a)] == [job_id]
    assert jobs.get_job(runtime, job_id, user_id=a).outcome == "queued"  # untouched by b


def test_the_same_file_cannot_wait_twice(runtime, make_user):
    uid = make_user()
    data = text_pdf([TEXT])
    _submit(runtime, uid, data)
    with pytest.raises(jobs.AlreadyQueued, match="already waiting to be read"):
        _submit(runtime, uid, data, name="copy.pdf")
    assert len(_spooled(runtime)) == 1
    assert len(jobs.recent_jobs(runtime, user_id=uid)) == 1
    other = make_user()  # another learner's identical file is their own upload
    _submit(runtime, other, data)


def test_pending_uploads_are_capped_per_learner(runtime, make_user):
    _set(runtime, upload_max_pending=2)
    uid, other = make_user(), make_user()
    _submit(runtime, uid, text_pdf(["one " + TEXT]))
    _submit(runtime, uid, text_pdf(["two " + TEXT]))
    with pytest.raises(jobs.TooManyPendingUploads, match="already have 2 uploads waiting"):
        _submit(runtime, uid, text_pdf(["three " + TEXT]))
    assert len(_spooled(runtime)) == 2  # the refused file was not kept
    _submit(runtime, other, text_pdf(["three " + TEXT]))  # others are not affected


def test_cancel_a_waiting_job(runtime, make_user):
    uid = make_user()
    job_id = _submit(runtime, uid)
    view = jobs.cancel_job(runtime, job_id, user_id=uid)
    assert view.outcome == "cancelled" and _spooled(runtime) == []
    with running_worker(runtime):
        later = _submit(runtime, uid, text_pdf(["later " + TEXT]), name="later.pdf")
        wait_for(runtime, later, user_id=uid)
    assert jobs.get_job(runtime, job_id, user_id=uid).outcome == "cancelled"
    assert _materials(runtime, uid)[0] == 1  # only the later file
    with pytest.raises(InvalidInput, match="already finished"):
        jobs.cancel_job(runtime, job_id, user_id=uid)


def test_cancel_a_running_job_stops_it_and_keeps_nothing(runtime, make_user, monkeypatch):
    from engine import library

    uid = make_user()
    cancelled = threading.Event()
    real = library.ingest_pdf

    def slow(rt, **kwargs):
        user_progress = kwargs["progress"]

        def progress(p):
            user_progress(p)
            if p.stage != "reading":
                assert cancelled.wait(30)
                time.sleep(0.5)
                user_progress(p)  # the next report notices the request

        kwargs["progress"] = progress
        return real(rt, **kwargs)

    monkeypatch.setattr(library, "ingest_pdf", slow)
    with running_worker(runtime):
        job_id = _submit(runtime, uid)
        wait_for(runtime, job_id, user_id=uid, until="running")
        jobs.cancel_job(runtime, job_id, user_id=uid)
        cancelled.set()
        done = wait_for(runtime, job_id, user_id=uid)
    assert done.outcome == "cancelled"
    assert _materials(runtime, uid) == (0, 0) and _spooled(runtime) == []


def test_one_upload_lane_runs_a_learner_in_order_while_others_proceed(runtime, make_user, held):
    """With one upload at a time per learner (GROUNDWORK_JOBS_UPLOADS_PER_LEARNER=1), a
    learner's uploads run in order, and another learner's upload is not held up by them."""
    release, started = held
    a, b = make_user(), make_user()
    s = runtime.settings
    one_lane = runtime.with_settings(
        s.model_copy(update={"jobs": s.jobs.model_copy(update={"uploads_per_learner": 1})})
    )
    with running_worker(runtime, concurrency=2):
        first = _submit(one_lane, a, text_pdf(["first " + TEXT]), name="hold-first.pdf")
        assert started.wait(60)
        second = _submit(one_lane, a, text_pdf(["second " + TEXT]), name="second.pdf")
        other = _submit(one_lane, b, text_pdf(["other " + TEXT]), name="other.pdf")
        assert wait_for(runtime, other, user_id=b).outcome == "done"  # b is not held up
        assert jobs.get_job(runtime, second, user_id=a).outcome == "queued"  # a waits its turn
        release.set()
        assert wait_for(runtime, first, user_id=a).outcome == "done"
        assert wait_for(runtime, second, user_id=a).outcome == "done"
    j1, j2 = (jobs.get_job(runtime, j, user_id=a) for j in (first, second))
    assert j1.finished_at <= j2.finished_at


def test_unexpected_failures_are_retried_with_backoff(runtime, make_user, monkeypatch):
    from engine import library

    _set(runtime, jobs_retry_wait_s=1)
    uid = make_user()
    real, calls = library.ingest_pdf, []

    def flaky(rt, **kwargs):
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise ConnectionError("lost the connection")
        return real(rt, **kwargs)

    monkeypatch.setattr(library, "ingest_pdf", flaky)
    with running_worker(runtime):
        job_id = _submit(runtime, uid)
        done = wait_for(runtime, job_id, user_id=uid)
    assert done.outcome == "done" and done.attempts == 2 and len(calls) == 2
    assert _materials(runtime, uid)[0] == 1


def test_a_refused_file_fails_with_its_reason_and_is_not_retried(runtime, make_user):
    uid = make_user()
    with running_worker(runtime):
        job_id = _submit(runtime, uid, blank_pages_pdf(2), name="scan.pdf")
        done = wait_for(runtime, job_id, user_id=uid)
    assert done.outcome == "failed" and "no text that can be read" in done.message
    assert done.attempts == 1 and _spooled(runtime) == []


def test_encrypted_pdf_password_waits_on_disk_not_in_the_queue(runtime, make_user):
    uid = make_user()
    job_id = _submit(runtime, uid, encrypted_pdf(TEXT, "moon-42"), password="moon-42")
    with runtime.engine.connect() as conn:
        args = conn.exec_driver_sql("SELECT args::text FROM procrastinate.procrastinate_jobs")
        assert "moon-42" not in " ".join(r[0] for r in args)
    with running_worker(runtime):
        done = wait_for(runtime, job_id, user_id=uid)
    assert done.outcome == "done", done.message
    assert _spooled(runtime) == []


def test_dismissed_jobs_leave_the_list(runtime, make_user):
    uid = make_user()
    job_id = _submit(runtime, uid)
    with pytest.raises(InvalidInput, match="still running"):
        jobs.dismiss_job(runtime, job_id, user_id=uid)
    with running_worker(runtime):
        wait_for(runtime, job_id, user_id=uid)
    jobs.dismiss_job(runtime, job_id, user_id=uid)
    assert jobs.recent_jobs(runtime, user_id=uid) == []
    with runtime.session_factory() as s:  # the outcome itself is kept
        assert s.get(JobProgress, job_id).outcome == "done"


def test_generation_fitting_and_reindex_run_as_jobs(runtime, make_user):
    from tests.support.generation_data import BIOLOGY, add_material

    uid = make_user()
    add_material(runtime.session_factory, uid, "Biology notes", BIOLOGY)
    with running_worker(runtime):
        gen = jobs.submit_generation(
            runtime,
            user_id=uid,
            material_ids=None,
            topic=None,
            question_type="mix",
            difficulty=3,
            count=3,
        )
        fit = jobs.submit_fsrs_fit(runtime, user_id=uid)
        reindex = jobs.submit_reindex(runtime, user_id=uid)
        g, f, r = (wait_for(runtime, j, user_id=uid) for j in (gen, fit, reindex))
    assert g.outcome == "done" and len(g.result.drafts) == 3
    assert g.result.generator == "offline" and g.attempts == 1
    assert f.outcome == "failed" and "need at least" in f.message  # not enough answers yet
    assert f.attempts == 1  # a learner's own limit is not retried
    assert r.outcome == "done" and r.result.chunks >= 1
    with pytest.raises(InvalidInput):
        jobs.submit_generation(
            runtime,
            user_id=uid,
            material_ids=None,
            topic=None,
            question_type="mix",
            difficulty=3,
            count=999,
        )


def test_export_and_account_deletion_run_as_jobs(runtime, make_user):
    import zipfile

    from engine.db.models import User

    uid, other = make_user(), make_user()
    with runtime.session_factory() as s:
        email = s.get(User, uid).email
    with running_worker(runtime):
        _submit(runtime, uid)
        export = jobs.submit_export(runtime, user_id=uid)
        done = wait_for(runtime, export, user_id=uid)
        assert done.outcome == "done", done.message
        path = jobs.export_path(runtime, export, user_id=uid)
        with zipfile.ZipFile(path) as zf:
            assert "materials.csv" in zf.namelist()
        with pytest.raises(NotFound):
            jobs.export_path(runtime, export, user_id=other)  # not someone else's
        with pytest.raises(InvalidInput):  # a mistyped confirmation queues nothing
            jobs.submit_account_deletion(
                runtime, user_id=uid, confirm_email="x@example.com", password=PASSWORD
            )
        assert [
            j.kind for j in jobs.recent_jobs(runtime, user_id=uid) if j.kind == "delete_account"
        ] == []
        deletion = jobs.submit_account_deletion(
            runtime, user_id=uid, confirm_email=email, password=PASSWORD
        )
        deadline = time.monotonic() + 120
        while True:  # the progress row goes with the account
            with runtime.session_factory() as s:
                if s.get(User, uid) is None:
                    assert s.get(JobProgress, deletion) is None
                    break
            assert time.monotonic() < deadline, "account not deleted"
            time.sleep(0.1)
    assert _materials(runtime, uid) == (0, 0)


def test_the_nightly_check_is_a_cron_job_that_repairs_drift(runtime, make_user):
    from sqlalchemy import delete

    from engine import library
    from engine.jobs.tasks import nightly_check, register_tasks
    from engine.queueing import worker_app

    app = worker_app(runtime.engine, runtime.settings)
    register_tasks(app, runtime)
    (periodic,) = [
        p for p in app.periodic_registry.periodic_tasks.values() if p.task.name == "check"
    ]
    assert periodic.cron == runtime.settings.jobs.check_cron
    uid = make_user()
    with running_worker(runtime):
        wait_for(runtime, _submit(runtime, uid), user_id=uid)
    with runtime.session_factory.begin() as s:  # a row lost, its vector left behind
        first = s.scalar(select(func.min(Chunk.id)).where(Chunk.user_id == uid))
        s.execute(delete(Chunk).where(Chunk.id == first))
    found, left = nightly_check(runtime)
    assert found >= 1 and left == 0
    assert library.vector_count(runtime, user_id=uid) == _materials(runtime, uid)[1]


def test_jobs_finished_before_typed_results_still_show_their_outcome(runtime, make_user):
    """Rows written by the version that stored results as dicts (the error as the exception's
    class name) read back as the typed results the pages use."""
    from engine.jobs import progress as jp
    from engine.jobs.results import IngestResult, JobErrorKind, JobFailure

    uid = make_user()
    old = {
        "material_id": 3,
        "title": "Glaciers",
        "duplicate": False,
        "pages": 2,
        "chunks": 4,
        "note": None,
        "ocr_pages": 0,
    }
    with runtime.session_factory.begin() as s:
        added = jp.create(s, user_id=uid, kind="ingest", label="glaciers.pdf")
        locked = jp.create(s, user_id=uid, kind="ingest", label="locked.pdf")
        limited = jp.create(s, user_id=uid, kind="generate", label="5 question(s)")
        for job_id, outcome, result in [
            (added, "done", old),
            (locked, "failed", {"error": "PdfEncrypted"}),
            (limited, "failed", {"error": "ProviderRateLimited"}),
        ]:
            row = s.get(JobProgress, job_id)
            row.outcome, row.result, row.finished_at = outcome, result, func.now()
    done = jobs.get_job(runtime, added, user_id=uid)
    assert done.result == IngestResult(3, "Glaciers", False, 2, 4, None, 0)
    assert done.error is None
    assert jobs.get_job(runtime, locked, user_id=uid).error is JobErrorKind.PDF_ENCRYPTED
    assert jobs.get_job(runtime, limited, user_id=uid).result == JobFailure(
        JobErrorKind.RATE_LIMITED
    )
