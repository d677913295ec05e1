"""Log in."""

from __future__ import annotations

import streamlit as st

from engine.errors import EngineError
from ui.auth import client_address, device_token, sign_in, take_notice
from ui.runtime import get_runtime, signup_mode

# The runtime is asked for only when the form is sent: on a first start the database is still
# being created while this page is on screen.
st.title("Welcome to Groundwork")
st.write("Turn the PDFs you study from into practice that sticks.")
if notice := take_notice():
    st.info(notice)

with st.form("login_form"):
    email = st.text_input("Email", key="login_email", autocomplete="email")
    password = st.text_input("Password", type="password", key="login_password",
                             autocomplete="current-password")
    submitted = st.form_submit_button("Log in", type="primary")

if submitted:
    if not email.strip() or not password:
        st.error("Enter your email and password.")
    else:
        from engine.accounts import authenticate  # with the database code, once a form is sent

        try:
            rt = get_runtime()
            account = authenticate(rt, email=email, password=password,
                                   client_address=client_address(rt),
                                   device_token=device_token(rt))
            sign_in(rt, account)
        except EngineError as e:
            st.error(e.user_message)
        else:
            st.rerun()

st.divider()
if signup_mode() == "open":
    st.write("New here?")
    st.page_link("pages/register.py", label="Create an account", icon=":material/person_add:")
else:
    st.caption("New here? Accounts on this server are created by the person who runs it.")
