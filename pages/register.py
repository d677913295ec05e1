"""Sign up: when the server's sign-up mode is 'open', or with an invitation link
(`/?invite=...`, which opens this page) in the 'invite' mode."""

from __future__ import annotations

import streamlit as st

from engine.accounts import MAX_PASSWORD_BYTES, SIGNUP_CLOSED_MESSAGES, register_user
from engine.errors import EngineError
from ui.auth import client_address, sign_in
from ui.runtime import app_settings, get_runtime, signup_mode

# On a first start the database is still being created while this page is on screen: the
# mode is then the environment's, and the runtime is asked for only when the form is sent.
settings = app_settings()
mode = signup_mode()
invitation = st.query_params.get("invite") if mode == "invite" else None

st.title("Create your Groundwork account")

if mode != "open" and not invitation:
    st.info(SIGNUP_CLOSED_MESSAGES[mode], icon=":material/lock:")
    st.page_link("pages/login.py", label="I have an account: log in", icon=":material/login:")
    st.stop()
if invitation:
    from engine.accounts import invitation_problem

    if (problem := invitation_problem(get_runtime(), invitation)) is not None:
        st.error(problem, icon=":material/link_off:")
        st.page_link("pages/login.py", label="I have an account: log in", icon=":material/login:")
        st.stop()
    st.info("You were invited to this server.", icon=":material/mail:")

min_len = settings.accounts.password_min_length
with st.form("register_form"):
    name = st.text_input("Display name", key="register_name", max_chars=80)
    email = st.text_input("Email", key="register_email", autocomplete="email")
    password = st.text_input(
        "Password",
        type="password",
        key="register_password",
        autocomplete="new-password",
        help=f"{min_len} to {MAX_PASSWORD_BYTES} characters (accented letters and emoji count "
        "double or more). A few unrelated words make a strong password.",
    )
    confirm = st.text_input(
        "Repeat password", type="password", key="register_confirm", autocomplete="new-password"
    )
    submitted = st.form_submit_button("Sign up", type="primary")

if submitted:
    if password != confirm:
        st.error("The two passwords differ. Type the same password twice.")
    else:
        try:
            rt = get_runtime()
            account = register_user(
                rt,
                email=email,
                password=password,
                display_name=name,
                client_address=client_address(rt),
                invitation=invitation,
            )
            sign_in(rt, account)
        except EngineError as e:
            st.error(e.user_message)
        else:
            st.query_params.clear()  # the invitation is spent: the next pages do not carry it
            st.rerun()

st.divider()
st.page_link("pages/login.py", label="Already have an account? Log in", icon=":material/login:")
