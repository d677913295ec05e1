"""Email, when configured: invitations and password reset links go out through a local SMTP
server the test starts on 127.0.0.1; the links in the received messages are followed.

"Forgot password?" answers the same whether or not the address has an account and sends
nothing for an unknown one; a link resets its own account's password once, before it
expires; a failed send leaves the link valid (the console shows it to copy); neither the
link's token, the new password nor the SMTP password is logged."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select

from engine.accounts import (
    authenticate,
    get_account,
    invitation_problem,
    prune_password_resets,
    register_user,
    request_password_reset,
    reset_password_with_token,
    reset_problem,
    resume_session,
    start_session,
)
from engine.accounts.resets import RESET_EXPIRED, RESET_UNAVAILABLE, RESET_UNKNOWN, RESET_USED
from engine.admin import signup, users
from engine.db.models import AuditEntry, Invitation, PasswordReset
from engine.errors import (
    AuthenticationFailed,
    Forbidden,
    InvalidInput,
    MailNotSent,
    RateLimited,
)
from engine.mail import send_mail, wait_for_outbox
from tests.support.smtp import (
    PUBLIC_URL,
    free_port,
    link_in,
    mail_settings,
    smtp_server,
    token_in,
)

PASSWORD = "correct horse battery staple"  # make_user's
NEW_PASSWORD = "a brand new passphrase 7"


@pytest.fixture
def inbox():
    with smtp_server() as inbox:
        yield inbox


@pytest.fixture
def rt(runtime, inbox):
    """The test's runtime sending email to the local server."""
    return runtime.with_settings(mail_settings(runtime.settings, inbox.port))


@pytest.fixture
def admin(rt, make_user) -> int:
    uid = make_user("admin@example.com")
    users.set_role_by_email(rt, email="admin@example.com", role="admin")
    return uid


def _forgot(rt, email: str, address: str | None = "203.0.113.7", **kw) -> str:
    answer = request_password_reset(rt, email=email, client_address=address, **kw)
    wait_for_outbox()
    return answer


def _signs_in(rt, email: str, password: str) -> bool:
    try:
        authenticate(rt, email=email, password=password)
    except AuthenticationFailed:
        return False
    return True


def test_a_forgot_password_link_arrives_and_resets_the_password_once(rt, inbox, make_user):
    uid = make_user("ada@example.com", display_name="Ada")
    other_browser = start_session(rt, account=get_account(rt, email="ada@example.com"))

    answer = _forgot(rt, "ADA@example.com")

    assert "If an account has this email address" in answer
    [message] = inbox.messages
    assert message["To"] == "ada@example.com"
    assert message["From"] == "Groundwork <groundwork@school.example>"
    assert message["Subject"] == "Choose a new Groundwork password"
    assert "Hello Ada" in message.get_content() and "UTC" in message.get_content()
    assert link_in(message).startswith(f"{PUBLIC_URL}/?reset=")
    token = token_in(message, "reset")
    assert reset_problem(rt, token) is None

    assert reset_password_with_token(rt, token=token, new_password=NEW_PASSWORD) == uid
    assert _signs_in(rt, "ada@example.com", NEW_PASSWORD)
    assert not _signs_in(rt, "ada@example.com", PASSWORD)
    assert resume_session(rt, session_id=other_browser.session_id) is None  # signed out

    assert reset_problem(rt, token) == RESET_USED
    with pytest.raises(InvalidInput, match="already used"):
        reset_password_with_token(rt, token=token, new_password="yet another passphrase 8")
    assert _signs_in(rt, "ada@example.com", NEW_PASSWORD)


def test_using_one_link_spends_every_other_open_link_of_the_account(rt, inbox, make_user):
    make_user("ada@example.com")
    _forgot(rt, "ada@example.com")
    _forgot(rt, "ada@example.com")
    first, second = (token_in(m, "reset") for m in inbox.messages)
    reset_password_with_token(rt, token=second, new_password=NEW_PASSWORD)
    assert reset_problem(rt, first) == RESET_USED


