"""Groundwork: page config, the sign-in gate, and navigation. Nothing else lives here."""

from __future__ import annotations

from pathlib import Path

from engine.process import prepare_process

prepare_process()  # before anything imports litellm or Hugging Face code

import streamlit as st  # noqa: E402

from ui.runtime import creating_database, get_runtime, start_runtime  # noqa: E402

# The icon is a file shipped with the app (a Material icon name would be fetched from a font
# server on the internet, which an offline install cannot reach).
FAVICON = Path(__file__).parent / "ui" / "static" / "favicon.png"
st.set_page_config(page_title="Groundwork", page_icon=str(FAVICON), layout="wide")
# The database starts (on a first run: initialised and migrated) while the app imports below.
start_runtime()

from engine.errors import EngineError  # noqa: E402
from ui.auth import init_auth, sign_out, sso_sign_in, sso_signed_in  # noqa: E402
from ui.text import escape_markdown  # noqa: E402

if creating_database():
    # First start on an empty data folder: no account exists yet, so the sign-in pages show
    # while PostgreSQL is created and migrated; a sent form waits for it.
    account = None
else:
    try:
        rt = get_runtime()
    except EngineError as e:
        st.title("Groundwork cannot start")
        st.error(e.user_message)
        st.caption(
            "Nothing was changed. Fix the problem above and reload this page. "
            "The server log has the technical details."
        )
        st.stop()
    account = init_auth(rt) or sso_sign_in(rt)

if account is None:
    pages: list[st.Page] | dict[str, list[st.Page]] = [
        # An invitation link (`/?invite=...`) opens Sign up, a reset link (`/?reset=...`) the
        # new-password page; anything else opens Log in.
        st.Page(
            "pages/login.py",
            title="Log in",
            icon=":material/login:",
            default="invite" not in st.query_params and "reset" not in st.query_params,
        ),
        st.Page(
            "pages/register.py",
            title="Sign up",
            icon=":material/person_add:",
            default="invite" in st.query_params,
        ),
        # A password reset link (`/?reset=...`) opens this page; it is not in the navigation.
        st.Page(
            "pages/reset_password.py",
            title="New password",
            icon=":material/password:",
            url_path="reset",
            default="reset" in st.query_params and "invite" not in st.query_params,
            visibility="hidden",
        ),
    ]
elif not account.onboarded:
    pages = [
        st.Page("pages/onboarding.py", title="Welcome", icon=":material/waving_hand:", default=True)
    ]
else:
    pages = {
        "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
        "Study": [
            # Capabilities plug in here: Library, Generate, Question bank, Today, Reviews,
            # Analytics.
            st.Page("pages/library.py", title="Library", icon=":material/library_books:"),
            st.Page("pages/generate.py", title="Generate", icon=":material/auto_awesome:"),
            st.Page("pages/question_bank.py", title="Question bank", icon=":material/inventory_2:"),
            st.Page("pages/today.py", title="Today", icon=":material/school:"),
            st.Page("pages/reviews.py", title="Reviews", icon=":material/event_repeat:"),
            st.Page("pages/tutor.py", title="Tutor", icon=":material/forum:"),
            st.Page("pages/analytics.py", title="Analytics", icon=":material/insights:"),
            # Everyone joins courses here; teachers and admins also run theirs.
            st.Page("pages/courses.py", title="Courses", icon=":material/groups:"),
        ],
        "Teaching": [
            # Teachers and admins; anyone else opening /course-insights sees no data.
            st.Page(
                "pages/course_insights.py",
                title="Course insights",
                icon=":material/query_stats:",
                url_path="course-insights",
                visibility="visible" if account.role in ("teacher", "admin") else "hidden",
            ),
        ],
        "Account": [
            st.Page("pages/profile.py", title="Profile & settings", icon=":material/settings:"),
            # Listed for admins only; anyone else opening /admin is refused by the engine.
            st.Page(
                "pages/admin.py",
                title="Admin console",
                icon=":material/admin_panel_settings:",
                visibility="visible" if account.is_admin else "hidden",
            ),
        ],
    }
    pages = {k: v for k, v in pages.items() if v}

if account is not None:
    with st.sidebar:
        st.caption(f"Signed in as **{escape_markdown(account.display_name)}**")
        from engine.generation.service import generation_mode  # only once signed in

        if generation_mode(rt).offline:
            st.caption(":material/cloud_off: Offline mode: no language model configured")
        if st.button("Log out", key="gw_logout", icon=":material/logout:"):
            sign_out(rt)
            if sso_signed_in():  # signed in with single sign-on: forget that identity too
                st.logout()
            st.rerun()

st.navigation(pages).run()
