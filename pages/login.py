"""Log in."""

from __future__ import annotations

import streamlit as st

from engine.errors import EngineError
from ui.auth import (
    client_address,
    device_token,
    sign_in,
    sso_error,
    sso_leave,
    sso_link_request,
    sso_providers,
    sso_start,
    take_notice,
)
from ui.reset import forgot_password
from ui.runtime import get_runtime, signup_mode
from ui.text import escape_markdown

# The runtime is asked for only when the form is sent: on a first start the database is still
# being created while this page is on screen.
st.title("Welcome to Groundwork")
st.write("Turn the PDFs you study from into practice that sticks.")
if notice := take_notice():
    st.info(notice)

if link := sso_link_request():
    # Signed in at the provider with the email of an existing account: its password, once.
    identity, message = link
    st.info(escape_markdown(message))
    with st.form("sso_link_form"):
        link_password = st.text_input(
            "Password of that account",
            type="password",
            key="sso_link_password",
            autocomplete="current-password",
        )
        if st.form_submit_button("Link and sign in", type="primary"):
            from engine.accounts.sso import link_identity

            try:
                rt = get_runtime()
                account = link_identity(
                    rt, identity, password=link_password, client_address=client_address(rt)
                )
                sign_in(rt, account)
            except EngineError as e:
                st.error(e.user_message)
            else:
                st.rerun()
    if st.button("Use another account", key="sso_leave"):
        sso_leave()
    st.stop()

if providers := sso_providers():
    if problem := sso_error():
        st.error(problem)
    for provider in providers:
        label = (
            "Sign in with single sign-on"
            if provider is None
            else f"Sign in with {provider.replace('_', ' ').title()}"
        )
        if st.button(
            label, key=f"sso_{provider or 'default'}", icon=":material/key:", type="primary"
        ):
            sso_start(provider)
    if problem and st.button("Forget this provider sign-in", key="sso_leave"):
        sso_leave()
    st.caption("Or log in with your email and password:")

with st.form("login_form"):
    email = st.text_input("Email", key="login_email", autocomplete="email")
    password = st.text_input(
        "Password", type="password", key="login_password", autocomplete="current-password"
    )
    submitted = st.form_submit_button("Log in", type="primary")

if submitted:
    if not email.strip() or not password:
        st.error("Enter your email and password.")
    else:
        from engine.accounts import authenticate  # with the database code, once a form is sent

        try:
            rt = get_runtime()
            account = authenticate(
                rt,
                email=email,
                password=password,
                client_address=client_address(rt),
                device_token=device_token(rt),
            )
            sign_in(rt, account)
        except EngineError as e:
            st.error(e.user_message)
        else:
            st.rerun()

forgot_password()

st.divider()
if signup_mode() == "open":
    st.write("New here?")
    st.page_link("pages/register.py", label="Create an account", icon=":material/person_add:")
elif signup_mode() == "sso" or sso_providers():
    st.caption("New here? Sign in with single sign-on, or ask the person who runs this server.")
else:
    st.caption("New here? Accounts on this server are created by the person who runs it.")