def test_an_expired_link_is_refused_with_a_clear_message(rt, inbox, make_user):
    make_user("ada@example.com")
    ttl = dt.timedelta(minutes=rt.settings.accounts.password_reset_ttl_min)
    long_ago = dt.datetime.now(dt.UTC) - ttl - dt.timedelta(minutes=1)
    _forgot(rt, "ada@example.com", now=long_ago)
    token = token_in(inbox.messages[0], "reset")
    assert reset_problem(rt, token) == RESET_EXPIRED
    with pytest.raises(InvalidInput, match="has expired"):
        reset_password_with_token(rt, token=token, new_password=NEW_PASSWORD)
    assert _signs_in(rt, "ada@example.com", PASSWORD)


def test_unknown_or_altered_links_are_refused(rt, inbox, make_user):
    make_user("ada@example.com")
    _forgot(rt, "ada@example.com")
    token = token_in(inbox.messages[0], "reset")
    for bad in (None, "", token[:-2], token + "x", "x" * 5000):
        assert reset_problem(rt, bad) == RESET_UNKNOWN
        with pytest.raises(InvalidInput, match="not valid"):
            reset_password_with_token(rt, token=bad, new_password=NEW_PASSWORD)
    assert reset_problem(rt, token) is None


def test_the_new_password_follows_the_sign_up_rules_and_a_refusal_spends_nothing(
    rt, inbox, make_user
):
    make_user("ada@example.com")
    _forgot(rt, "ada@example.com")
    token = token_in(inbox.messages[0], "reset")
    with pytest.raises(InvalidInput, match="at least 12 characters"):
        reset_password_with_token(rt, token=token, new_password="short")
    assert reset_problem(rt, token) is None
    reset_password_with_token(rt, token=token, new_password=NEW_PASSWORD)


def test_an_unknown_address_gets_the_same_answer_and_no_email(rt, inbox, make_user):
    make_user("ada@example.com")
    disabled = make_user("gone@example.com")
    users.set_disabled(rt, actor_id=make_admin(rt, make_user), user_id=disabled, disabled=True)

    known = _forgot(rt, "ada@example.com")
    unknown = _forgot(rt, "nobody@example.com")
    of_disabled = _forgot(rt, "gone@example.com")

    assert known == unknown == of_disabled
    assert [m["To"] for m in inbox.messages] == ["ada@example.com"]
    with rt.session_factory() as s:
        rows = s.scalars(select(PasswordReset).order_by(PasswordReset.id)).all()
    # Every request is recorded (for the limits); only the known account's has a link; no
    # address is kept.
    assert [(r.user_id is not None, r.token_hash is not None) for r in rows] == [
        (True, True),
        (False, False),
        (False, False),
    ]
    assert all("@" not in r.email_hash for r in rows)


def make_admin(rt, make_user) -> int:
    uid = make_user("admin@example.com")
    users.set_role_by_email(rt, email="admin@example.com", role="admin")
    return uid


def test_requests_are_limited_per_address_asked_for_known_or_not(rt, inbox, make_user):
    make_user("ada@example.com")
    limit = rt.settings.accounts.password_reset_max_per_email
    for email in ("ada@example.com", "nobody@example.com"):
        for i in range(limit):
            _forgot(rt, email, address=f"198.51.100.{i}")
        with pytest.raises(RateLimited) as refused:
            _forgot(rt, email, address="198.51.100.99")
        # The same refusal for an address with an account and one without.
        assert refused.value.user_message.startswith(
            "Too many password reset requests for this email address. Try again in 60 minutes"
        )
    assert len(inbox.to("ada@example.com")) == limit


def test_requests_are_limited_per_client_address(rt, inbox, make_user):
    limited = rt.with_settings(rt.settings.replace(password_reset_max_per_address=2))
    make_user("ada@example.com")
    _forgot(limited, "one@example.com", address="192.0.2.1")
    _forgot(limited, "two@example.com", address="192.0.2.1")
    with pytest.raises(RateLimited, match="from your network"):
        _forgot(limited, "ada@example.com", address="192.0.2.1")
    assert inbox.messages == []
    _forgot(limited, "ada@example.com", address="192.0.2.2")  # another network
    assert len(inbox.messages) == 1


