"""Profile & settings: export my data, delete my account (typed email and password)."""

from __future__ import annotations

import hashlib
import time

import pytest
from sqlalchemy import func, select, text

from engine import library, originals
from engine.accounts import get_account, start_session
from engine.config import get_settings
from engine.db.models import JobProgress, User
from tests.app.conftest import run_root
from tests.integration.test_account_data import _collections, _rows_of
from tests.support.jobs import running_worker
from tests.support.library_pdfs import text_pdf

DELETE = "FormSubmitter:delete_account-Delete my account permanently"
PASSWORD = "correct horse battery staple"  # make_user's


@pytest.fixture
def queue_only(monkeypatch):
    """The app only queues (as an app replica does): jobs wait for the test's worker."""
    monkeypatch.setenv("GROUNDWORK_EMBEDDED_WORKER", "false")
    get_settings.cache_clear()


def _user_id(runtime, email):
    with runtime.session_factory() as s:
        return s.scalar(select(User.id).where(User.email == email))


def _profile(signed_in_app, email):
    at = signed_in_app(email)
    at.switch_page("pages/profile.py").run()
    assert not at.exception
    return at


def test_export_offers_a_zip_download_until_it_expires(signed_in_app, runtime):
    at = _profile(signed_in_app, "export-page@example.com")
    assert not at.get("download_button")
    at.button(key="export_prepare").click().run()
    deadline = time.monotonic() + 120
    while not at.get("download_button"):  # the zip is prepared by a background job
        assert time.monotonic() < deadline, "export did not finish"
        assert not at.exception and not at.error
        time.sleep(0.2)
        at.run()
    assert not at.exception and not at.error
    downloads = at.get("download_button")
    assert len(downloads) == 1 and "groundwork-export.zip" in downloads[0].proto.label
    assert any("Ready to download until" in c.value for c in at.caption)

    (path,) = (runtime.settings.storage.data_dir / "exports").iterdir()
    with runtime.session_factory.begin() as s:  # a day and an hour later
        s.execute(
            text(
                "UPDATE job_progress SET finished_at = now() - interval '25 hours' "
                "WHERE kind = 'export'"
            )
        )
    at.run()
    assert not at.exception and not at.get("download_button")
    assert any("expired" in i.value for i in at.info)
    assert not path.exists()


def _users(runtime, email):
    with runtime.session_factory() as s:
        return s.scalar(select(func.count()).select_from(User).where(User.email == email))


def _deletion_jobs(runtime, uid):
    with runtime.session_factory() as s:
        return (
            s.execute(
                select(JobProgress.outcome).where(
                    JobProgress.user_id == uid, JobProgress.kind == "delete_account"
                )
            )
            .scalars()
            .all()
        )


def _learner_with_material(runtime, uid, body):
    pdf = text_pdf([body])
    material = library.ingest_pdf(runtime, user_id=uid, data=pdf, filename="notes.pdf").material
    assert library.vector_count(runtime, user_id=uid) == material.chunk_count > 0
    return material, hashlib.sha256(pdf).hexdigest()


def _second_tab(new_app, runtime, email):
    """Another browser tab of the same learner, with a session of its own."""
    at = new_app()
    signed = start_session(runtime, account=get_account(runtime, email=email))
    at.session_state["gw_account"] = signed.account
    at.session_state["gw_session"] = signed.session_id
    at.run()
    at.switch_page("pages/library.py").run()
    assert not at.exception and "gw_account" in at.session_state
    return at


def test_delete_queues_a_job_that_removes_everything_of_the_learner(
    queue_only, signed_in_app, new_app, runtime, make_user
):
    email = "delete-page@example.com"
    at = _profile(signed_in_app, email)
    uid = _user_id(runtime, email)
    tab2 = _second_tab(new_app, runtime, email)
    _learner_with_material(runtime, uid, "Glaciers carve cirques and leave moraines behind.")
    other = make_user("stays@example.com")
    kept, kept_sha = _learner_with_material(runtime, other, "The Krebs cycle makes NADH.")
    other_before = _rows_of(runtime, other, "stays@example.com")

    at.text_input(key="delete_confirm").input("someone-else@example.com")
    at.text_input(key="delete_password").input(PASSWORD)
    at.button(key=DELETE).click().run()
    assert "type its email address exactly" in at.error[0].value
    assert _deletion_jobs(runtime, uid) == []  # a mistyped confirmation queues nothing
    assert _users(runtime, email) == 1

    at.text_input(key="delete_confirm").input(email)
    at.text_input(key="delete_password").input("not my password at all")
    at.button(key=DELETE).click().run()
    assert "password is not right" in at.error[0].value
    assert _deletion_jobs(runtime, uid) == []  # the email alone is not enough
    assert _users(runtime, email) == 1 and "gw_account" in at.session_state

    at.text_input(key="delete_confirm").input(email)
    at.text_input(key="delete_password").input(PASSWORD)
    at.button(key=DELETE).click().run()
    assert not at.exception and not at.error
    assert _deletion_jobs(runtime, uid) == ["queued"]  # queued, not done inside the page
    assert _users(runtime, email) == 1
    assert "gw_account" not in at.session_state  # signed out: the session state was emptied
    at = run_root(at)
    assert not at.exception
    assert any("being deleted" in i.value for i in at.info)  # on the login page
    tab2 = run_root(tab2)  # the other tab is signed out on its next run, before the job ran
    assert not tab2.exception and "gw_account" not in tab2.session_state
    assert tab2.text_input(key="login_password") is not None  # the login page
    assert _users(runtime, email) == 1

    with running_worker(runtime):
        deadline = time.monotonic() + 120
        while _users(runtime, email):
            assert time.monotonic() < deadline, "account not deleted by the job"
            time.sleep(0.1)
    left = _rows_of(runtime, uid, email)
    assert "materials" in left and "chunks" in left and "job_progress" in left
    assert set(left.values()) == {0}, left
    assert _collections(runtime, uid) == []
    assert not (originals.originals_root(runtime) / str(uid)).exists()
    assert _rows_of(runtime, other, "stays@example.com") == other_before
    assert library.vector_count(runtime, user_id=other) == kept.chunk_count
    assert originals.original_path(runtime, user_id=other, sha256=kept_sha).is_file()
