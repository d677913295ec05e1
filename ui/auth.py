"""Sign-in state for the UI.

The accounts service checks passwords (with throttling) and keeps the signed-in sessions in
PostgreSQL; the "stay signed in" cookie carries only a signed, random session id. The cookie is
written and removed by streamlit-authenticator's cookie component and read from the request's
cookies. Every run checks that the session is still live, so logging out, a password change or
a revoked session signs the browser out at once; logging out also empties the whole session
state, so nothing of one learner is left for the next one on the same tab.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from engine.accounts import AccountInfo, SignedIn
    from ui.runtime import Runtime

# The accounts service (and with it the database code) is imported by the functions that use
# it, not by this module: the sign-in pages are drawn on a first start before the database
# exists, and importing it then would only delay them.

ACCOUNT_KEY = "gw_account"
SESSION_KEY = "gw_session"  # the random session id (secret; server-side state only)
_PENDING_TOKEN = "gw_pending_token"
_PENDING_DEVICE = "gw_pending_device"
_COOKIE_ACTION = "gw_cookie_action"
_COOKIE_WRITES = "gw_cookie_writes"  # sent to the browser, not yet reported done
_NOTICE = "gw_auth_notice"


def client_address(rt: Runtime) -> str | None:
    """The browser's network address: the last entry of the configured proxy header when one
    is set, otherwise the connection's peer (None on localhost)."""
    from engine.accounts.addresses import client_address_from

    return client_address_from(
        st.context.headers, st.context.ip_address, rt.settings.accounts.client_address_header
    )


def device_token(rt: Runtime) -> str | None:
    """This browser's device cookie (it signed in before), if any."""
    from engine.accounts import device_cookie_name

    token = st.context.cookies.get(device_cookie_name(rt.settings))
    return token if isinstance(token, str) else None


def cookie_secure(setting: str, url: str | None) -> bool:
    """Whether the cookie gets the Secure attribute ('auto': when the page is on https)."""
    if setting == "auto":
        return isinstance(url, str) and url.lower().startswith("https://")
    return setting == "always"


def _cookie_manager(rt: Runtime):
    s = rt.settings
    # Credentials live in PostgreSQL; the library's cookie component only stores and removes
    # the cookie in the browser, so its own credential dict stays empty.
    import streamlit_authenticator as stauth  # its cookie component; imported when first used

    authenticator = stauth.Authenticate(
        {"usernames": {}},
        s.accounts.cookie_name,
        rt.cookie_key,
        s.accounts.cookie_expiry_days,
        auto_hash=False,
    )
    return authenticator.cookie_controller.cookie_model.cookie_manager


def _cookie_writes(rt: Runtime) -> list[dict]:
    """The cookie writes asked for since the last run (sign-in: the session and device
    cookies; sign-out: removing the session cookie), each with the options it is sent with."""
    action = st.session_state.pop(_COOKIE_ACTION, None)
    token = st.session_state.pop(_PENDING_TOKEN, None)
    device = st.session_state.pop(_PENDING_DEVICE, None)
    accounts = rt.settings.accounts
    if action == "delete":
        return [{"key": "delete", "method": "delete", "cookie": accounts.cookie_name}]
    if action != "set" or not token:
        return []
    secure = cookie_secure(accounts.cookie_secure, st.context.url)

    def write(key: str, name: str, value: str, days: int) -> dict:
        expires = dt.datetime.now() + dt.timedelta(days=days)
        options = {"path": "/", "expires": expires.isoformat(), "sameSite": "strict"}
        options["secure"] = secure
        return {"key": key, "method": "set", "cookie": name, "value": value, "options": options}

    writes = [write("set", accounts.cookie_name, token, accounts.cookie_expiry_days)]
    if device:
        from engine.accounts import device_cookie_name

        # Kept at logout: it only lets this browser past a lock others caused.
        writes.append(
            write(
                "set_device", device_cookie_name(rt.settings), device, accounts.device_cookie_days
            )
        )
    return writes


def _apply_cookie_action(rt: Runtime) -> None:
    # Cookies are written and removed by a browser component, which does it once its frame has
    # loaded and then reports back. A write stays on the page, unchanged, in every run until
    # the browser has reported it done: a learner who clicks on before the frame loaded (a slow
    # browser, a busy server) would otherwise remove it unrun and never get the cookie. The
    # components live in one container, so the page's own elements keep their positions.
    # Removing is always sent: logging out emptied the session state, and with it the
    # component's reading of the browser's cookies, so asking it first never removed it.
    with st.container(height=1, border=False):
        manager = _cookie_manager(rt)
        writes = st.session_state.pop(_COOKIE_WRITES, [])
        writes += _cookie_writes(rt)
        pending = []
        for w in writes:
            fields = {k: v for k, v in w.items() if k not in ("key", "method", "cookie")}
            done = manager.cookie_manager(
                method=w["method"], cookie=w["cookie"], key=w["key"], default=False, **fields
            )
            if not done:
                pending.append(w)
        if pending:
            st.session_state[_COOKIE_WRITES] = pending


def _end(notice: str | None) -> None:
    """Empty the whole session state; the next run removes the cookie."""
    st.session_state.clear()
    st.session_state["logout"] = True
    st.session_state[_COOKIE_ACTION] = "delete"
    if notice:
        st.session_state[_NOTICE] = notice


