"""Prepared data exports: owner-only files that expire, go with a newer export, a dismissal and
the account, and that `engine check` reports and removes; never another learner's."""

from __future__ import annotations

import datetime as dt
import hashlib
import stat
import zipfile

import pytest
from sqlalchemy import text

from engine import account_data, integrity, jobs, library, originals
from engine.bootstrap import create_runtime
from engine.errors import NotFound
from engine.jobs import progress as jp
from engine.jobs.tasks import Reporter, export_body, nightly_check
from tests.support.jobs import running_worker, wait_for
from tests.support.library_pdfs import text_pdf

HOUR = dt.timedelta(hours=1)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _export(rt, user_id: int) -> int:
    """Run an export job's body as a worker does; returns the job id."""
    with rt.session_factory.begin() as s:
        job_id = jp.create(s, user_id=user_id, kind="export", label="Export of my data")
    row = jp.start(rt, job_id)
    message, result = export_body(rt)(row, Reporter(rt, job_id))
    jp.finish(rt, job_id, outcome="done", message=message, result=result)
    return job_id


def _finished_at(rt, job_id: int) -> dt.datetime:
    with rt.session_factory() as s:
        return s.scalar(text("SELECT finished_at FROM job_progress WHERE id = :j"), {"j": job_id})


def _age(rt, job_id: int, hours: float) -> None:
    """Pretend the export job finished `hours` ago."""
    with rt.session_factory.begin() as s:
        s.execute(
            text(
                "UPDATE job_progress SET finished_at = now() - make_interval(secs => :s)"
                " WHERE id = :j"
            ),
            {"s": hours * 3600, "j": job_id},
        )


def _files(rt) -> set[str]:
    root = rt.settings.storage.data_dir / "exports"
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


def test_an_export_made_by_the_worker_is_owner_only(runtime, make_user):
    uid = make_user()
    with running_worker(runtime):
        job_id = jobs.submit_export(runtime, user_id=uid)
        assert wait_for(runtime, job_id, user_id=uid).outcome == "done"
    path = jobs.export_path(runtime, job_id, user_id=uid)
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    with zipfile.ZipFile(path) as zf:
        assert "account.json" in zf.namelist()


def test_an_export_expires_after_the_set_hours_and_is_then_removed(runtime, make_user):
    uid = make_user()
    job_id = _export(runtime, uid)
    ready = jobs.ready_export(runtime, job_id, user_id=uid)
    assert ready.expires_at == _finished_at(runtime, job_id) + 24 * HOUR
    assert ready.path.is_file()
    with pytest.raises(NotFound, match="expired"):
        jobs.ready_export(runtime, job_id, user_id=uid, now=ready.expires_at + HOUR)
    assert not ready.path.exists()


def test_the_expiry_is_a_setting(runtime, make_user):
    rt = create_runtime(runtime.settings.replace(export_ttl_h=2.5), migrate=False)
    try:
        uid = make_user()
        job_id = _export(rt, uid)
        expires = jobs.ready_export(rt, job_id, user_id=uid).expires_at
        assert expires == _finished_at(rt, job_id) + 2.5 * HOUR
        assert _kinds(rt, now=expires - dt.timedelta(seconds=1)) == set()
        assert _kinds(rt, now=expires) == {(uid, "expired-export")}
    finally:
        rt.close()


def test_a_newer_export_replaces_the_older_and_a_dismissed_one_is_removed(runtime, make_user):
    uid, other = make_user(), make_user()
    theirs = _export(runtime, other)
    first = _export(runtime, uid)
    second = _export(runtime, uid)
    assert _files(runtime) == {f"{other}-{theirs}.zip", f"{uid}-{second}.zip"}
    with pytest.raises(NotFound):
        jobs.export_path(runtime, first, user_id=uid)
    with pytest.raises(NotFound):
        jobs.dismiss_job(runtime, theirs, user_id=uid)  # not theirs to dismiss
    jobs.dismiss_job(runtime, second, user_id=uid)
    assert _files(runtime) == {f"{other}-{theirs}.zip"}