def test_a_link_resets_only_its_own_account(rt, inbox, make_user):
    ada = make_user("ada@example.com")
    bob = make_user("bob@example.com")
    bob_browser = start_session(rt, account=get_account(rt, email="bob@example.com"))
    _forgot(rt, "ada@example.com")
    _forgot(rt, "bob@example.com")
    ada_token = token_in(inbox.to("ada@example.com")[0], "reset")
    bob_token = token_in(inbox.to("bob@example.com")[0], "reset")

    assert reset_password_with_token(rt, token=ada_token, new_password=NEW_PASSWORD) == ada
    assert _signs_in(rt, "bob@example.com", PASSWORD)
    assert not _signs_in(rt, "bob@example.com", NEW_PASSWORD)
    assert resume_session(rt, session_id=bob_browser.session_id) is not None
    assert reset_problem(rt, bob_token) is None  # Bob's own link is untouched
    assert reset_password_with_token(rt, token=bob_token, new_password=NEW_PASSWORD) == bob


def test_without_email_settings_there_is_no_forgot_password_and_no_invitation_by_email(
    runtime, make_user
):
    uid = make_user("admin@example.com")
    users.set_role_by_email(runtime, email="admin@example.com", role="admin")
    with pytest.raises(InvalidInput) as refused:
        request_password_reset(runtime, email="admin@example.com")
    assert refused.value.user_message == RESET_UNAVAILABLE
    with pytest.raises(InvalidInput, match="Email is not set up"):
        signup.create_invitation(runtime, actor_id=uid, days=7, max_uses=1, email="kim@example.com")
    with runtime.session_factory() as s:
        assert (
            s.scalar(select(Invitation.id)) is None and s.scalar(select(PasswordReset.id)) is None
        )
    # The console's reset link is shown to copy, with the console's own address.
    link = users.create_reset_link(
        runtime, actor_id=uid, user_id=uid, base_url="http://127.0.0.1:8501"
    )
    assert (link.emailed_to, link.mail_error) == (None, None)
    assert link.url.startswith("http://127.0.0.1:8501/?reset=")


def test_an_admin_emails_an_invitation_and_the_link_signs_up(rt, inbox, admin):
    signup.set_signup_mode(rt, actor_id=admin, mode="invite")
    inv = signup.create_invitation(rt, actor_id=admin, days=3, max_uses=1, email="Kim@Example.com")
    assert (inv.emailed_to, inv.mail_error) == ("kim@example.com", None)
    [message] = inbox.messages
    assert message["To"] == "kim@example.com"
    assert message["Subject"] == "Your invitation to Groundwork"
    body = message.get_content()
    assert f"{inv.expires_at:%Y-%m-%d %H:%M} UTC" in body and "one account" in body
    token = token_in(message, "invite")
    assert token == inv.token
    register_user(
        rt, email="kim@example.com", password=PASSWORD, display_name="Kim", invitation=token
    )
    assert get_account(rt, email="kim@example.com").role == "learner"
    listed = signup.list_invitations(rt, actor_id=admin)
    assert [(i.note, i.uses) for i in listed] == [("for kim@example.com", 1)]
    with rt.session_factory() as s:
        details = s.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "create_invitation")
        )
        assert [d for d in details] == [
            f"invitation {inv.id}: 1 uses, 3 days, emailed to kim@example.com"
        ]


def test_a_malformed_invitation_address_creates_nothing(rt, inbox, admin):
    with pytest.raises(InvalidInput, match="valid email address"):
        signup.create_invitation(rt, actor_id=admin, days=3, max_uses=1, email="kim@@example")
    with rt.session_factory() as s:
        assert s.scalar(select(Invitation.id)) is None
    assert inbox.messages == []


def test_a_refused_or_unreachable_server_leaves_the_links_valid(rt, inbox, admin, make_user):
    uid = make_user("ada@example.com")
    inbox.refuse = "554 5.7.1 Rejected by policy"
    inv = signup.create_invitation(rt, actor_id=admin, days=3, max_uses=1, email="kim@example.com")
    assert inv.emailed_to is None
    assert "could not be sent" in inv.mail_error and "answered 554" in inv.mail_error
    assert invitation_problem(rt, inv.token) is None  # still usable, to copy

    down = rt.with_settings(mail_settings(rt.settings, free_port()))  # nothing listens
    link = users.create_reset_link(down, actor_id=admin, user_id=uid, base_url="http://x")
    assert link.emailed_to is None and "could not be reached" in link.mail_error
    assert link.url.startswith(f"{PUBLIC_URL}/?reset=")  # the public address, not the console's
    token = link.url.split("reset=")[1]
    reset_password_with_token(rt, token=token, new_password=NEW_PASSWORD)
    assert _signs_in(rt, "ada@example.com", NEW_PASSWORD)


