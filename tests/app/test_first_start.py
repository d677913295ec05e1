"""The first start on an empty data folder: the sign-in pages show while the embedded
PostgreSQL is created and migrated, and a sent form waits for it."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine.config import get_settings
from tests.app.conftest import APP, TIMEOUT, run_root

PASSWORD = "correct horse battery staple"


def test_a_first_start_shows_sign_in_at_once_and_sign_up_waits_for_the_database(monkeypatch):
    import ui.runtime

    # Outside pytest's basetemp: the embedded server's own user must reach the folder.
    data = Path(tempfile.mkdtemp(prefix="groundwork-test-first-")) / "data"
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("GROUNDWORK_DATA_DIR", str(data))
    monkeypatch.setenv("GROUNDWORK_EMBEDDING_WARM_UP", "false")  # no model build: nothing embeds
    get_settings.cache_clear()
    ui.runtime.reset_runtime()
    # Hold the database start until the test lets it go, so "not ready yet" is certain.
    gate = threading.Event()
    create = ui.runtime._create

    def held_create():
        assert gate.wait(120)
        return create()

    monkeypatch.setattr(ui.runtime, "_create", held_create)
    try:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
        assert not at.exception
        assert at.title[0].value == "Welcome to Groundwork"
        assert at.text_input(key="login_email") is not None
        assert ui.runtime.creating_database()  # drawn while the database was not there yet

        at.switch_page("pages/register.py").run()
        assert not at.exception and ui.runtime.creating_database()
        at.text_input(key="register_name").input("Ada")
        at.text_input(key="register_email").input("ada@example.com")
        at.text_input(key="register_password").input(PASSWORD)
        at.text_input(key="register_confirm").input(PASSWORD)
        gate.set()  # the form is sent: it waits for the database, then creates the account
        at.button[0].click()
        at.run()
        assert not at.exception
        assert at.session_state["gw_account"].display_name == "Ada"
        assert not ui.runtime.creating_database()
        at = run_root(at)
        assert at.title[0].value == "Welcome, Ada"  # onboarding, from the new database
    finally:
        gate.set()
        ui.runtime.reset_runtime()
        get_settings.cache_clear()


def test_a_start_on_an_existing_database_waits_for_it_before_any_page(new_app):
    """With DATABASE_URL (or an existing data folder) nothing is being created: app.py waits for
    the runtime as before, so an unreachable database shows its own page (see
    test_foundation_pages) and a signed-in browser is recognised on its first run."""
    import ui.runtime

    at = new_app().run()
    assert not at.exception
    assert not ui.runtime.creating_database()
    assert at.title[0].value == "Welcome to Groundwork"
