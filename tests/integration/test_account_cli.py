"""`python -m engine create-user|reset-password` and `ingest --create-user`: generated passwords
are printed only when asked, and the help says which password is which."""

from __future__ import annotations

import re

import pytest

from engine import accounts
from engine.__main__ import build_parser, main
from engine.bootstrap import get_runtime
from engine.config import get_settings
from engine.errors import AuthenticationFailed
from tests.support.library_pdfs import text_pdf


@pytest.fixture
def cli(settings, monkeypatch):
    monkeypatch.delenv("GROUNDWORK_NEW_USER_PASSWORD", raising=False)
    get_runtime.cache_clear()
    yield main
    get_runtime().close()
    get_runtime.cache_clear()


def _login(email, password):
    rt = get_runtime()
    return accounts.authenticate(rt, email=email, password=password)


def _shown_password(out: str) -> str:
    return re.search(r"generated password for \S+: (\S+)", out).group(1)


def test_a_generated_password_is_printed_only_when_asked(cli, capsys):
    assert cli(["create-user", "quiet@example.com", "--generate-password"]) == 0
    out = capsys.readouterr().out
    assert "created learner quiet@example.com" in out
    assert "not shown" in out and "generated password for" not in out

    assert cli(["create-user", "loud@example.com", "--generate-password", "--show-password"]) == 0
    password = _shown_password(capsys.readouterr().out)
    assert _login("loud@example.com", password).email == "loud@example.com"


def test_ingest_create_user_does_not_print_the_password_unless_asked(cli, tmp_path, capsys):
    pdf = tmp_path / "notes.pdf"
    pdf.write_bytes(
        text_pdf(
            [
                "Mitochondria make most of the cell's ATP by oxidative "
                "phosphorylation along the inner membrane."
            ],
            title="Cells",
        )
    )
    assert cli(["ingest", str(pdf), "--user", "new@example.com", "--create-user"]) == 0
    out = capsys.readouterr().out
    assert "created learner new@example.com" in out and "not shown" in out
    assert "password:" not in out and "generated password for" not in out


def test_help_says_which_password_is_which():
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices
    ingest_help = " ".join(sub["ingest"].format_help().split())
    assert "--password PDF_PASSWORD" in ingest_help
    assert "encrypted PDFs (not the learner's account password)" in ingest_help
    create_help = " ".join(sub["create-user"].format_help().split())
    assert "--password ACCOUNT_PASSWORD" in create_help and "login password" in create_help


