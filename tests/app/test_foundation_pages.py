"""AppTest journeys for sign-up, login, onboarding, profile and home."""

from __future__ import annotations

from engine import profiles
from tests.app.conftest import run_root

PASSWORD = "correct horse battery staple"


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [m.value for m in at.caption]
    parts += (
        [e.value for e in at.error] + [i.value for i in at.info] + [s.value for s in at.success]
    )
    parts += [t.value for t in at.title] + [h.value for h in at.subheader]
    return "\n".join(str(p) for p in parts)


def _register(at, *, email="ada@example.com", password=PASSWORD, confirm=None, name="Ada"):
    at.text_input(key="register_name").input(name)
    at.text_input(key="register_email").input(email)
    at.text_input(key="register_password").input(password)
    at.text_input(key="register_confirm").input(confirm if confirm is not None else password)
    at.button[0].click()  # the form's submit button
    return at.run()


def test_signed_out_visitor_sees_login(new_app):
    at = new_app().run()
    assert not at.exception
    assert at.title[0].value == "Welcome to Groundwork"
    assert at.text_input(key="login_email") is not None


def test_register_then_onboarding_then_home(new_app, runtime):
    at = new_app().run()
    at.switch_page("pages/register.py").run()
    at = _register(at)
    assert not at.exception
    assert at.session_state["gw_account"].display_name == "Ada"
    # Signed in but not onboarded: the app opens on onboarding.
    at = run_root(at)
    assert at.title[0].value == "Welcome, Ada"

    at.text_area(key="onboarding_goals").input("Pass the pharmacology exam")
    at.text_input(key="onboarding_subjects").input("Pharmacology")
    at.selectbox(key="onboarding_level").select("beginner")
    at.number_input(key="onboarding_target").set_value(25)
    at.selectbox(key="onboarding_tz").select("Europe/Berlin")
    at.button[0].click()
    at.run()
    assert not at.exception
    assert at.session_state["gw_account"].onboarded
    at = run_root(at)
    assert at.title[0].value == "Hello, Ada"
    assert "uploading a PDF" in _texts(at)
    assert not at.metric  # no practice yet: no level/XP/streak figures

    account = at.session_state["gw_account"]
    view = profiles.get_profile(runtime, user_id=account.user_id)
    assert view.onboarded and view.daily_target == 25 and view.timezone == "Europe/Berlin"
    assert view.self_level == "beginner" and view.subjects == "Pharmacology"


def test_onboarding_without_level_shows_a_clear_error(signed_in_app):
    at = signed_in_app(onboarded=False)
    assert at.title[0].value.startswith("Welcome,")
    at.button[0].click()
    at.run()
    assert not at.exception
    assert "Choose your level" in _texts(at)
    assert at.title[0].value.startswith("Welcome,")  # still onboarding


def test_registration_errors_are_shown_not_raised(new_app):
    at = new_app().run()
    at.switch_page("pages/register.py").run()
    at = _register(at, password="short")
    assert not at.exception
    assert "at least 12 characters" in _texts(at)
    at = _register(at, confirm="something else entirely")
    assert "two passwords differ" in _texts(at)


def test_duplicate_registration_is_refused(new_app, make_user):
    make_user("ada@example.com")
    at = new_app().run()
    at.switch_page("pages/register.py").run()
    at = _register(at, email="ADA@example.com")
    assert "already exists" in _texts(at)


def test_login_wrong_password_then_right_password(new_app, make_user):
    make_user("ada@example.com", display_name="Ada")
    at = new_app().run()
    at.text_input(key="login_email").input("ada@example.com")
    at.text_input(key="login_password").input("wrong password!!")
    at.button[0].click()
    at.run()
    assert "Wrong email or password." in _texts(at)
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click()
    at.run()
    assert not at.exception
    assert at.session_state["gw_account"].display_name == "Ada"
    assert run_root(at).title[0].value == "Hello, Ada"


def test_lockout_message_after_repeated_failures(new_app, make_user):
    make_user("ada@example.com")
    at = new_app().run()
    for _ in range(5):
        at.text_input(key="login_email").input("ada@example.com")
        at.text_input(key="login_password").input("wrong password!!")
        at.button[0].click()
        at.run()
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click()
    at.run()
    assert "Too many failed logins" in _texts(at)


def test_logout_returns_to_login(signed_in_app):
    at = signed_in_app()
    assert at.title[0].value.startswith("Hello")
    at.sidebar.button(key="gw_logout").click()
    run_root(at)
    assert not at.exception
    assert "gw_account" not in at.session_state and "gw_session" not in at.session_state
    assert run_root(at).title[0].value == "Welcome to Groundwork"


def test_profile_edit_is_saved(signed_in_app, runtime):
    at = signed_in_app()
    at.switch_page("pages/profile.py").run()
    assert not at.exception
    at.text_input(key="profile_name").input("Ada Lovelace")
    at.number_input(key="profile_target").set_value(40)
    at.button[0].click()
    at.run()
    assert "Saved." in _texts(at)
    uid = at.session_state["gw_account"].user_id
    view = profiles.get_profile(runtime, user_id=uid)
    assert view.display_name == "Ada Lovelace" and view.daily_target == 40


def test_unreachable_database_shows_a_clear_page(new_app, monkeypatch):
    from engine.config import get_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:secret@127.0.0.1:1/none")
    get_settings.cache_clear()
    at = new_app().run()
    assert not at.exception
    assert at.title[0].value == "Groundwork cannot start"
    assert "Cannot reach the database" in at.error[0].value
    assert "secret" not in at.error[0].value
