"""The "Forgot password?" form of the sign-in page."""

from __future__ import annotations

import streamlit as st

from engine.errors import EngineError
from engine.mail import links_by_email
from ui.auth import client_address
from ui.runtime import app_settings, get_runtime


def forgot_password() -> None:
    """With email set up: a form that sends a reset link (the answer never says whether the
    address has an account). Without: who to ask."""
    if not links_by_email(app_settings()):
        st.caption("Forgot your password? Ask the person who runs this server for a reset link.")
        return
    with st.expander("Forgot password?", icon=":material/lock_reset:"):
        with st.form("forgot_form"):
            email = st.text_input("Email", key="forgot_email", autocomplete="email")
            sent = st.form_submit_button("Email me a reset link")
        if sent:
            from engine.accounts import request_password_reset

            try:
                rt = get_runtime()
                answer = request_password_reset(rt, email=email, client_address=client_address(rt))
            except EngineError as e:
                st.error(e.user_message)
            else:
                st.info(answer, icon=":material/mail:")