def test_an_admins_reset_link_is_emailed_audited_and_works_once(rt, inbox, admin, make_user):
    uid = make_user("ada@example.com")
    browser = start_session(rt, account=get_account(rt, email="ada@example.com"))
    link = users.create_reset_link(rt, actor_id=admin, user_id=uid, base_url="http://x")
    assert (link.emailed_to, link.mail_error) == ("ada@example.com", None)
    assert resume_session(rt, session_id=browser.session_id) is not None  # until it is used
    [message] = inbox.messages
    assert link_in(message) == link.url
    reset_password_with_token(rt, token=token_in(message, "reset"), new_password=NEW_PASSWORD)
    assert resume_session(rt, session_id=browser.session_id) is None
    with pytest.raises(InvalidInput, match="already used"):
        reset_password_with_token(rt, token=token_in(message, "reset"), new_password=PASSWORD)
    with rt.session_factory() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "reset_link")).one()
    assert entry.actor == "admin@example.com" and entry.target == "ada@example.com"
    assert entry.detail.endswith("sent by email")


def test_only_an_admin_makes_reset_links(rt, inbox, make_user):
    learner = make_user("ada@example.com")
    other = make_user("bob@example.com")
    with pytest.raises(Forbidden):
        users.create_reset_link(rt, actor_id=learner, user_id=other, base_url="http://x")
    with pytest.raises(Forbidden):
        signup.create_invitation(rt, actor_id=learner, days=1, max_uses=1, email="k@example.com")
    assert inbox.messages == []
    with rt.session_factory() as s:
        assert s.scalar(select(PasswordReset.id)) is None


def test_starttls_is_required_when_asked_for(rt, inbox):
    strict = rt.with_settings(rt.settings.replace(smtp_tls="starttls"))
    with pytest.raises(MailNotSent, match="does not offer STARTTLS"):
        send_mail(strict.settings, to="ada@example.com", subject="s", body="b")
    assert inbox.messages == []


def test_the_smtp_sign_in_is_used_and_no_secret_is_logged(runtime, make_user, caplog):
    with smtp_server(with_login=True) as inbox:
        rt = runtime.with_settings(
            mail_settings(
                runtime.settings,
                inbox.port,
                smtp_username="groundwork",
                smtp_password="smtp-Secret-9f3k",
            ),
        )
        admin = make_admin(rt, make_user)
        uid = make_user("ada@example.com")
        with caplog.at_level(logging.DEBUG):
            _forgot(rt, "ada@example.com")
            token = token_in(inbox.messages[0], "reset")
            reset_password_with_token(rt, token=token, new_password=NEW_PASSWORD)
            link = users.create_reset_link(rt, actor_id=admin, user_id=uid, base_url="http://x")
            inv = signup.create_invitation(
                rt, actor_id=admin, days=1, max_uses=1, email="kim@example.com"
            )
            failed = rt.with_settings(mail_settings(rt.settings, free_port()))
            _forgot(failed, "ada@example.com")
    assert inbox.logins == [("groundwork", "smtp-Secret-9f3k")] * 3
    # Every record but the test SMTP server's own ("mail.log", which logs what it receives).
    ours = [r for r in caplog.records if r.name != "mail.log"]
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in ours)
    assert "password reset requested" in text and "email not sent" in text
    for secret in (token, link.url.split("reset=")[1], inv.token, NEW_PASSWORD, "smtp-Secret-9f3k"):
        assert secret not in text


def test_old_requests_are_pruned_and_live_links_stay(rt, inbox, make_user):
    make_user("ada@example.com")
    now = dt.datetime.now(dt.UTC)
    _forgot(rt, "nobody@example.com", now=now - dt.timedelta(days=100))
    _forgot(rt, "ada@example.com", now=now - dt.timedelta(days=100))
    _forgot(rt, "ada@example.com")
    live = token_in(inbox.messages[-1], "reset")
    assert prune_password_resets(rt, older_than=dt.timedelta(days=90), now=now) == 2
    assert reset_problem(rt, live) is None
    reset_password_with_token(rt, token=live, new_password=NEW_PASSWORD)
