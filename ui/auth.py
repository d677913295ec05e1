"""Sign-in state for the UI: our accounts service checks passwords (with throttling);
streamlit-authenticator signs and reads the re-authentication cookie and handles logout."""

from __future__ import annotations

import streamlit as st
import streamlit_authenticator as stauth

from engine.accounts import AccountInfo, get_account
from engine.errors import EngineError
from engine.runtime import Runtime

ACCOUNT_KEY = "gw_account"
_AUTH_KEY = "gw_authenticator"
_COOKIE_ACTION = "gw_cookie_action"


def _make_authenticator(rt: Runtime) -> stauth.Authenticate:
    s = rt.settings
    # Credentials live in PostgreSQL; the library only manages the signed cookie, so its own
    # credential dict stays empty and no password hash ever sits in session state.
    return stauth.Authenticate(
        {"usernames": {}},
        s.cookie_name,
        s.cookie_key.get_secret_value(),
        s.cookie_expiry_days,
        auto_hash=False,
    )


def init_auth(rt: Runtime) -> AccountInfo | None:
    """Run once per script run (from app.py): restore the learner from the cookie if valid."""
    for key in ("authentication_status", "username", "name", "logout"):
        st.session_state.setdefault(key, None)
    # The cookie components live in one container, so whether or not a run sets a cookie,
    # the page's own elements keep their positions (no stale duplicates during a rerun).
    with st.container(height=1, border=False):
        authenticator = _make_authenticator(rt)
        st.session_state[_AUTH_KEY] = authenticator
        # Cookie changes are made by a browser component, so they must happen in a run that
        # completes (sign-in and sign-out end their run with st.rerun()).
        action = st.session_state.pop(_COOKIE_ACTION, None)
        if action == "set" and st.session_state.get("username"):
            authenticator.cookie_controller.set_cookie()
        elif action == "delete":
            authenticator.cookie_controller.delete_cookie()
    account: AccountInfo | None = st.session_state.get(ACCOUNT_KEY)
    if account is None and not st.session_state.get("logout"):
        token = authenticator.cookie_controller.get_cookie()
        if token and token.get("username"):
            try:
                account = get_account(rt.session_factory, email=token["username"])
            except EngineError:
                account = None
            if account is not None:
                _remember(account)
    return account


def _remember(account: AccountInfo) -> None:
    st.session_state[ACCOUNT_KEY] = account
    st.session_state["authentication_status"] = True
    st.session_state["username"] = account.email
    st.session_state["name"] = account.display_name
    st.session_state["logout"] = None


def sign_in(account: AccountInfo) -> None:
    """Mark the learner as signed in and set the signed re-authentication cookie."""
    _remember(account)
    st.session_state[_COOKIE_ACTION] = "set"


def update_account(account: AccountInfo) -> None:
    """Refresh what the session knows (e.g. after onboarding or a name change)."""
    st.session_state[ACCOUNT_KEY] = account
    st.session_state["name"] = account.display_name


def sign_out() -> None:
    """Forget the learner in this session and remove the cookie on the next run."""
    for key in ("authentication_status", "username", "name", "email", "roles"):
        st.session_state[key] = None
    st.session_state[ACCOUNT_KEY] = None
    st.session_state["logout"] = True
    st.session_state[_COOKIE_ACTION] = "delete"


def current_account() -> AccountInfo | None:
    return st.session_state.get(ACCOUNT_KEY)


def require_account() -> AccountInfo:
    """The signed-in learner, or stop the page with a prompt to log in."""
    account = current_account()
    if account is None:
        st.info("Please log in to continue.")
        st.stop()
    return account
