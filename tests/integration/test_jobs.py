"""Background jobs on PostgreSQL: ownership, locks, queueing locks, retries, cancel, spool."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from engine import jobs
from engine.db.models import Chunk, JobProgress, Material
from engine.errors import NotFound
from tests.support.jobs import running_worker, wait_for
from tests.support.library_pdfs import encrypted_pdf, text_pdf

TEXT = ("Glaciers form where snowfall exceeds melting for many years. The snow compacts into "
        "firn and then into dense glacial ice, which flows downhill under its own weight.")


def _submit(rt, uid, data=None, name="glaciers.pdf", password=None):
    return jobs.submit_ingestion(rt, user_id=uid, source=io.BytesIO(data or text_pdf([TEXT])),
                                 filename=name, password=password)


def _spooled(rt):
    folder = rt.settings.spool_path
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
    assert done.result["chunks"] >= 1 and done.result["duplicate"] is False
    assert done.message.startswith("Added: 1 page")
    assert _spooled(runtime) == []  # removed when the job ended
    with runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Material)
                        .where(Material.user_id == uid)) == 1
