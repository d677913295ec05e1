"""Log in."""

from __future__ import annotations

import streamlit as st

from engine.accounts import authenticate
from engine.errors import EngineError
from ui.auth import sign_in
from ui.runtime import get_runtime

rt = get_runtime()

st.title("Welcome to Groundwork")
st.write("Turn the PDFs you study from into practice that sticks.")

with st.form("login_form"):
    email = st.text_input("Email", key="login_email", autocomplete="email")
    password = st.text_input("Password", type="password", key="login_password",
                             autocomplete="current-password")
    submitted = st.form_submit_button("Log in", type="primary")

if submitted:
    if not email.strip() or not password:
        st.error("Enter your email and password.")
    else:
        try:
            account = authenticate(rt.session_factory, email=email, password=password,
                                   settings=rt.settings)
        except EngineError as e:
            st.error(e.user_message)
        else:
            sign_in(account)
            st.rerun()

st.divider()
st.write("New here?")
st.page_link("pages/register.py", label="Create an account", icon=":material/person_add:")
