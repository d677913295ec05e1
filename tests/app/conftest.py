"""AppTest helpers: the app runs against the test's own database and data folder."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.accounts import get_account, start_session

TIMEOUT = 60
APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def new_app(settings) -> Callable[[], AppTest]:
    """Factory for a fresh AppTest of app.py; the cached runtime is rebuilt for this test."""
    from ui.runtime import reset_runtime

    reset_runtime()

    def _new() -> AppTest:
        return AppTest.from_file(APP, default_timeout=TIMEOUT)

    yield _new
    reset_runtime()  # closes the app's runtime, its worker thread included


@pytest.fixture
def signed_in_app(new_app, runtime, make_user) -> Callable[..., AppTest]:
    """An AppTest whose session is signed in as a new (onboarded) learner."""

    def _signed_in(email: str | None = None, *, onboarded: bool = True) -> AppTest:
        uid = make_user(email, onboarded=onboarded)
        from engine.db.models import User

        with runtime.session_factory() as s:
            email_ = s.get(User, uid).email
        at = new_app()
        account = get_account(runtime, email=email_)
        signed = start_session(runtime, account=account)
        at.session_state["gw_account"] = account
        at.session_state["gw_session"] = signed.session_id
        return at.run()

    return _signed_in


def run_root(at: AppTest) -> AppTest:
    """Run app.py as a browser on the app's root URL does (default page of the navigation).

    After a page has finished, AppTest requests that page's script directly on the next
    run, bypassing app.py (its sign-in gate, sidebar and navigation). Clearing the
    requested page makes the next run go through app.py, as Streamlit does in a browser.
    """
    at._page_hash = ""
    at._finished_page_script_hash = ""
    return at.run()


def click_generate(at: AppTest, timeout_s: float = 120.0) -> AppTest:
    """Click Generate and rerun until the background generation job has been shown."""
    next(b for b in at.button if b.label == "Generate").click().run()
    deadline = time.monotonic() + timeout_s
    while at.session_state["gen_job"]:
        assert time.monotonic() < deadline, "generation did not finish"
        assert not at.exception
        time.sleep(0.1)
        at.run()
    return at