@pytest.mark.slow
def test_deleting_the_account_removes_its_exports_only(runtime, make_user):
    uid, other = make_user(), make_user()
    mine, theirs = _export(runtime, uid), _export(runtime, other)
    account_data.delete_account(runtime, user_id=uid)
    assert _files(runtime) == {f"{other}-{theirs}.zip"}
    assert f"{uid}-{mine}.zip" not in _files(runtime)
    assert integrity.check(runtime) == []


def test_a_failed_export_leaves_no_file(runtime, make_user):
    uid = make_user()
    with runtime.session_factory.begin() as s:
        job_id = jp.create(s, user_id=uid, kind="export", label="Export of my data")
    row = jp.start(runtime, job_id)
    with runtime.session_factory.begin() as s:  # the account went while the job waited
        s.execute(text("DELETE FROM users WHERE id = :u"), {"u": uid})
    with pytest.raises(NotFound):
        export_body(runtime)(row, Reporter(runtime, job_id))
    assert _files(runtime) == set()


def _kinds(rt, **kw):
    return {(d.user_id, d.kind) for d in integrity.check(rt, **kw)}


def test_check_reports_and_repair_removes_expired_and_stray_exports_per_learner(runtime, make_user):
    alice, bob = make_user(), make_user()
    expired, kept = _export(runtime, alice), _export(runtime, bob)
    _age(runtime, expired, 25)
    exports_dir = runtime.settings.storage.data_dir / "exports"
    (exports_dir / f"{alice}-999999.zip").write_bytes(b"no such job")
    (exports_dir / f"{alice}-{kept}.zip").write_bytes(b"bob's job under alice's name")
    (exports_dir / f"{bob}-{kept}.zip.1a2b3c.part").write_bytes(b"a partial write")
    (exports_dir / "copy of export.zip").write_bytes(b"names no learner")

    assert _kinds(runtime, user_id=alice) == {(alice, "expired-export"), (alice, "stray-export")}
    assert _kinds(runtime, user_id=bob) == {(bob, "stray-export")}  # the partial file
    assert _kinds(runtime) == {
        (alice, "expired-export"),
        (alice, "stray-export"),
        (bob, "stray-export"),
        (None, "stray-export"),
    }

    integrity.repair(runtime, user_id=alice)  # one learner: nobody else's files
    assert _files(runtime) == {
        f"{bob}-{kept}.zip",
        f"{bob}-{kept}.zip.1a2b3c.part",
        "copy of export.zip",
    }
    integrity.repair(runtime)
    assert _files(runtime) == {f"{bob}-{kept}.zip"}
    assert integrity.check(runtime) == []
    assert jobs.export_path(runtime, kept, user_id=bob).is_file()


def test_the_nightly_check_removes_expired_exports(runtime, make_user):
    uid = make_user()
    job_id = _export(runtime, uid)
    _age(runtime, job_id, 23)
    assert nightly_check(runtime) == (0, 0)
    assert _files(runtime) == {f"{uid}-{job_id}.zip"}
    _age(runtime, job_id, 25)
    assert nightly_check(runtime) == (1, 0)
    assert _files(runtime) == set()


def test_originals_are_owner_only_and_older_open_files_are_repaired(runtime, make_user):
    alice, bob = make_user(), make_user()
    pdf_a, pdf_b = text_pdf(["Owls hunt at night."]), text_pdf(["Ferns bear spores."])
    library.ingest_pdf(runtime, user_id=alice, data=pdf_a, filename="a.pdf")
    library.ingest_pdf(runtime, user_id=bob, data=pdf_b, filename="b.pdf")
    path_a = originals.original_path(runtime, user_id=alice, sha256=_sha(pdf_a))
    path_b = originals.original_path(runtime, user_id=bob, sha256=_sha(pdf_b))
    assert _mode(path_a) == 0o600 and _mode(path_a.parent) == 0o700
    assert _mode(originals.originals_root(runtime)) == 0o700
    for path in (path_a, path_b):  # as versions before this one wrote them
        path.chmod(0o644)
        path.parent.chmod(0o755)

    assert _kinds(runtime, user_id=alice) == {(alice, "open-permissions")}
    integrity.repair(runtime, user_id=alice)
    assert _mode(path_a) == 0o600 and _mode(path_a.parent) == 0o700
    assert _mode(path_b) == 0o644  # another learner's files are not touched
    integrity.repair(runtime)
    assert _mode(path_b) == 0o600 and integrity.check(runtime) == []
