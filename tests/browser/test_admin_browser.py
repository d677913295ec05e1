"""In a real browser: a learner opening /admin is refused and sees no data; an invitation link
signs a new learner up; single sign-on against a local OpenID Connect provider (started here)
creates the account from the verified email and refuses an unverified one."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from engine.accounts import get_account
from engine.admin import signup
from engine.db.models import SsoIdentity
from tests.browser.conftest import (
    TIMEOUT_MS,
    _free_port,
    open_page,
    signup_and_onboard,
    wait_cookie_component,
    wait_for_text,
    wait_idle,
)

PASSWORD = "correct horse battery staple"


def _settle(page) -> None:
    wait_cookie_component(page)  # it reruns the app once after load


@contextmanager
def _other_browser(page) -> Iterator:
    """A page in a fresh browser context: another person, with no cookies or session."""
    context = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_a_learner_opening_admin_is_refused_and_sees_no_data(page, app_server):
    from engine.accounts import register_user

    register_user(
        app_server.runtime,
        email="hidden-person@example.com",
        password=PASSWORD,
        display_name="Hidden Person",
    )
    signup_and_onboard(page, app_server.url, name="Pupil")
    assert page.get_by_text("Admin console").count() == 0  # not in the navigation
    page.goto(f"{app_server.url}/admin")
    wait_for_text(page, "Only administrators can do this")
    _settle(page)
    assert page.get_by_text("hidden-person").count() == 0
    assert page.locator('[data-testid="stDataFrame"]').count() == 0


def test_an_invitation_link_signs_a_learner_up(page, start_app):
    server = start_app({"GROUNDWORK_SIGNUP_MODE": "invite"})
    rt = server.runtime
    from engine.accounts import register_user

    boss = register_user(
        rt,
        email="boss@example.com",
        password=PASSWORD,
        display_name="Boss",
        by_admin=True,
        role="admin",
    )
    invitation = signup.create_invitation(rt, actor_id=boss.user_id, days=7, max_uses=1)
    page.goto(server.url)
    wait_for_text(page, "Welcome to Groundwork")  # no link: the login page
    _settle(page)
    open_page(page, "Sign up", "by invitation")
    assert page.get_by_label("Email").count() == 0
    page.goto(f"{server.url}/?invite={invitation.token}")  # the link opens Sign up
    wait_for_text(page, "You were invited")
    _settle(page)
    page.get_by_label("Display name").fill("Kim")
    page.get_by_label("Email").fill("kim@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    wait_for_text(page, "Welcome, Kim")
    assert get_account(rt, email="kim@example.com").role == "learner"
    # Someone else opens the same link in their own browser. (Clearing this tab's cookies is
    # not enough: the sign-in cookie can be written just after, and Streamlit may resume the
    # tab's session on reload.)
    with _other_browser(page) as other:
        other.goto(f"{server.url}/?invite={invitation.token}")
        wait_for_text(other, "used as many times as it allows")


@pytest.fixture
def oidc_app(start_app, tmp_path):
    """The app with single sign-on against a local mock OpenID Connect provider."""
    from oidc_provider_mock import User, run_server_in_thread

    people = [
        User(
            sub="kim",
            claims={"email": "kim@school.example", "email_verified": True, "name": "Kim Lee"},
        ),
        User(
            sub="sam",
            claims={"email": "sam@school.example", "email_verified": False, "name": "Sam"},
        ),
    ]
    with run_server_in_thread(user_claims=people) as provider:
        port = _free_port()
        path = tmp_path / "secrets.toml"
        path.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(32)}"\n'
            'client_id = "groundwork"\n'
            f'client_secret = "{secrets.token_hex(16)}"\n'
            f'server_metadata_url = "http://127.0.0.1:{provider.server_port}'
            '/.well-known/openid-configuration"\n'
        )
        yield start_app(
            {"GROUNDWORK_SIGNUP_MODE": "sso"}, args=("--secrets.files", str(path)), port=port
        )


def _sign_in_at_provider(page, server, subject: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.goto(server.url)
    wait_for_text(page, "Welcome to Groundwork")
    _settle(page)
    sso = page.get_by_role("button", name="Sign in with single sign-on")
    person = page.get_by_role("button", name=subject, exact=True)  # on the provider's page
    sso.click()
    # A rerun the cookie component asks for can stop the click's run before it reaches
    # `st.login` (seen once in CI): a person clicks again, and so does this, once.
    try:
        person.wait_for(timeout=30_000)
    except PlaywrightTimeoutError:
        if not sso.is_visible():
            raise
        wait_idle(page)
        sso.click()
    person.click()


def test_oidc_sign_in_creates_the_account_and_refuses_an_unverified_email(page, oidc_app):
    _sign_in_at_provider(page, oidc_app, "kim")
    wait_for_text(page, "Welcome, Kim Lee")  # onboarding of the new account
    account = get_account(oidc_app.runtime, email="kim@school.example")
    assert (account.role, account.onboarded) == ("learner", False)
    with oidc_app.runtime.session_factory() as s:
        assert s.scalars(select(SsoIdentity.subject)).all() == ["kim"]
    _settle(page)
    page.get_by_role("button", name="Log out").click()  # ends the provider identity too:
    # Streamlit sends the browser to the provider's end-session page when it can read the
    # provider's metadata in time, else straight back to the app: both forget the identity.
    end_session = page.get_by_role("button", name="End session")
    welcome = page.get_by_text("Welcome to Groundwork")
    end_session.or_(welcome).first.wait_for()
    if end_session.count():
        end_session.click()
    wait_for_text(page, "Welcome to Groundwork")
    _settle(page)
    page.reload()
    wait_for_text(page, "Welcome to Groundwork")  # not signed straight back in
    _settle(page)
    assert page.get_by_text("Welcome, Kim Lee").count() == 0
    _sign_in_at_provider(page, oidc_app, "kim")
    wait_for_text(page, "Welcome, Kim Lee")  # the same account again
    with oidc_app.runtime.session_factory() as s:
        assert s.scalars(select(SsoIdentity.user_id)).all() == [account.user_id]

    with _other_browser(page) as other:
        _sign_in_at_provider(other, oidc_app, "sam")
        wait_for_text(other, "did not confirm your email")
    from engine.errors import NotFound

    with pytest.raises(NotFound):
        get_account(oidc_app.runtime, email="sam@school.example")
