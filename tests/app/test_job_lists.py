"""AppTest for the job lists: the Library lists this learner's jobs with progress, cancel,
outcome and dismiss; the upload cap is a clear message; Generate follows a running batch after
a reload; another learner's jobs never show."""

from __future__ import annotations

import io
import time

import pytest

from engine import jobs
from engine.config import get_settings
from tests.support.library_pdfs import text_pdf

TEXT = (
    "Glaciers form where snowfall exceeds melting for many years. The snow compacts into "
    "firn and then into dense glacial ice, which flows downhill under its own weight."
)


@pytest.fixture
def queue_only(monkeypatch):
    """The app only queues (as an app replica under compose): jobs wait for a worker."""
    monkeypatch.setenv("GROUNDWORK_EMBEDDED_WORKER", "false")
    monkeypatch.setenv("GROUNDWORK_UPLOAD_MAX_PENDING", "2")
    get_settings.cache_clear()


def _texts(at) -> str:
    parts = [e.value for e in at.error] + [w.value for w in at.warning]
    parts += [s.value for s in at.success] + [i.value for i in at.info]
    parts += [m.value for m in at.markdown] + [c.value for c in at.caption]
    return "\n".join(str(p) for p in parts).replace("\\", "")


def _library(at):
    at.switch_page("pages/library.py").run()
    assert not at.exception
    return at


def test_waiting_jobs_show_cancel_and_the_cap(queue_only, signed_in_app, runtime):
    at = _library(signed_in_app())
    at.file_uploader(key="library_upload").set_value(
        [(f"notes{i}.pdf", text_pdf([f"{i} {TEXT}"]), "application/pdf") for i in range(3)]
    )
    at.run()
    assert not at.exception
    shown = _texts(at)
    assert "already have 2 uploads waiting" in shown  # the third file: a clear refusal
    bars = [p for p in at.get("progress")]
    assert len(bars) == 2 and all("Waiting for a worker" in str(p.proto.text) for p in bars)
    uid = at.session_state["gw_account"].user_id
    first = min(j.id for j in jobs.recent_jobs(runtime, user_id=uid))
    at.button(key=f"library_job_cancel_{first}").click().run()
    assert not at.exception
    assert jobs.get_job(runtime, first, user_id=uid).outcome == "cancelled"
    assert "Cancelled before it started." in _texts(at)
    at.button(key=f"library_job_dismiss_{first}").click().run()
    assert first not in {j.id for j in jobs.recent_jobs(runtime, user_id=uid)}
    assert "Cancelled before it started." not in _texts(at)


def test_outcomes_stay_listed_until_dismissed_and_only_for_their_learner(
    signed_in_app, runtime, make_user
):
    other = make_user()
    jobs.submit_ingestion(
        runtime, user_id=other, source=io.BytesIO(text_pdf(["other"])), filename="someone-elses.pdf"
    )
    at = _library(signed_in_app())
    at.file_uploader(key="library_upload").set_value(
        ("glaciers.pdf", text_pdf([TEXT], title="Glaciers"), "application/pdf")
    )
    deadline = time.monotonic() + 120
    at.run()
    while at.session_state["library_jobs"]:
        assert time.monotonic() < deadline and not at.exception
        time.sleep(0.2)
        at.run()
    assert "Added “Glaciers”" in _texts(at)
    at.switch_page("pages/home.py").run()
    at = _library(at)  # still listed when the learner comes back
    assert "Added “Glaciers”" in _texts(at)
    assert "someone-elses.pdf" not in _texts(at)
    uid = at.session_state["gw_account"].user_id
    (job,) = jobs.recent_jobs(runtime, user_id=uid)
    at.button(key=f"library_job_dismiss_{job.id}").click().run()
    assert "Added “Glaciers”" not in _texts(at)
    assert "Background work" not in [s.value for s in at.subheader]


def test_generate_follows_a_running_batch_after_a_reload(
    queue_only, signed_in_app, runtime, new_app
):
    from tests.support.generation_data import BIOLOGY, add_material

    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    add_material(runtime.session_factory, uid, "Biology notes", BIOLOGY)
    job_id = jobs.submit_generation(
        runtime,
        user_id=uid,
        material_ids=None,
        topic=None,
        question_type="mix",
        difficulty=3,
        count=3,
    )
    at.switch_page("pages/generate.py").run()  # a fresh session: queued before it opened
    assert not at.exception
    assert at.session_state["gen_job"] == job_id
    assert "Generating questions" in " ".join(str(p.proto.text) for p in at.get("progress"))
    from tests.support.jobs import running_worker, wait_for

    with running_worker(runtime):
        wait_for(runtime, job_id, user_id=uid)
    at.run()
    assert not at.exception
    assert at.session_state["gen_job"] is None
    assert "3 of 3 question(s) passed the checks" in _texts(at).replace("\\", "")


def test_finished_jobs_fold_into_one_list_with_dismiss_all(queue_only, signed_in_app, runtime):
    from engine import library
    from tests.support.jobs import running_worker, wait_for

    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    finished = []
    for batch in (("ice.pdf", "firn.pdf"), ("snow.pdf", "melt.pdf")):  # two may wait at once
        ids = [
            jobs.submit_ingestion(
                runtime, user_id=uid, source=io.BytesIO(text_pdf([f"{n} {TEXT}"])), filename=n
            )
            for n in batch
        ]
        with running_worker(runtime):
            finished += [wait_for(runtime, i, user_id=uid) for i in ids]
    gone = finished[0].result.material_id
    library.delete_material(runtime, user_id=uid, material_id=gone)
    waiting = jobs.submit_ingestion(
        runtime, user_id=uid, source=io.BytesIO(text_pdf([f"later {TEXT}"])), filename="later.pdf"
    )

    at = _library(at)
    (folded,) = at.expander
    assert folded.label == "Finished: 3 jobs"
    shown = _texts(at)
    assert "firn.pdf" in shown and "melt.pdf" in shown and "ice.pdf" not in shown
    bars = [str(p.proto.text).replace("\\", "") for p in at.get("progress")]
    assert len(bars) == 1 and "later.pdf" in bars[0]  # the waiting upload keeps its card

    at.button(key="library_job_dismiss_all").click().run()
    assert not at.exception
    assert not at.expander and "melt.pdf" not in _texts(at)
    assert [j.id for j in jobs.recent_jobs(runtime, user_id=uid)] == [waiting]
    at.switch_page("pages/home.py").run()
    at = _library(at)  # gone for good, not only from this session
    assert not at.expander and len(at.get("progress")) == 1
