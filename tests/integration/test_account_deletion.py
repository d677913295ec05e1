"""Deleting an account: asked with the password, it stops the learner's jobs, signs out every
tab at once, and leaves nothing of the learner in the spool or the job queue's tables; nothing
of another learner is touched."""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from engine import jobs, library
from engine.accounts import authenticate, get_account, resume_session, start_session
from engine.db.models import JobProgress, User
from engine.errors import AccountLocked, AuthenticationFailed, InvalidInput, NotFound
from engine.jobs import progress as jp
from tests.integration.test_account_data import _rows_of
from tests.support.jobs import running_worker, wait_for
from tests.support.library_pdfs import encrypted_pdf, text_pdf

PASSWORD = "correct horse battery staple"  # make_user's
TEXT = (
    "Glaciers form where snowfall exceeds melting for many years. The snow compacts into "
    "firn and then into dense glacial ice, which flows downhill under its own weight."
)
QUEUE_TABLES = ("procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers")


def _email(rt, uid: int) -> str:
    with rt.session_factory() as s:
        return s.get(User, uid).email


def _session(rt, uid: int) -> str:
    return start_session(rt, account=get_account(rt, email=_email(rt, uid))).session_id


def _upload(rt, uid: int, pdf: bytes, name: str, password: str | None = None) -> int:
    return jobs.submit_ingestion(
        rt, user_id=uid, source=io.BytesIO(pdf), filename=name, password=password
    )


def _spool_of(rt, uid: int) -> list[Path]:
    """The learner's spooled uploads and stored PDF passwords on disk."""
    with rt.session_factory() as s:
        paths = [
            Path(p)
            for p in s.scalars(
                select(JobProgress.spool_path).where(
                    JobProgress.user_id == uid, JobProgress.spool_path.is_not(None)
                )
            )
        ]
    return [f for p in paths for f in (p, p.with_suffix(".pw")) if f.exists()]


def _queue_text(rt) -> str:
    """Every row of the job queue's tables, as text."""
    with rt.engine.connect() as conn:
        return "\n".join(
            row[0]
            for t in QUEUE_TABLES
            for row in conn.exec_driver_sql(f"SELECT r::text FROM procrastinate.{t} r")
        )


def _queue_rows(rt, uid: int) -> list[tuple[str, str]]:
    """(task, status) of the learner's rows in the queue (their uploads' lanes included)."""
    with rt.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT task_name, status::text FROM procrastinate.procrastinate_jobs "
                    "WHERE split_part(lock, '#', 1) = :lock ORDER BY id"
                ),
                {"lock": f"learner:{uid}"},
            )
        ]


def _delete(rt, uid: int, password: str = PASSWORD, **kwargs) -> int:
    return jobs.submit_account_deletion(
        rt, user_id=uid, confirm_email=_email(rt, uid), password=password, **kwargs
    )


def _wait_gone(rt, uid: int) -> None:
    deadline = time.monotonic() + 120
    while True:
        with rt.session_factory() as s:
            if s.get(User, uid) is None:
                return
        assert time.monotonic() < deadline, "account not deleted"
        time.sleep(0.1)


def test_deleting_asks_for_the_password_and_a_wrong_one_changes_nothing(runtime, make_user):
    uid = make_user()
    sid = _session(runtime, uid)
    waiting = _upload(runtime, uid, text_pdf([TEXT]), "notes.pdf")
    before = _rows_of(runtime, uid, _email(runtime, uid))

    with pytest.raises(AuthenticationFailed, match="password is not right"):
        _delete(runtime, uid, password="not my password at all")
    with pytest.raises(InvalidInput, match="type its email address"):
        jobs.submit_account_deletion(
            runtime, user_id=uid, confirm_email="x@example.com", password=PASSWORD
        )

    assert resume_session(runtime, session_id=sid) is not None  # still signed in
    assert jobs.get_job(runtime, waiting, user_id=uid).outcome == "queued"
    assert len(_spool_of(runtime, uid)) == 1
    assert [j.kind for j in jobs.recent_jobs(runtime, user_id=uid)] == ["ingest"]
    after = _rows_of(runtime, uid, _email(runtime, uid))
    # The only change: the wrong password was counted like a failed login.
    assert {k: v for k, v in after.items() if v != before[k]} == {
        "login_attempts": before["login_attempts"] + 1,
        "login_attempts(email)": before["login_attempts(email)"] + 1,
    }


def test_the_password_check_is_throttled_like_a_login(runtime, make_user):
    runtime.settings = runtime.settings.replace(login_max_failures=3)
    uid = make_user()
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            _delete(runtime, uid, password="guess number n", client_address="203.0.113.9")
    with pytest.raises(AccountLocked):  # even the right password waits: no guessing oracle
        _delete(runtime, uid, client_address="203.0.113.9")
    with runtime.session_factory() as s:
        assert s.get(User, uid).deleting_since is None
    assert jobs.recent_jobs(runtime, user_id=uid) == []


