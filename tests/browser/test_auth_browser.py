"""In a real browser: a cookie signed with a key this server does not hold, or naming a revoked
session, does not sign anyone in; the cookie is Secure when configured and gone after logout;
the device cookie outlasts an attacker; the favicon comes from the app."""

from __future__ import annotations

import datetime as dt
import secrets
import urllib.parse
import urllib.request

import jwt
import pytest

from engine import accounts
from engine.accounts import get_account
from engine.errors import AccountLocked, AuthenticationFailed
from tests.browser.conftest import (
    signup_and_onboard,
    wait_cookie_component,
    wait_for_cookie,
    wait_for_text,
)

COOKIE = "groundwork_auth"
OLD_PUBLIC_KEY = "groundwork-development-cookie-key-change-me-0123456789"


def _visit_with_cookie(page, url: str, token: str) -> str:
    """Open the app carrying only `token` as the login cookie; 'in' or 'out'."""
    page.context.clear_cookies()
    page.context.add_cookies([{"name": COOKIE, "value": token, "url": url}])
    page.goto(url)
    signed_in = page.get_by_text("Hello, Cora")
    signed_out = page.get_by_text("Welcome to Groundwork")
    signed_in.or_(signed_out).first.wait_for(state="visible")
    wait_cookie_component(page)  # the run after it has read the cookie decides
    return "in" if signed_in.count() else "out"


def test_forged_and_revoked_cookies_do_not_sign_in(page, app_server):
    email = signup_and_onboard(page, app_server.url, name="Cora")
    cookie = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    assert cookie["sameSite"] == "Strict" and cookie["secure"] is False  # plain http, 'auto'
    rt = app_server.runtime
    account = get_account(rt, email=email)
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)

    live = accounts.start_session(rt, account=account)
    assert _visit_with_cookie(page, app_server.url, live.token) == "in"  # the control

    foreign_key = secrets.token_urlsafe(48)
    forged = accounts.sign_token(live.session_id, future, foreign_key)
    assert _visit_with_cookie(page, app_server.url, forged) == "out"

    old_style = jwt.encode(
        {"username": email, "exp_date": future.timestamp()}, OLD_PUBLIC_KEY, algorithm="HS256"
    )
    assert _visit_with_cookie(page, app_server.url, old_style) == "out"

    accounts.revoke_session(rt, session_id=live.session_id)
    assert _visit_with_cookie(page, app_server.url, live.token) == "out"


def test_cookie_is_secure_when_configured(page, start_app):
    server = start_app({"GROUNDWORK_COOKIE_SECURE": "always"})
    signup_and_onboard(page, server.url, name="Sami")
    cookie = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    assert cookie["secure"] is True and cookie["sameSite"] == "Strict"


def test_logout_removes_the_session_cookie_and_the_known_browser_outlasts_an_attacker(
    page, app_server
):
    """Logging out deletes the session cookie from the browser (it is set by a script, so it
    cannot be HttpOnly); the device cookie stays, and lets this browser sign in with the right
    password while strangers' failures lock the email for every other browser."""
    email = signup_and_onboard(page, app_server.url, name="Dana")
    wait_for_cookie(page, f"{COOKIE}_device")
    names = {c["name"]: c for c in page.context.cookies()}
    assert COOKIE in names and names[f"{COOKIE}_device"]["sameSite"] == "Strict"
    page.get_by_role("button", name="Log out").click()
    wait_for_text(page, "Welcome to Groundwork")
    wait_for_cookie(page, COOKIE, present=False)
    names = {c["name"] for c in page.context.cookies()}
    assert COOKIE not in names and f"{COOKIE}_device" in names

    rt = app_server.runtime
    for i in range(rt.settings.accounts.login_max_failures):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate(
                rt, email=email, password=f"attacker guess {i}", client_address="198.51.100.200"
            )
    with pytest.raises(AccountLocked):
        accounts.authenticate(rt, email=email, password="correct horse battery staple")
    page.reload()  # the owner comes back later (a page load sends the browser's cookies)
    wait_for_text(page, "Welcome to Groundwork")
    wait_cookie_component(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    wait_for_text(page, "Hello, Dana")


def test_the_favicon_is_served_by_the_app(page, app_server):
    page.goto(app_server.url)
    wait_for_text(page, "Welcome to Groundwork")
    href = page.locator("link[rel~='icon']").first.get_attribute("href")
    url = urllib.parse.urljoin(app_server.url + "/", href)
    assert url.startswith(app_server.url), url  # not a font server on the internet
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200 and r.read().startswith(b"\x89PNG")
