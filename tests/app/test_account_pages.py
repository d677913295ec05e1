"""AppTest: logout leaves nothing of one learner for the next, revoked sessions end at once,
sign-up modes, password change on Profile & settings, overlong passwords at login."""

from __future__ import annotations

import pytest

from engine import accounts
from engine.config import get_settings
from tests.app.conftest import click_generate, run_root
from tests.support.generation_data import BIOLOGY, add_material

PASSWORD = "correct horse battery staple"


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [t.value for t in at.title]
    return "\n".join(str(p) for p in parts).replace("\\", "")


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def _log_in(at, email, password=PASSWORD):
    at.text_input(key="login_email").input(email)
    at.text_input(key="login_password").input(password)
    _button(at, "Log in").click()
    return at.run()


def test_after_a_logs_out_b_on_the_same_tab_sees_nothing_of_a(signed_in_app, runtime, make_user):
    at = signed_in_app("a@example.com")
    a_id = at.session_state["gw_account"].user_id
    add_material(runtime.session_factory, a_id, "A's private biology notes", BIOLOGY)
    at.switch_page("pages/generate.py").run()
    at.number_input(key="gen_count").set_value(3)
    click_generate(at)
    assert "3 of 3 question(s) passed the checks" in _texts(at)
    drafts = at.session_state["gen_preview"]
    assert drafts is not None  # A's drafts (verbatim PDF text) sit in the session state

    run_root(at)
    at.sidebar.button(key="gw_logout").click()
    run_root(at)
    assert "gen_preview" not in at.session_state
    make_user("b@example.com", display_name="Bea")
    _log_in(at, "b@example.com")
    assert at.session_state["gw_account"].display_name == "Bea"
    run_root(at)
    at.switch_page("pages/generate.py").run()
    assert not at.exception
    shown = _texts(at)
    assert "passed the checks" not in shown and "biology" not in shown.lower()
    assert at.session_state["gen_preview"] is None
    assert "no materials yet" in shown


def test_a_session_revoked_elsewhere_signs_this_tab_out_on_its_next_run(signed_in_app, runtime):
    at = signed_in_app()
    assert at.title[0].value.startswith("Hello")
    with runtime.session_factory.begin() as s:
        accounts.revoke_user_sessions(s, user_id=at.session_state["gw_account"].user_id)
    run_root(at)
    assert not at.exception
    assert at.title[0].value == "Welcome to Groundwork"
    assert "You were signed out" in _texts(at)
    assert "gw_account" not in at.session_state


def test_login_with_a_ten_thousand_character_password_is_a_failed_login(new_app, make_user):
    make_user("ada@example.com")
    at = _log_in(new_app().run(), "ada@example.com", "p" * 10_000)
    assert not at.exception
    assert "Wrong email or password." in _texts(at)


def test_a_login_starts_a_server_side_session(new_app, make_user, runtime):
    make_user("ada@example.com")
    at = _log_in(new_app().run(), "ada@example.com")
    session_id = at.session_state["gw_session"]
    assert accounts.resume_session(runtime, session_id=session_id).email == "ada@example.com"
    run_root(at)
    at.sidebar.button(key="gw_logout").click()
    run_root(at)
    assert accounts.resume_session(runtime, session_id=session_id) is None


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("invite", "Sign-up on this server is by invitation"),
        ("closed", "This server does not take new accounts"),
    ],
)
def test_sign_up_page_says_when_sign_up_is_not_open(settings, monkeypatch, new_app, mode, message):
    monkeypatch.setenv("GROUNDWORK_SIGNUP_MODE", mode)
    get_settings.cache_clear()
    at = new_app().run()
    assert "created by the person who runs it" in _texts(at)
    at.switch_page("pages/register.py").run()
    assert not at.exception
    assert message in _texts(at)
    assert not [t for t in at.text_input if t.key == "register_email"]


def test_sign_up_page_offers_the_form_when_open(new_app):
    at = new_app().run()
    at.switch_page("pages/register.py").run()
    assert at.text_input(key="register_email") is not None


def _change(at, current, new, repeat=None):
    at.text_input(key="password_change_current").input(current)
    at.text_input(key="password_change_new").input(new)
    at.text_input(key="password_change_repeat").input(repeat if repeat is not None else new)
    _button(at, "Change password").click()
    return at.run()


def test_password_change_on_profile_signs_out_other_sessions(signed_in_app, runtime):
    at = signed_in_app("ada@example.com")
    account = at.session_state["gw_account"]
    elsewhere = accounts.start_session(runtime, account=account)
    at.switch_page("pages/profile.py").run()
    _change(at, "not my password!", "a brand new passphrase 7")
    assert "Your current password is not right." in _texts(at)
    _change(at, PASSWORD, "a brand new passphrase 7", "a different passphrase 8")
    assert "two new passwords differ" in _texts(at)
    _change(at, PASSWORD, "a brand new passphrase 7")
    assert not at.exception
    assert "Password changed. 1 other session signed out." in _texts(at)
    assert accounts.resume_session(runtime, session_id=elsewhere.session_id) is None
    assert run_root(at).title[0].value.startswith("Hello")  # this tab stays signed in
    assert accounts.authenticate(
        runtime, email="ada@example.com", password="a brand new passphrase 7"
    )


def test_cookie_writes_stay_on_the_page_until_the_browser_reports_them(new_app, make_user):
    """The cookie component writes once its frame has loaded and then reports back. A learner
    who clicks on before that must not lose the cookie: the writes stay on the page, with the
    same options (the same frame), run after run, until reported (AppTest has no browser, so
    none ever is); logging out replaces them with the removal."""
    make_user("stay@example.com", display_name="Stay")
    at = new_app()
    run_root(at)
    _log_in(at, "stay@example.com")
    run_root(at)  # the run after signing in (a browser gets it from the page's st.rerun)
    first = at.session_state["gw_cookie_writes"]
    settings = get_settings()
    assert [(w["method"], w["cookie"]) for w in first] == [
        ("set", settings.accounts.cookie_name),
        ("set", f"{settings.accounts.cookie_name}_device"),
    ]
    frames = [c for c in at.get("component_instance") if "cookie_manager" in str(c.proto)]
    assert len(frames) == 3  # the reading of the cookies and the two writes
    for _ in range(2):  # the learner clicks on; the browser has not reported the writes yet
        run_root(at)
        assert at.session_state["gw_cookie_writes"] == first
    at.sidebar.button(key="gw_logout").click()
    run_root(at)
    writes = at.session_state["gw_cookie_writes"]
    assert [(w["method"], w["cookie"]) for w in writes] == [
        ("delete", settings.accounts.cookie_name)
    ]
