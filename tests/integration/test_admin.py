"""Roles and the admin services: only an admin may call them (a learner or a teacher is
refused and nothing changes), ids outside reach answer "not found", the last admin keeps the
role, every action is audited, and the changes take effect at once (sessions, sign-up mode,
invitations, usage limits, jobs)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import func, insert, select, update

from engine import usage
from engine.accounts import (
    authenticate,
    get_account,
    register_user,
    resume_session,
    start_session,
)
from engine.admin import access, health, jobs as admin_jobs, model_usage, signup, users
from engine.db.models import (
    AuditEntry,
    Invitation,
    JobProgress,
    LLMUsage,
    PasswordReset,
    User,
)
from engine.errors import (
    AuthenticationFailed,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    RegistrationError,
)
from engine.jobs import progress as jp
from tests.support.jobs import running_worker

PASSWORD = "correct horse battery staple"  # make_user's
NEW_PASSWORD = "a brand new passphrase 7"


def _email(rt, uid: int) -> str:
    with rt.session_factory() as s:
        return s.get(User, uid).email


def _audit(rt) -> list[tuple[str, str, str, str]]:
    with rt.session_factory() as s:
        return [
            (a.actor, a.action, a.target, a.detail)
            for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


@pytest.fixture
def admin(runtime, make_user) -> int:
    uid = make_user("admin@example.com")
    users.set_role_by_email(runtime, email="admin@example.com", role="admin")
    return uid


def _sign_up(rt, email, invitation=None):
    return register_user(
        rt, email=email, password=PASSWORD, display_name="New", invitation=invitation
    )


def _every_admin_call(rt, actor_id: int, target: int) -> dict[str, object]:
    return {
        "search_users": lambda: users.search_users(rt, actor_id=actor_id),
        "get_user": lambda: users.get_user(rt, actor_id=actor_id, user_id=target),
        "set_role": lambda: users.set_role(rt, actor_id=actor_id, user_id=actor_id, role="admin"),
        "disable": lambda: users.set_disabled(rt, actor_id=actor_id, user_id=target, disabled=True),
        "sign_out": lambda: users.sign_out_everywhere(rt, actor_id=actor_id, user_id=target),
        "temp_password": lambda: users.set_temporary_password(
            rt, actor_id=actor_id, user_id=target
        ),
        "delete": lambda: users.delete_user(
            rt, actor_id=actor_id, user_id=target, confirm_email=_email(rt, target)
        ),
        "audit_log": lambda: access.audit_log(rt, actor_id=actor_id),
        "signup_mode": lambda: signup.signup_mode(rt, actor_id=actor_id),
        "set_signup_mode": lambda: signup.set_signup_mode(rt, actor_id=actor_id, mode="closed"),
        "create_invitation": lambda: signup.create_invitation(
            rt, actor_id=actor_id, days=1, max_uses=1
        ),
        "list_invitations": lambda: signup.list_invitations(rt, actor_id=actor_id),
        "sso_domains": lambda: signup.sso_domains(rt, actor_id=actor_id),
        "set_sso_domains": lambda: signup.set_sso_domains(
            rt, actor_id=actor_id, domains="school.example"
        ),
        "revoke_invitation": lambda: signup.revoke_invitation(
            rt, actor_id=actor_id, invitation_id=1
        ),
        "usage_report": lambda: model_usage.usage_report(rt, actor_id=actor_id),
        "global_limits": lambda: model_usage.global_limits(rt, actor_id=actor_id),
        "set_global_limit": lambda: model_usage.set_global_limit(
            rt, actor_id=actor_id, name="tutor_max_per_hour", value=1
        ),
        "learner_limits": lambda: model_usage.learner_limits(rt, actor_id=actor_id, user_id=target),
        "set_learner_limit": lambda: model_usage.set_learner_limit(
            rt, actor_id=actor_id, user_id=target, name="tutor_max_per_hour", value=1
        ),
        "job_counts": lambda: admin_jobs.job_counts(rt, actor_id=actor_id),
        "list_jobs": lambda: admin_jobs.list_jobs(rt, actor_id=actor_id, outcome="failed"),
        "retry_job": lambda: admin_jobs.retry_job(rt, actor_id=actor_id, job_id=1),
        "cancel_job": lambda: admin_jobs.cancel_job(rt, actor_id=actor_id, job_id=1),
        "health": lambda: health.health(rt, actor_id=actor_id),
        "create_reset_link": lambda: users.create_reset_link(
            rt, actor_id=actor_id, user_id=target, base_url="http://127.0.0.1:8501"
        ),
    }


@pytest.mark.parametrize("role", ["learner", "teacher"])
def test_every_admin_service_refuses_anyone_but_an_admin_and_changes_nothing(
    runtime, make_user, admin, role
):
    caller, other = make_user(), make_user()
    users.set_role(runtime, actor_id=admin, user_id=caller, role=role)
    before = _audit(runtime)
    session = start_session(runtime, account=get_account(runtime, email=_email(runtime, other)))
    for name, call in _every_admin_call(runtime, caller, other).items():
        with pytest.raises(Forbidden):
            call()
        assert _audit(runtime) == before, name
    assert resume_session(runtime, session_id=session.session_id) is not None
    assert authenticate(runtime, email=_email(runtime, other), password=PASSWORD)
    with runtime.session_factory() as s:
        roles = dict(s.execute(select(User.id, User.role)).all())
        assert s.scalar(select(func.count()).select_from(Invitation)) == 0
        assert s.scalar(select(func.count()).select_from(PasswordReset)) == 0
    assert roles[caller] == role and roles[other] == "learner"


def test_a_disabled_or_demoted_admin_is_refused_too(runtime, make_user, admin):
    second = make_user()
    users.set_role(runtime, actor_id=admin, user_id=second, role="admin")
    users.set_disabled(runtime, actor_id=admin, user_id=second, disabled=True)
    with pytest.raises(Forbidden):
        users.search_users(runtime, actor_id=second)
    users.set_disabled(runtime, actor_id=admin, user_id=second, disabled=False)
    assert users.search_users(runtime, actor_id=second)[1] == 2
    users.set_role(runtime, actor_id=second, user_id=admin, role="learner")
    with pytest.raises(Forbidden):
        users.search_users(runtime, actor_id=admin)


def test_ids_outside_reach_answer_not_found(runtime, admin):
    missing = 10_000_000
    for call in (
        lambda: users.get_user(runtime, actor_id=admin, user_id=missing),
        lambda: users.set_role(runtime, actor_id=admin, user_id=missing, role="teacher"),
        lambda: users.set_disabled(runtime, actor_id=admin, user_id=missing, disabled=True),
        lambda: users.sign_out_everywhere(runtime, actor_id=admin, user_id=missing),
        lambda: users.set_temporary_password(runtime, actor_id=admin, user_id=missing),
        lambda: users.delete_user(runtime, actor_id=admin, user_id=missing, confirm_email="x"),
        lambda: signup.revoke_invitation(runtime, actor_id=admin, invitation_id=missing),
        lambda: model_usage.learner_limits(runtime, actor_id=admin, user_id=missing),
        lambda: model_usage.set_learner_limit(
            runtime, actor_id=admin, user_id=missing, name="tutor_max_per_hour", value=1
        ),
        lambda: admin_jobs.retry_job(runtime, actor_id=admin, job_id=missing),
        lambda: admin_jobs.cancel_job(runtime, actor_id=admin, job_id=missing),
    ):
        with pytest.raises(NotFound):
            call()


def test_search_finds_by_email_or_name_and_role(runtime, make_user, admin):
    make_user("zoe@school.example", display_name="Zoe Park")
    teacher = make_user("tom@school.example", display_name="Tom 100%")
    users.set_role(runtime, actor_id=admin, user_id=teacher, role="teacher")
    found, total = users.search_users(runtime, actor_id=admin, query="SCHOOL")
    assert [u.email for u in found] == ["tom@school.example", "zoe@school.example"]
    assert total == 2
    assert [u.email for u in users.search_users(runtime, actor_id=admin, query="park")[0]] == [
        "zoe@school.example"
    ]
    assert [u.email for u in users.search_users(runtime, actor_id=admin, query="100%")[0]] == [
        "tom@school.example"
    ]  # % is a character, not a wildcard
    assert [u.email for u in users.search_users(runtime, actor_id=admin, role="teacher")[0]] == [
        "tom@school.example"
    ]
    with pytest.raises(ValueError):
        users.search_users(runtime, actor_id=admin, role="owner")


def test_the_last_admin_cannot_lose_the_role(runtime, make_user, admin):
    with pytest.raises(InvalidInput, match="only administrator"):
        users.set_role(runtime, actor_id=admin, user_id=admin, role="learner")
    with pytest.raises(InvalidInput, match="only administrator"):
        users.set_role_by_email(runtime, email="admin@example.com", role="teacher")
    second = make_user()
    users.set_role(runtime, actor_id=admin, user_id=second, role="admin")
    users.set_disabled(runtime, actor_id=admin, user_id=second, disabled=True)
    # a disabled admin does not count: the first one is still the only usable one
    with pytest.raises(InvalidInput, match="only administrator"):
        users.set_role(runtime, actor_id=admin, user_id=admin, role="learner")
    users.set_disabled(runtime, actor_id=admin, user_id=second, disabled=False)
    assert users.set_role(runtime, actor_id=admin, user_id=admin, role="learner")
    with pytest.raises(InvalidInput, match="only administrator"):
        users.set_role(runtime, actor_id=second, user_id=second, role="learner")
    assert get_account(runtime, email="admin@example.com").role == "learner"
    assert [(a, act, t, d) for a, act, t, d in _audit(runtime) if act == "set_role"][-1] == (
        "admin@example.com",
        "set_role",
        "admin@example.com",
        "admin -> learner",
    )


def test_disabling_ends_sessions_at_once_and_refuses_login_until_enabled(runtime, make_user, admin):
    uid = make_user()
    email = _email(runtime, uid)
    signed = start_session(runtime, account=get_account(runtime, email=email))
    with pytest.raises(InvalidInput):
        users.set_disabled(runtime, actor_id=admin, user_id=admin, disabled=True)
    users.set_disabled(runtime, actor_id=admin, user_id=uid, disabled=True)
    assert resume_session(runtime, session_id=signed.session_id) is None
    with pytest.raises(AuthenticationFailed):
        authenticate(runtime, email=email, password=PASSWORD)
    assert users.get_user(runtime, actor_id=admin, user_id=uid).disabled
    users.set_disabled(runtime, actor_id=admin, user_id=uid, disabled=False)
    assert authenticate(runtime, email=email, password=PASSWORD).user_id == uid
    assert [x[1:3] for x in _audit(runtime)][-2:] == [("disable", email), ("enable", email)]


def test_sign_out_everywhere_and_temporary_password(runtime, make_user, admin):
    uid = make_user()
    email = _email(runtime, uid)
    a = start_session(runtime, account=get_account(runtime, email=email))
    b = start_session(runtime, account=get_account(runtime, email=email))
    assert users.get_user(runtime, actor_id=admin, user_id=uid).live_sessions == 2
    assert users.sign_out_everywhere(runtime, actor_id=admin, user_id=uid) == 2
    assert resume_session(runtime, session_id=a.session_id) is None
    assert resume_session(runtime, session_id=b.session_id) is None
    c = start_session(runtime, account=get_account(runtime, email=email))
    temporary = users.set_temporary_password(runtime, actor_id=admin, user_id=uid)
    assert resume_session(runtime, session_id=c.session_id) is None
    with pytest.raises(AuthenticationFailed):
        authenticate(runtime, email=email, password=PASSWORD)
    assert authenticate(runtime, email=email, password=temporary).user_id == uid
    log = _audit(runtime)
    assert ("admin@example.com", "sign_out_everywhere", email, "2 sessions") in log
    assert all(temporary not in " ".join(row) for row in log)  # never written down


def test_delete_asks_for_the_email_and_uses_the_deletion_job(runtime, make_user, admin):
    uid, other = make_user(), make_user()
    email = _email(runtime, uid)
    signed = start_session(runtime, account=get_account(runtime, email=email))
    with pytest.raises(InvalidInput):
        users.delete_user(runtime, actor_id=admin, user_id=uid, confirm_email="nope@x.org")
    with pytest.raises(InvalidInput):
        users.delete_user(runtime, actor_id=admin, user_id=admin, confirm_email="admin@example.com")
    assert resume_session(runtime, session_id=signed.session_id) is not None
    with running_worker(runtime):
        users.delete_user(runtime, actor_id=admin, user_id=uid, confirm_email=email.upper())
        assert resume_session(runtime, session_id=signed.session_id) is None
        deadline = time.monotonic() + 120
        while True:
            with runtime.session_factory() as s:
                if s.get(User, uid) is None:
                    break
            assert time.monotonic() < deadline, "account not deleted"
            time.sleep(0.1)
    with runtime.session_factory() as s:
        assert s.get(User, other) is not None
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "delete_account"))
    # The entry stays, naming the account by id (its email went with it).
    assert (entry.target, entry.target_user_id, entry.actor) == (
        f"deleted account #{uid}",
        None,
        "admin@example.com",
    )


def test_signup_mode_is_changed_at_run_time_over_the_environment_default(runtime, admin):
    assert signup.signup_mode(runtime, actor_id=admin) == "open"  # GROUNDWORK_SIGNUP_MODE
    _sign_up(runtime, "early@example.com")
    for mode in ("closed", "sso", "invite"):
        signup.set_signup_mode(runtime, actor_id=admin, mode=mode)
        with pytest.raises(RegistrationError):
            _sign_up(runtime, f"{mode}@example.com")
    with pytest.raises(InvalidInput):
        signup.set_signup_mode(runtime, actor_id=admin, mode="everyone")
    # the operator still creates accounts while sign-up is by invitation
    register_user(
        runtime, email="made@example.com", password=PASSWORD, display_name="M", by_admin=True
    )
    assert ("admin@example.com", "set_signup_mode", "", "sso -> invite") in _audit(runtime)


def test_invitations_expire_run_out_and_can_be_revoked(runtime, admin):
    signup.set_signup_mode(runtime, actor_id=admin, mode="invite")
    two = signup.create_invitation(runtime, actor_id=admin, days=7, max_uses=2, note="Class 4B")
    _sign_up(runtime, "one@example.com", two.token)
    _sign_up(runtime, "two@example.com", two.token)
    with pytest.raises(RegistrationError, match="used as many times"):
        _sign_up(runtime, "three@example.com", two.token)
    with pytest.raises(RegistrationError, match="not valid"):
        _sign_up(runtime, "four@example.com", two.token + "x")
    revoked = signup.create_invitation(runtime, actor_id=admin, days=7, max_uses=5)
    signup.revoke_invitation(runtime, actor_id=admin, invitation_id=revoked.id)
    with pytest.raises(RegistrationError, match="withdrawn"):
        _sign_up(runtime, "five@example.com", revoked.token)
    old = signup.create_invitation(
        runtime,
        actor_id=admin,
        days=1,
        max_uses=5,
        now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2),
    )
    with pytest.raises(RegistrationError, match="expired"):
        _sign_up(runtime, "six@example.com", old.token)
    listed = {i.id: i for i in signup.list_invitations(runtime, actor_id=admin)}
    assert (listed[two.id].uses, listed[two.id].note) == (2, "Class 4B")
    assert "used as many times" in listed[two.id].problem
    assert listed[revoked.id].revoked and listed[old.id].problem.startswith(
        "This invitation has expired"
    )
    with runtime.session_factory() as s:  # only hashes are stored
        hashes = set(s.scalars(select(Invitation.token_hash)))
    assert two.token not in hashes and len(hashes) == 3
    with pytest.raises(InvalidInput):
        signup.create_invitation(runtime, actor_id=admin, days=0, max_uses=0)
    for accepted in ("one@example.com", "two@example.com"):
        assert get_account(runtime, email=accepted).role == "learner"


def _usage_row(rt, uid, task, cost, *, days_ago=0, request=None):
    with rt.session_factory.begin() as s:
        s.execute(
            insert(LLMUsage).values(
                user_id=uid,
                request_id=request or f"r-{time.monotonic_ns()}",
                task=task,
                generator="llm",
                model="m",
                outcome="ok",
                tokens_in=10,
                tokens_out=5,
                cost_usd=cost,
                created_at=func.now() - dt.timedelta(days=days_ago),
            )
        )


def test_usage_report_per_learner_day_and_task(runtime, make_user, admin):
    a, b = make_user("a@example.com"), make_user("b@example.com")
    _usage_row(runtime, a, "tutor", 0.5, request="same")
    _usage_row(runtime, a, "tutor", 0.25, request="same")  # one request, two calls
    _usage_row(runtime, a, "generation", 1.0, days_ago=1)
    _usage_row(runtime, b, "grading", 0.1)
    _usage_row(runtime, b, "grading", 9.0, days_ago=40)  # outside the 30 days
    report = model_usage.usage_report(runtime, actor_id=admin, days=30)
    assert [(r.key, r.requests, float(r.cost_usd)) for r in report.by_learner] == [
        ("a@example.com", 2, 1.75),
        ("b@example.com", 1, 0.1),
    ]
    assert [(r.key, r.requests) for r in report.by_task] == [
        ("generation", 1),
        ("grading", 1),
        ("tutor", 1),
    ]
    today = dt.datetime.now(dt.UTC).date()
    assert [(r.key, r.tokens_in) for r in report.by_day] == [
        (today, 30),
        (today - dt.timedelta(days=1), 10),
    ]


def test_limits_changed_at_run_time_apply_to_the_next_request(runtime, make_user, admin):
    a, b = make_user(), make_user()
    model_usage.set_global_limit(runtime, actor_id=admin, name="tutor_max_per_hour", value=1)
    model_usage.set_learner_limit(
        runtime, actor_id=admin, user_id=b, name="tutor_max_per_hour", value=3
    )
    for uid, allowed in ((a, 1), (b, 3)):
        for _ in range(allowed):
            usage.settle(
                runtime,
                usage.reserve(runtime, user_id=uid, task=usage.TUTOR, units=1),
                model="m",
                outcome="ok",
            )
        with pytest.raises(RateLimited, match=f"tutor {allowed} times"):
            usage.reserve(runtime, user_id=uid, task=usage.TUTOR, units=1)
    assert model_usage.global_limits(runtime, actor_id=admin)["tutor_max_per_hour"] == 1
    assert model_usage.learner_limits(runtime, actor_id=admin, user_id=b) == {
        "tutor_max_per_hour": 3
    }
    # back to the environment's default (60 an hour): a may ask again
    model_usage.set_global_limit(runtime, actor_id=admin, name="tutor_max_per_hour", value=None)
    usage.reserve(runtime, user_id=a, task=usage.TUTOR, units=1)
    model_usage.set_learner_limit(
        runtime, actor_id=admin, user_id=b, name="tutor_max_per_hour", value=None
    )
    usage.reserve(runtime, user_id=b, task=usage.TUTOR, units=1)  # the server's 60 again
    for bad in (0, -1, 1_000_001):
        with pytest.raises(InvalidInput):
            model_usage.set_learner_limit(
                runtime, actor_id=admin, user_id=b, name="tutor_max_per_hour", value=bad
            )
    with pytest.raises(InvalidInput):
        model_usage.set_global_limit(runtime, actor_id=admin, name="cost", value=1)
    assert ("admin@example.com", "set_global_limit", "", "tutor_max_per_hour: 60 -> 1") in _audit(
        runtime
    )


def _failed_job(rt, uid, kind="reindex") -> int:
    with rt.session_factory.begin() as s:
        job_id = jp.create(s, user_id=uid, kind=kind, label="Search index")
        s.execute(
            update(JobProgress)
            .where(JobProgress.id == job_id)
            .values(outcome="failed", message="boom", finished_at=func.now())
        )
    return job_id


def test_jobs_by_kind_retry_and_cancel(runtime, make_user, admin):
    uid = make_user()
    failed = _failed_job(runtime, uid)
    failed_upload = _failed_job(runtime, uid, kind="ingest")
    assert admin_jobs.job_counts(runtime, actor_id=admin) == {
        ("reindex", "failed"): 1,
        ("ingest", "failed"): 1,
    }
    listed = admin_jobs.list_jobs(runtime, actor_id=admin, outcome="failed", kind="reindex")
    assert [(j.id, j.owner, j.message) for j in listed] == [(failed, _email(runtime, uid), "boom")]
    with pytest.raises(InvalidInput, match="upload the file again"):
        admin_jobs.retry_job(runtime, actor_id=admin, job_id=failed_upload)
    admin_jobs.retry_job(runtime, actor_id=admin, job_id=failed)
    with runtime.session_factory() as s:
        row = s.get(JobProgress, failed)
        assert (row.outcome, row.finished_at) == ("queued", None)
        assert row.queue_job_id is not None
    with pytest.raises(InvalidInput, match="Only a failed job"):
        admin_jobs.retry_job(runtime, actor_id=admin, job_id=failed)
    assert admin_jobs.job_counts(runtime, actor_id=admin)[("reindex", "queued")] == 1
    admin_jobs.cancel_job(runtime, actor_id=admin, job_id=failed)  # waiting: cancelled at once
    with runtime.session_factory() as s:
        assert s.get(JobProgress, failed).outcome == "cancelled"
    with pytest.raises(InvalidInput, match="already finished"):
        admin_jobs.cancel_job(runtime, actor_id=admin, job_id=failed)
    actions = [x[1] for x in _audit(runtime)]
    assert actions[-2:] == ["retry_job", "cancel_job"]


def test_health_names_each_part_and_where_it_runs(runtime, admin):
    with running_worker(runtime):
        deadline = time.monotonic() + 30
        while not (report := health.health(runtime, actor_id=admin)).workers:
            assert time.monotonic() < deadline, "no worker heartbeat recorded"
            time.sleep(0.1)
    parts = {p.name: p for p in report.parts}
    assert parts["Database (PostgreSQL)"].ok
    assert parts["Database (PostgreSQL)"].placement == "external"  # the tests' DATABASE_URL
    assert parts["Vector store (Chroma)"].ok
    assert parts["Vector store (Chroma)"].placement == "embedded"
    assert parts["Language model"].placement == "none"
    assert report.disk_total > 0 and report.disk_free > 0


def test_audit_log_is_newest_first_and_admins_only(runtime, make_user, admin):
    uid = make_user()
    users.set_role(runtime, actor_id=admin, user_id=uid, role="teacher")
    users.sign_out_everywhere(runtime, actor_id=admin, user_id=uid)
    rows, total = access.audit_log(runtime, actor_id=admin, limit=1)
    assert total == 3  # the fixture's own promotion, from the command line, first
    assert [r.action for r in rows] == ["sign_out_everywhere"]
    everything, _ = access.audit_log(runtime, actor_id=admin)
    assert (everything[-1].actor, everything[-1].action) == ("command line", "set_role")
    with pytest.raises(Forbidden):
        access.audit_log(runtime, actor_id=uid)


def test_the_last_admin_cannot_delete_their_own_account(runtime, make_user, admin):
    from engine.jobs import submit_account_deletion

    with pytest.raises(InvalidInput, match="only administrator"):
        submit_account_deletion(
            runtime, user_id=admin, confirm_email="admin@example.com", password=PASSWORD
        )
    with runtime.session_factory() as s:
        assert s.get(User, admin).deleting_since is None
        assert s.scalar(select(func.count()).select_from(JobProgress)) == 0
    second = make_user()
    users.set_role(runtime, actor_id=admin, user_id=second, role="admin")
    assert submit_account_deletion(
        runtime, user_id=admin, confirm_email="admin@example.com", password=PASSWORD
    )


def test_a_deleted_accounts_email_leaves_the_audit_log(runtime, make_user):
    """Deleting means gone: the audit log keeps what was done, naming the account by id."""
    from engine import account_data

    admin, learner = make_user(), make_user()
    users.set_role_by_email(runtime, email=_email(runtime, admin), role="admin")
    email = _email(runtime, learner)
    users.set_role(runtime, actor_id=admin, user_id=learner, role="teacher")
    users.set_role(runtime, actor_id=admin, user_id=learner, role="learner")
    account_data.delete_account(runtime, user_id=learner)
    with runtime.session_factory() as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["set_role", "set_role", "set_role"]
    assert all(email not in f"{e.actor} {e.target} {e.detail}" for e in entries)
    assert [e.target for e in entries[1:]] == [f"deleted account #{learner}"] * 2
    assert entries[0].target == _email(runtime, admin)  # the admin's own entry is untouched