def init_auth(rt: Runtime) -> AccountInfo | None:
    """Run once per script run (from app.py): the learner of this browser's live session, from
    the session state or restored from the cookie; None when signed out."""
    from engine.accounts import resume_session, session_id_from_token

    st.session_state.setdefault("logout", None)
    _apply_cookie_action(rt)
    session_id = st.session_state.get(SESSION_KEY)
    if session_id is None and not st.session_state.get("logout"):
        session_id = session_id_from_token(
            st.context.cookies.get(rt.settings.accounts.cookie_name), rt.cookie_key
        )
        if session_id is None and st.session_state.get(ACCOUNT_KEY) is not None:
            _end(None)
            return None
    if session_id is None:
        return None
    account = resume_session(rt, session_id=session_id)
    if account is None:
        if st.session_state.get(SESSION_KEY):
            _end(
                "You were signed out (logged out elsewhere, or the password was changed). "
                "Log in again."
            )
        return None
    _remember(account, session_id)
    return account


def _remember(account: AccountInfo, session_id: str) -> None:
    st.session_state[ACCOUNT_KEY] = account
    st.session_state[SESSION_KEY] = session_id
    st.session_state["logout"] = None


def sign_in(rt: Runtime, account: AccountInfo) -> SignedIn:
    """Start a session for the learner (a fresh session state) and set its signed cookie, and
    the device cookie for this email, on the next run."""
    from engine.accounts import issue_device_token, start_session

    signed = start_session(rt, account=account, client_address=client_address(rt))
    st.session_state.clear()
    _remember(account, signed.session_id)
    st.session_state[_PENDING_TOKEN] = signed.token
    st.session_state[_PENDING_DEVICE] = issue_device_token(
        account.email, rt.cookie_key, settings=rt.settings
    )
    st.session_state[_COOKIE_ACTION] = "set"
    return signed


def update_account(account: AccountInfo) -> None:
    """Refresh what the session knows (e.g. after onboarding or a name change)."""
    st.session_state[ACCOUNT_KEY] = account


def sign_out(rt: Runtime, notice: str | None = None) -> None:
    """End this browser's session on the server, forget everything this session held, and
    remove the cookie on the next run; `notice` is shown once on the login page."""
    from engine.accounts import revoke_session

    session_id = st.session_state.get(SESSION_KEY)
    if session_id:
        revoke_session(rt, session_id=session_id)
    _end(notice)


def take_notice() -> str | None:
    """A message for the login page about why the learner was signed out (shown once)."""
    return st.session_state.pop(_NOTICE, None)


def current_account() -> AccountInfo | None:
    return st.session_state.get(ACCOUNT_KEY)


def current_session_id() -> str | None:
    return st.session_state.get(SESSION_KEY)


def require_account() -> AccountInfo:
    """The signed-in learner, or stop the page with a prompt to log in."""
    account = current_account()
    if account is None:
        st.info("Please log in to continue.")
        st.stop()
    return account


# --- single sign-on (OpenID Connect through st.login) ---------------------------------------

_SSO_LINK = "gw_sso_link"  # an identity whose email has an unlinked account: asks its password
_SSO_ERROR = "gw_sso_error"


def sso_providers() -> list[str | None]:
    """The OpenID Connect providers configured in `[auth]` of .streamlit/secrets.toml: None for
    the one set in `[auth]` itself, else each `[auth.NAME]` (the name passed to st.login)."""
    if not st.secrets.load_if_toml_exists():
        return []  # no secrets file: single sign-on is not configured
    auth = st.secrets.get("auth")
    if not auth:
        return []
    found: list[str | None] = [None] if "server_metadata_url" in auth else []
    found += [
        name
        for name, value in auth.items()
        if hasattr(value, "get") and value.get("server_metadata_url")
    ]
    return found


def sso_signed_in() -> bool:
    """Whether this browser holds a provider's identity (Streamlit's identity cookie)."""
    return bool(sso_providers()) and bool(st.user.get("is_logged_in", False))


def sso_sign_in(rt: Runtime) -> AccountInfo | None:
    """With a provider's identity in `st.user` and no session of ours: sign its account in
    (created or linked as engine.accounts.sso decides). A refusal, or a link that needs the
    account's password, is kept for the login page. Ends the run after signing in."""
    if not sso_signed_in():
        return None
    if st.session_state.get(_SSO_ERROR) or st.session_state.get(_SSO_LINK):
        return None  # the login page shows it
    from engine.accounts.sso import LinkNeeded, identity_from_claims, sso_sign_in as map_identity
    from engine.errors import EngineError

    identity = identity_from_claims(
        st.user.to_dict(), role_claim=rt.settings.accounts.sso_role_claim
    )
    try:
        account = map_identity(rt, identity)
    except LinkNeeded as e:
        st.session_state[_SSO_LINK] = (identity, e.user_message)
        return None
    except EngineError as e:
        st.session_state[_SSO_ERROR] = e.user_message
        return None
    sign_in(rt, account)
    st.rerun()
    return account


def sso_link_request() -> tuple[object, str] | None:
    """(identity, message) when a signed-in provider identity waits for the account's password."""
    return st.session_state.get(_SSO_LINK)


def sso_error() -> str | None:
    return st.session_state.get(_SSO_ERROR)


def sso_start(provider: str | None) -> None:
    """Go to the provider's sign-in page (a fresh identity replaces a refused one)."""
    st.session_state.pop(_SSO_ERROR, None)
    st.session_state.pop(_SSO_LINK, None)
    st.login(provider) if provider else st.login()


def sso_leave() -> None:
    """Forget the provider's identity in this browser (Streamlit's identity cookie)."""
    st.session_state.pop(_SSO_ERROR, None)
    st.session_state.pop(_SSO_LINK, None)
    st.logout()
