"""Profile & settings: export my data, delete my account (typed confirmation)."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from engine.db.models import User
from tests.app.conftest import run_root


def _profile(signed_in_app, email):
    at = signed_in_app(email)
    at.switch_page("pages/profile.py").run()
    assert not at.exception
    return at


def test_export_offers_a_zip_download(signed_in_app):
    at = _profile(signed_in_app, "export-page@example.com")
    assert not at.get("download_button")
    at.button(key="export_prepare").click().run()
    deadline = time.monotonic() + 120
    while not at.get("download_button"):  # the zip is prepared by a background job
        assert time.monotonic() < deadline, "export did not finish"
        assert not at.exception and not at.error
        time.sleep(0.2)
        at.run()
    assert not at.exception and not at.error
    downloads = at.get("download_button")
    assert len(downloads) == 1 and "groundwork-export.zip" in downloads[0].proto.label


def _users(runtime, email):
    with runtime.session_factory() as s:
        return s.scalar(select(func.count()).select_from(User).where(User.email == email))


def test_delete_needs_the_typed_email_then_removes_the_account(signed_in_app, runtime):
    email = "delete-page@example.com"
    at = _profile(signed_in_app, email)

    at.text_input(key="delete_confirm").input("someone-else@example.com")
    at.button(key="FormSubmitter:delete_account-Delete my account permanently").click().run()
    assert "type its email address exactly" in at.error[0].value
    assert _users(runtime, email) == 1

    at.text_input(key="delete_confirm").input(email)
    at.button(key="FormSubmitter:delete_account-Delete my account permanently").click().run()
    assert not at.exception
    assert _users(runtime, email) == 0
    assert "gw_account" not in at.session_state  # signed out: the session state was emptied
    at = run_root(at)
    assert not at.exception
    assert any("were deleted" in i.value for i in at.info)  # on the login page
