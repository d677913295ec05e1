"""AppTest: "Forgot password?" on the sign-in page and the new-password page a reset link
opens; invitations and reset links from the admin console, by email when it is set up (a
local SMTP server on 127.0.0.1), else shown to copy."""

from __future__ import annotations

import pytest

from engine.accounts import authenticate
from engine.admin import users
from engine.config import get_settings
from engine.errors import AuthenticationFailed
from engine.mail import wait_for_outbox
from tests.app.conftest import run_root
from tests.support.smtp import MAIL_ENV, PUBLIC_URL, smtp_server, token_in

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase 7"


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [t.value for t in at.title]
    parts += [c.value for c in at.code]
    return "\n".join(str(p) for p in parts).replace("\\", "").replace("\u200b", "")


def _button(at, label):
    return next(b for b in at.button if b.label == label)


@pytest.fixture
def inbox(settings, monkeypatch):
    """A local SMTP server, and the app's settings sending email to it."""
    with smtp_server() as inbox:
        for name, value in {**MAIL_ENV, "GROUNDWORK_SMTP_PORT": str(inbox.port)}.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield inbox
    get_settings.cache_clear()


def _forgot(at, email):
    at.text_input(key="forgot_email").input(email)
    _button(at, "Email me a reset link").click()
    at.run()
    wait_for_outbox()
    assert not at.exception, at.exception
    return [i.value for i in at.info]


def _signs_in(runtime, email, password) -> bool:
    try:
        authenticate(runtime, email=email, password=password)
    except AuthenticationFailed:
        return False
    return True


def _open_reset_link(new_app, token):
    at = new_app()
    at.query_params["reset"] = token
    at.run()
    assert not at.exception, at.exception
    return at


def test_forgot_password_emails_a_link_that_sets_a_new_password_once(
    inbox, new_app, runtime, make_user
):
    make_user("ada@example.com")
    at = new_app().run()
    known = _forgot(at, "ada@example.com")
    unknown = _forgot(new_app().run(), "nobody@example.com")
    assert known == unknown and "If an account has this email address" in known[0]
    [message] = inbox.messages  # nothing for the unknown address
    assert message["To"] == "ada@example.com"
    token = token_in(message, "reset")

    page = _open_reset_link(new_app, token)
    assert "Choose a new password" in _texts(page)
    page.text_input(key="reset_password").input(NEW_PASSWORD)
    page.text_input(key="reset_confirm").input(NEW_PASSWORD + "x")
    _button(page, "Set the new password").click().run()
    assert "The two passwords differ" in _texts(page)
    page.text_input(key="reset_confirm").input(NEW_PASSWORD)
    _button(page, "Set the new password").click().run()
    assert not page.exception
    assert "Your password was changed" in _texts(page)
    assert _signs_in(runtime, "ada@example.com", NEW_PASSWORD)
    assert not _signs_in(runtime, "ada@example.com", PASSWORD)

    again = _open_reset_link(new_app, token)
    assert "already used" in _texts(again)
    assert not [t for t in again.text_input if t.key == "reset_password"]


def test_a_bad_reset_link_shows_why_and_no_form(inbox, new_app):
    at = _open_reset_link(new_app, "not-a-real-token")
    assert "This password reset link is not valid" in _texts(at)
    assert not [t for t in at.text_input if t.key == "reset_password"]


def test_without_email_the_sign_in_page_says_whom_to_ask(new_app):
    at = new_app().run()
    assert not at.exception
    assert not [t for t in at.text_input if t.key == "forgot_email"]
    assert "Ask the person who runs this server for a reset link" in _texts(at)


@pytest.fixture
def admin_app(signed_in_app, runtime):
    at = signed_in_app("root@example.com")
    users.set_role_by_email(runtime, email="root@example.com", role="admin")
    run_root(at)  # the next run knows the new role
    at.switch_page("pages/admin.py").run()
    assert not at.exception, at.exception
    return at


def _invite(at, email):
    at.segmented_control(key="admin_section").set_value("Sign-up").run()
    at.number_input(key="admin_inv_uses").set_value(1)
    at.text_input(key="admin_inv_email").input(email)
    _button(at, "Create invitation link").click().run()
    assert not at.exception, at.exception
    return at


def test_an_admin_emails_an_invitation(inbox, admin_app):
    at = _invite(admin_app, "kim@example.com")
    assert "Invitation sent to kim@example.com" in _texts(at)
    assert not at.code  # nothing to copy
    [message] = inbox.messages
    assert message["To"] == "kim@example.com"
    assert token_in(message, "invite")
    assert "for kim@example.com" in _texts(at)  # listed with the address as its note


def test_a_failed_invitation_email_shows_the_link_to_copy(inbox, admin_app):
    inbox.refuse = "554 5.7.1 Rejected by policy"
    at = _invite(admin_app, "kim@example.com")
    shown = _texts(at)
    assert "could not be sent" in shown and "The invitation is valid" in shown
    assert at.code[0].value.startswith(f"{PUBLIC_URL}/?invite=")
    assert inbox.messages == []


def test_an_admin_emails_a_reset_link(inbox, admin_app, new_app, runtime, make_user):
    make_user("zoe@school.example")
    at = admin_app
    at.text_input(key="admin_user_query").input("zoe").run()
    _button(at, "Send a password reset link").click().run()
    assert not at.exception
    assert "A password reset link was sent to zoe@school.example" in _texts(at)
    assert not at.code
    [message] = inbox.messages
    page = _open_reset_link(new_app, token_in(message, "reset"))
    page.text_input(key="reset_password").input(NEW_PASSWORD)
    page.text_input(key="reset_confirm").input(NEW_PASSWORD)
    _button(page, "Set the new password").click().run()
    assert _signs_in(runtime, "zoe@school.example", NEW_PASSWORD)


def test_without_email_the_console_shows_links_to_copy(admin_app, new_app, runtime, make_user):
    make_user("zoe@school.example")
    at = admin_app
    at.text_input(key="admin_user_query").input("zoe").run()
    _button(at, "Make a password reset link").click().run()
    assert not at.exception
    link = at.code[0].value
    assert "/?reset=" in link and "shown once" in _texts(at)
    page = _open_reset_link(new_app, link.split("reset=")[1])
    page.text_input(key="reset_password").input(NEW_PASSWORD)
    page.text_input(key="reset_confirm").input(NEW_PASSWORD)
    _button(page, "Set the new password").click().run()
    assert _signs_in(runtime, "zoe@school.example", NEW_PASSWORD)

    at.segmented_control(key="admin_section").set_value("Sign-up").run()
    assert not [t for t in at.text_input if t.key == "admin_inv_email"]
    assert "Email is not set up on this server" in _texts(at)
