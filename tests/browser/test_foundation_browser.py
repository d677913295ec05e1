"""The first journey a person makes: sign up, onboard, see Home, log out, log back in."""

from __future__ import annotations

from engine.accounts import get_account
from engine.profiles import get_profile
from tests.browser.conftest import signup_and_onboard, wait_for_cookie, wait_for_text


def test_signup_onboarding_home_logout_login(page, app_server):
    email = signup_and_onboard(page, app_server.url, name="Marie")
    wait_for_text(page, "Start by uploading a PDF")
    account = get_account(app_server.runtime, email=email)
    profile = get_profile(app_server.runtime, user_id=account.user_id)
    assert profile.onboarded and profile.subjects == "Physics"
    assert profile.self_level == "intermediate"

    page.get_by_role("button", name="Log out").click()
    wait_for_text(page, "Welcome to Groundwork")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill("wrong password!!")
    page.get_by_role("button", name="Log in").click()
    wait_for_text(page, "Wrong email or password.")
    page.get_by_label("Password", exact=True).fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    wait_for_text(page, "Hello, Marie")


def test_signed_cookie_keeps_the_learner_signed_in_across_reloads(page, app_server):
    signup_and_onboard(page, app_server.url, name="Pierre")
    wait_for_cookie(page, "groundwork_auth")  # the cookie component stores the signed token
    page.reload()
    wait_for_text(page, "Hello, Pierre")
    page.get_by_role("button", name="Log out").click()
    wait_for_text(page, "Welcome to Groundwork")
    wait_for_cookie(page, "groundwork_auth", present=False)
    page.reload()
    wait_for_text(page, "Welcome to Groundwork")
