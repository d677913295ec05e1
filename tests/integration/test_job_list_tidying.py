"""The learner's job list tidies itself: finished jobs can all be dismissed at once (for good),
leave the Library's list a day after they finished, and an upload's job goes with its deleted
material. Waiting and running jobs always stay, and one learner never touches another's."""

from __future__ import annotations

import io

from sqlalchemy import text

from engine import jobs, library
from engine.domain.vocabulary import JobKind
from tests.support.jobs import running_worker, wait_for
from tests.support.library_pdfs import encrypted_pdf, text_pdf

TEXT = (
    "Glaciers form where snowfall exceeds melting for many years. The snow compacts into "
    "firn and then into dense glacial ice, which flows downhill under its own weight."
)


def _submit(rt, uid, name, data=None):
    data = data or text_pdf([f"{name}. {TEXT}"])
    return jobs.submit_ingestion(rt, user_id=uid, source=io.BytesIO(data), filename=name)


def _finish(rt, uid, *job_ids):
    with running_worker(rt):
        return [wait_for(rt, job_id, user_id=uid) for job_id in job_ids]


def _ids(rt, uid, **kwargs):
    return [j.id for j in jobs.recent_jobs(rt, user_id=uid, **kwargs)]


def test_dismiss_all_hides_every_finished_job_for_good_and_keeps_waiting_ones(runtime, make_user):
    a, b = make_user(), make_user()
    done = _submit(runtime, a, "glaciers.pdf")
    locked = _submit(runtime, a, "locked.pdf", encrypted_pdf(TEXT, "ice"))
    theirs = _submit(runtime, b, "theirs.pdf")
    _finish(runtime, a, done, locked)
    wait_for(runtime, theirs, user_id=b)
    waiting = _submit(runtime, a, "later.pdf")  # no worker now: it waits

    assert jobs.dismiss_finished_jobs(runtime, user_id=a) == 2
    assert _ids(runtime, a) == [waiting]
    assert _ids(runtime, b) == [theirs]  # another learner's outcome is untouched
    assert jobs.get_job(runtime, done, user_id=a).dismissed  # recorded, not just hidden
    assert jobs.dismiss_finished_jobs(runtime, user_id=a) == 0
    assert jobs.dismiss_finished_jobs(runtime, user_id=a, kinds=(JobKind.GENERATE,)) == 0
    assert _ids(runtime, a) == [waiting]


def test_dismiss_all_only_touches_the_kinds_asked_for(runtime, make_user):
    uid = make_user()
    upload = _submit(runtime, uid, "glaciers.pdf")
    export = jobs.submit_export(runtime, user_id=uid)
    _finish(runtime, uid, upload, export)
    ready = jobs.ready_export(runtime, export, user_id=uid)

    kinds = (JobKind.INGEST, JobKind.REINDEX, JobKind.GENERATE, JobKind.FIT_FSRS)
    assert jobs.dismiss_finished_jobs(runtime, user_id=uid, kinds=kinds) == 1
    assert _ids(runtime, uid) == [export]
    assert ready.path.is_file()  # the export is still offered on its own page


def test_finished_jobs_leave_the_list_a_day_after_they_finished(runtime, make_user):
    uid = make_user()
    old, fresh = _submit(runtime, uid, "old.pdf"), _submit(runtime, uid, "fresh.pdf")
    _finish(runtime, uid, old, fresh)
    waiting = _submit(runtime, uid, "waiting.pdf")
    with runtime.session_factory.begin() as s:
        s.execute(
            text("UPDATE job_progress SET finished_at = now() - interval '25 hours' WHERE id = :i"),
            {"i": old},
        )
        s.execute(  # waiting for a long time is no reason to hide a job
            text("UPDATE job_progress SET created_at = now() - interval '3 days' WHERE id = :i"),
            {"i": waiting},
        )
    shown = _ids(runtime, uid, finished_within=jobs.FINISHED_SHOWN_FOR)
    assert shown == [waiting, fresh]
    assert _ids(runtime, uid) == [waiting, fresh, old]  # kept for lists without the limit


def test_an_uploads_job_leaves_the_list_with_its_material(runtime, make_user):
    a, b = make_user(), make_user()
    first = _submit(runtime, a, "glaciers.pdf")
    (added,) = _finish(runtime, a, first)
    again = _submit(runtime, a, "glaciers-copy.pdf", text_pdf(["glaciers.pdf. " + TEXT]))
    other = _submit(runtime, a, "other.pdf")
    (duplicate, kept) = _finish(runtime, a, again, other)
    assert duplicate.result.duplicate and duplicate.result.material_id == added.result.material_id
    theirs = _submit(runtime, b, "glaciers.pdf")  # the same file in another library
    _finish(runtime, b, theirs)

    library.delete_material(runtime, user_id=a, material_id=added.result.material_id)

    assert _ids(runtime, a) == [kept.id]  # both lines about the deleted material are gone
    assert _ids(runtime, b) == [theirs]