def test_deletion_stops_the_learners_jobs_and_leaves_nothing_in_spool_or_queue(runtime, make_user):
    a, b = make_user(), make_user()
    a_email = _email(runtime, a)
    a_tab, b_tab = _session(runtime, a), _session(runtime, b)
    a_pdf = encrypted_pdf("Alice keeps secret notes on moraines.", "moon-42")
    _upload(runtime, a, a_pdf, f"{a_email}-notes.pdf", password="moon-42")
    jobs.submit_generation(
        runtime,
        user_id=a,
        material_ids=None,
        topic="alicetopic moraines",
        question_type="mix",
        difficulty=3,
        count=2,
    )
    jobs.submit_export(runtime, user_id=a)
    b_job = _upload(runtime, b, text_pdf([TEXT]), "glaciers.pdf")
    b_spool = _spool_of(runtime, b)
    assert len(_spool_of(runtime, a)) == 2 and len(b_spool) == 1  # a's PDF and its password
    queued = _queue_text(runtime)
    for secret in (hashlib.sha256(a_pdf).hexdigest(), "alicetopic", a_email, "moon-42"):
        assert secret not in queued  # the queue holds ids only, from the start

    _delete(runtime, a)

    # At once, before any worker ran: every tab of a is signed out, a's waiting jobs and
    # spooled files are gone, and a can queue nothing more.
    assert resume_session(runtime, session_id=a_tab) is None
    assert _spool_of(runtime, a) == []
    assert _queue_rows(runtime, a) == [("delete_account", "todo")]
    with pytest.raises(NotFound, match="being deleted"):
        _upload(runtime, a, text_pdf(["later " + TEXT]), "later.pdf")
    with pytest.raises(NotFound, match="being deleted"):
        jobs.submit_reindex(runtime, user_id=a)
    with pytest.raises(AuthenticationFailed):  # nor sign in again while it is deleted
        authenticate(runtime, email=a_email, password=PASSWORD)
    assert _spool_of(runtime, a) == []
    assert len(list(runtime.settings.storage.spool_path.iterdir())) == 1  # b's upload only
    # b is untouched.
    assert resume_session(runtime, session_id=b_tab) is not None
    assert _spool_of(runtime, b) == b_spool and all(p.is_file() for p in b_spool)
    assert jobs.get_job(runtime, b_job, user_id=b).outcome == "queued"
    assert _queue_rows(runtime, b) == [("ingest", "todo")]

    with running_worker(runtime):
        _wait_gone(runtime, a)
        assert wait_for(runtime, b_job, user_id=b).outcome == "done"

    left = _rows_of(runtime, a, a_email.lower())
    assert set(left.values()) == {0}, left
    assert _queue_rows(runtime, a) == []
    queued = _queue_text(runtime)
    assert a_email not in queued and a_email.lower() not in queued
    assert f"{a_email}-notes.pdf" not in queued and "alicetopic" not in queued
    assert list(runtime.settings.storage.spool_path.iterdir()) == []
    assert resume_session(runtime, session_id=b_tab) is not None
    assert library.list_materials(runtime, user_id=b)[0].filename == "glaciers.pdf"


def test_a_job_of_an_account_being_deleted_does_nothing_when_it_runs(
    runtime, make_user, monkeypatch
):
    a, b = make_user(), make_user()
    reindexed: list[int] = []
    real = library.reindex

    def reindex(rt, *, user_id, **kwargs):
        reindexed.append(user_id)
        return real(rt, user_id=user_id, **kwargs)

    monkeypatch.setattr(library, "reindex", reindex)
    _delete(runtime, a)
    # A job that got past the enqueue check just before the deletion started (its row and
    # queue entry made here directly, as a racing tab would have).
    with runtime.session_factory.begin() as s:
        late = jp.create(s, user_id=a, kind="reindex", label="Search index")
    assert jp.start(runtime, late) is None  # refused at run time
    assert jp.row(runtime, late).outcome == "cancelled"
    with runtime.session_factory.begin() as s:
        raced = jp.create(s, user_id=a, kind="reindex", label="Search index")
    jobs.submission._defer(runtime, "reindex", raced, user_id=a)
    b_job = jobs.submit_reindex(runtime, user_id=b)
    with running_worker(runtime):
        _wait_gone(runtime, a)
        assert wait_for(runtime, b_job, user_id=b).outcome == "done"
        deadline = time.monotonic() + 60
        while _queue_rows(runtime, a) != []:  # the raced job ran as a no-op and went
            assert time.monotonic() < deadline, _queue_rows(runtime, a)
            time.sleep(0.1)
    assert reindexed == [b]


def test_a_deletion_that_cannot_be_queued_leaves_the_account(runtime, make_user, monkeypatch):
    from procrastinate.exceptions import ConnectorException

    from engine.errors import DatabaseUnavailable

    uid = make_user()
    waiting = _upload(runtime, uid, text_pdf([TEXT]), "notes.pdf")

    def down(*args, **kwargs):
        raise ConnectorException("the queue is down")

    monkeypatch.setattr(runtime.queue, "configure_task", down)
    with pytest.raises(DatabaseUnavailable):
        _delete(runtime, uid)
    monkeypatch.undo()
    with runtime.session_factory() as s:
        assert s.get(User, uid).deleting_since is None
    assert get_account(runtime, email=_email(runtime, uid)).user_id == uid  # can log in
    assert jobs.get_job(runtime, waiting, user_id=uid).outcome == "queued"
    assert len(_spool_of(runtime, uid)) == 1
    jobs.submit_reindex(runtime, user_id=uid)  # and queue again


def test_the_nightly_check_finishes_a_deletion_whose_job_failed(runtime, make_user):
    from engine.jobs.tasks import nightly_check

    a, b, recent = make_user(), make_user(), make_user()
    for uid in (a, recent):
        _delete(runtime, uid)
    with runtime.session_factory.begin() as s:  # a's job failed for good an hour ago
        s.execute(text("UPDATE job_progress SET outcome = 'failed' WHERE user_id = :u"), {"u": a})
        s.execute(
            text("UPDATE users SET deleting_since = now() - interval '61 minutes' WHERE id = :u"),
            {"u": a},
        )
    b_before = _rows_of(runtime, b, _email(runtime, b))
    nightly_check(runtime)
    with runtime.session_factory() as s:
        assert s.get(User, a) is None
        assert s.get(User, recent) is not None  # its job is still waiting: not touched
    assert _rows_of(runtime, b, _email(runtime, b)) == b_before