def test_reset_password_prompts_and_signs_out_every_session(cli, capsys, monkeypatch):
    monkeypatch.setenv("GROUNDWORK_NEW_USER_PASSWORD", "the first password 1")
    assert cli(["create-user", "ada@example.com"]) == 0
    monkeypatch.delenv("GROUNDWORK_NEW_USER_PASSWORD")
    rt = get_runtime()
    account = _login("ada@example.com", "the first password 1")
    signed = accounts.start_session(rt, account=account)
    answers = iter(["a replaced password 2", "a replaced password 2"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    capsys.readouterr()
    assert cli(["reset-password", "ADA@example.com"]) == 0
    out = capsys.readouterr().out
    assert "sessions were signed out" in out and "a replaced password 2" not in out
    assert accounts.resume_session(rt, session_id=signed.session_id) is None
    with pytest.raises(AuthenticationFailed):
        _login("ada@example.com", "the first password 1")
    assert _login("ada@example.com", "a replaced password 2")


def test_reset_password_refuses_mismatched_prompts_and_unknown_emails(cli, capsys, monkeypatch):
    monkeypatch.setenv("GROUNDWORK_NEW_USER_PASSWORD", "the first password 1")
    assert cli(["create-user", "ada@example.com"]) == 0
    monkeypatch.delenv("GROUNDWORK_NEW_USER_PASSWORD")
    answers = iter(["a replaced password 2", "something else 3"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert cli(["reset-password", "ada@example.com"]) == 1
    assert "differ" in capsys.readouterr().err
    assert _login("ada@example.com", "the first password 1")
    assert cli(["reset-password", "ghost@example.com", "--generate-password"]) == 1
    assert "ghost@example.com" in capsys.readouterr().err


def test_reset_password_can_generate_and_show(cli, capsys, monkeypatch):
    monkeypatch.setenv("GROUNDWORK_NEW_USER_PASSWORD", "the first password 1")
    assert cli(["create-user", "ada@example.com"]) == 0
    assert cli(["reset-password", "ada@example.com", "--generate-password", "--show-password"]) == 0
    assert _login("ada@example.com", _shown_password(capsys.readouterr().out))


@pytest.mark.parametrize(("mode", "status"), [("invite", 0), ("closed", 1)])
def test_operator_creates_accounts_in_invite_mode_but_not_when_closed(
    settings, monkeypatch, capsys, mode, status
):
    monkeypatch.setenv("GROUNDWORK_SIGNUP_MODE", mode)
    monkeypatch.setenv("GROUNDWORK_NEW_USER_PASSWORD", "the first password 1")
    get_settings.cache_clear()
    get_runtime.cache_clear()
    try:
        assert main(["create-user", "ada@example.com"]) == status
        if status:
            assert "does not take new accounts" in capsys.readouterr().err
    finally:
        get_runtime().close()
        get_runtime.cache_clear()
        get_settings.cache_clear()


def test_prune_auth_removes_old_attempts(cli, capsys, monkeypatch):
    monkeypatch.setenv("GROUNDWORK_NEW_USER_PASSWORD", "the first password 1")
    assert cli(["create-user", "ada@example.com"]) == 0
    import datetime as dt

    rt = get_runtime()
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(
            rt,
            email="ada@example.com",
            password="old guess!",
            now=dt.datetime.now(dt.UTC) - dt.timedelta(days=200),
        )
    assert _login("ada@example.com", "the first password 1")  # a recent attempt stays
    capsys.readouterr()
    assert cli(["prune-auth", "--days", "90"]) == 0
    assert "removed 1 login attempts" in capsys.readouterr().out


def _audit_rows():
    from sqlalchemy import select

    from engine.db.models import AuditEntry

    with get_runtime().session_factory() as s:
        return [
            (a.actor, a.action, a.target, a.detail)
            for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_create_user_with_a_role_and_set_role_are_audited(cli, capsys, monkeypatch):
    monkeypatch.setenv("GROUNDWORK_NEW_USER_PASSWORD", "the first password 1")
    assert cli(["create-user", "boss@example.com", "--role", "admin"]) == 0
    assert "created admin boss@example.com" in capsys.readouterr().out
    assert cli(["create-user", "kid@example.com"]) == 0
    assert accounts.get_account(get_runtime(), email="kid@example.com").role == "learner"
    assert cli(["set-role", "KID@example.com", "teacher"]) == 0
    assert "kid@example.com is now teacher" in capsys.readouterr().out.lower()
    assert accounts.get_account(get_runtime(), email="kid@example.com").role == "teacher"
    assert cli(["set-role", "kid@example.com", "teacher"]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert _audit_rows() == [
        ("command line", "create_user", "boss@example.com", "role admin"),
        ("command line", "create_user", "kid@example.com", "role learner"),
        ("command line", "set_role", "kid@example.com", "learner -> teacher"),
    ]


def test_set_role_keeps_the_last_admin_and_refuses_unknown_roles_and_emails(
    cli, capsys, monkeypatch
):
    monkeypatch.setenv("GROUNDWORK_NEW_USER_PASSWORD", "the first password 1")
    assert cli(["create-user", "boss@example.com", "--role", "admin"]) == 0
    capsys.readouterr()
    assert cli(["set-role", "boss@example.com", "learner"]) == 1
    assert "only administrator" in capsys.readouterr().err
    assert accounts.get_account(get_runtime(), email="boss@example.com").role == "admin"
    assert cli(["set-role", "ghost@example.com", "admin"]) == 1
    assert "ghost@example.com" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(["set-role", "boss@example.com", "owner"])
    assert cli(["create-user", "second@example.com", "--role", "admin"]) == 0
    assert cli(["set-role", "boss@example.com", "learner"]) == 0
    assert accounts.get_account(get_runtime(), email="boss@example.com").role == "learner"


def test_reset_password_from_the_command_line_is_audited(cli, monkeypatch):
    monkeypatch.setenv("GROUNDWORK_NEW_USER_PASSWORD", "the first password 1")
    assert cli(["create-user", "ada@example.com"]) == 0
    assert cli(["reset-password", "ada@example.com", "--generate-password"]) == 0
    assert _audit_rows()[-1] == ("command line", "reset_password", "ada@example.com", "")
