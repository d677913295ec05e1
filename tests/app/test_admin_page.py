"""AppTest: the admin console (/admin) for an admin (every section, account actions, sign-up
mode, invitations) and for a learner (listed nowhere, refused by the engine, no data); an
invitation link on the Sign up page."""

from __future__ import annotations

import pytest

from engine.accounts import get_account, resume_session, start_session
from engine.admin import signup, users
from engine.db.models import User
from tests.app.conftest import run_root
from ui.admin import SECTIONS

PASSWORD = "correct horse battery staple"


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [t.value for t in at.title]
    parts += [s.value for s in at.subheader] + [c.value for c in at.code]
    parts += [w.value for w in at.warning]
    return "\n".join(str(p) for p in parts).replace("\\", "").replace("\u200b", "")


def _frames(at) -> str:
    return "\n".join(df.value.to_string() for df in at.dataframe)


@pytest.fixture
def admin_app(signed_in_app, runtime):
    at = signed_in_app("root@example.com")
    users.set_role_by_email(runtime, email="root@example.com", role="admin")
    run_root(at)  # the next run knows the new role
    return at


def _open_admin(at):
    at.switch_page("pages/admin.py").run()
    assert not at.exception, at.exception
    return at


def test_a_learner_opening_admin_is_refused_and_sees_no_data(signed_in_app, make_user):
    make_user("secret-person@example.com", display_name="Hidden Name")
    at = signed_in_app("pupil@example.com")
    _open_admin(at)
    shown = _texts(at)
    assert "Only administrators can do this" in shown
    assert "secret-person" not in shown + _frames(at) and not at.dataframe
    assert not at.text_input and not at.button


def test_the_console_is_in_the_navigation_for_admins_only(signed_in_app, runtime, monkeypatch):
    import streamlit

    listed: list[list[str]] = []
    original = streamlit.navigation

    def recording(pages, **kwargs):
        flat = (
            [p for group in pages.values() for p in group]
            if isinstance(pages, dict)
            else list(pages)
        )
        listed.append([p.title for p in flat if p.visibility == "visible"])
        return original(pages, **kwargs)

    monkeypatch.setattr(streamlit, "navigation", recording)
    signed_in_app("pupil@example.com")
    assert listed and "Admin console" not in listed[-1] and "Profile & settings" in listed[-1]
    at = signed_in_app("root@example.com")
    users.set_role_by_email(runtime, email="root@example.com", role="admin")
    run_root(at)
    assert "Admin console" in listed[-1]


def test_an_admin_sees_every_section(admin_app, make_user):
    make_user("zoe@school.example", display_name="Zoe")
    at = _open_admin(admin_app)
    assert "zoe@school.example" in _frames(at)
    for section in SECTIONS[1:]:
        at.segmented_control(key="admin_section").set_value(section).run()
        assert not at.exception, (section, at.exception)
        assert not at.error, (section, [e.value for e in at.error])
    assert "set_role" in _frames(at)  # the audit log shows the promotion


def test_an_admin_disables_an_account_and_its_session_ends(admin_app, runtime, make_user):
    uid = make_user("zoe@school.example")
    signed = start_session(runtime, account=get_account(runtime, email="zoe@school.example"))
    at = _open_admin(admin_app)
    at.text_input(key="admin_user_query").input("zoe").run()
    assert at.selectbox(key="admin_user_pick").value == uid
    assert at.button(key="admin_disable").disabled  # not confirmed yet
    assert resume_session(runtime, session_id=signed.session_id) is not None
    at.checkbox(key=f"admin_disable_sure_{uid}").check().run()
    at.button(key="admin_disable").click().run()
    assert not at.exception
    assert "zoe@school.example is disabled" in _texts(at)
    assert resume_session(runtime, session_id=signed.session_id) is None
    at.button(key="admin_enable").click().run()
    assert "can sign in again" in _texts(at)


def test_an_admin_cannot_remove_the_last_admin_role_from_the_console(admin_app, runtime):
    at = _open_admin(admin_app)
    me = admin_app.session_state["gw_account"].user_id
    at.text_input(key="admin_user_query").input("root@").run()
    at.selectbox(key=f"admin_new_role_{me}").set_value("learner")
    at.checkbox(key=f"admin_role_sure_{me}").check()
    next(b for b in at.button if b.label == "Change role").click().run()
    assert not at.exception
    assert "only administrator account" in _texts(at)
    assert get_account(runtime, email="root@example.com").role == "admin"


