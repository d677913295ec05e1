"""In a real browser: a cookie signed with a key this server does not hold, or naming a revoked
session, does not sign anyone in; the cookie is Secure when configured."""

from __future__ import annotations

import datetime as dt
import secrets

import jwt

from engine import accounts
from engine.accounts import get_account
from tests.browser.conftest import signup_and_onboard, wait_idle

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
    wait_idle(page)
    page.wait_for_timeout(500)
    wait_idle(page)
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

    old_style = jwt.encode({"username": email, "exp_date": future.timestamp()}, OLD_PUBLIC_KEY,
                           algorithm="HS256")
    assert _visit_with_cookie(page, app_server.url, old_style) == "out"

    accounts.revoke_session(rt, session_id=live.session_id)
    assert _visit_with_cookie(page, app_server.url, live.token) == "out"


def test_cookie_is_secure_when_configured(page, start_app):
    server = start_app({"GROUNDWORK_COOKIE_SECURE": "always"})
    signup_and_onboard(page, server.url, name="Sami")
    cookie = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    assert cookie["secure"] is True and cookie["sameSite"] == "Strict"