def test_an_admin_gives_a_temporary_password_shown_once(admin_app, runtime, make_user):
    make_user("zoe@school.example")
    at = _open_admin(admin_app)
    at.text_input(key="admin_user_query").input("zoe").run()
    at.button(key="admin_temp_password").click().run()
    password = at.code[0].value
    from engine.accounts import authenticate

    assert authenticate(runtime, email="zoe@school.example", password=password)
    at.run()
    assert not at.code  # shown once


def test_hostile_names_are_shown_literally(admin_app, runtime, make_user):
    uid = make_user("eve@example.com")
    with runtime.session_factory.begin() as s:
        s.get(User, uid).display_name = "Eve ![x](http://127.0.0.1:9/p.png)"
    at = _open_admin(admin_app)
    at.text_input(key="admin_user_query").input("eve").run()
    assert not at.exception
    for md in [m.value for m in at.markdown] + [s.value for s in at.subheader]:
        assert "](http" not in str(md)


def test_sign_up_mode_and_invitation_link_from_the_console(admin_app, runtime, new_app):
    at = _open_admin(admin_app)
    at.segmented_control(key="admin_section").set_value("Sign-up").run()
    at.radio(key="admin_mode").set_value("invite")
    next(b for b in at.button if b.label == "Save sign-up mode").click().run()
    assert not at.exception
    at.number_input(key="admin_inv_uses").set_value(1)
    at.text_input(key="admin_inv_note").input("Class 4B")
    next(b for b in at.button if b.label == "Create invitation link").click().run()
    link = at.code[0].value
    assert "/?invite=" in link
    token = link.split("invite=")[1]

    visitor = new_app().run()
    visitor.switch_page("pages/register.py").run()
    assert "by invitation" in _texts(visitor)  # no link: no form
    assert not [t for t in visitor.text_input if t.key == "register_email"]
    visitor.query_params["invite"] = token
    visitor.run()
    assert "You were invited" in _texts(visitor)
    visitor.text_input(key="register_name").input("Kim")
    visitor.text_input(key="register_email").input("kim@example.com")
    visitor.text_input(key="register_password").input(PASSWORD)
    visitor.text_input(key="register_confirm").input(PASSWORD)
    next(b for b in visitor.button if b.label == "Sign up").click().run()
    assert not visitor.exception
    assert get_account(runtime, email="kim@example.com").role == "learner"

    used = new_app().run()
    used.switch_page("pages/register.py")
    used.query_params["invite"] = token
    used.run()
    assert "used as many times as it allows" in _texts(used)
    assert not [t for t in used.text_input if t.key == "register_email"]
    listed = signup.list_invitations(
        runtime, actor_id=admin_app.session_state["gw_account"].user_id
    )
    assert [(i.note, i.uses) for i in listed] == [("Class 4B", 1)]


def test_role_change_and_deletion_need_confirmation(admin_app, runtime, make_user):
    uid = make_user("zoe@school.example")
    at = _open_admin(admin_app)
    at.text_input(key="admin_user_query").input("zoe").run()
    at.selectbox(key=f"admin_new_role_{uid}").set_value("teacher")
    next(b for b in at.button if b.label == "Change role").click().run()
    assert "Tick the box" in _texts(at)
    assert get_account(runtime, email="zoe@school.example").role == "learner"
    at.checkbox(key=f"admin_role_sure_{uid}").check()
    next(b for b in at.button if b.label == "Change role").click().run()
    assert "zoe@school.example is now teacher" in _texts(at)
    assert get_account(runtime, email="zoe@school.example").role == "teacher"

    at.text_input(key=f"admin_delete_email_{uid}").input("someone@else.example")
    at.button(key="admin_delete").click().run()
    assert "Nothing was deleted" in _texts(at)
    assert (
        users.get_user(
            runtime, actor_id=admin_app.session_state["gw_account"].user_id, user_id=uid
        ).deleting
        is False
    )
    at.text_input(key=f"admin_delete_email_{uid}").input("zoe@school.example")
    at.button(key="admin_delete").click().run()
    assert "zoe@school.example is being deleted" in _texts(at)
