"""Choose a new password with a one-time link (`/?reset=...`, from "Forgot password?" or
the admin console)."""

from __future__ import annotations

import streamlit as st

from engine.accounts import MAX_PASSWORD_BYTES, reset_password_with_token, reset_problem
from engine.errors import EngineError
from ui.runtime import app_settings, get_runtime

token = st.query_params.get("reset")
st.title("Choose a new password")

if st.session_state.get("reset_done"):
    st.success(
        "Your password was changed, and every browser signed in to your account was signed "
        "out. Log in with the new password.",
        icon=":material/check_circle:",
    )
    st.page_link("pages/login.py", label="Log in", icon=":material/login:")
    st.stop()
if (problem := reset_problem(get_runtime(), token)) is not None:
    st.error(problem, icon=":material/link_off:")
    st.page_link("pages/login.py", label="Back to log in", icon=":material/login:")
    st.stop()

min_len = app_settings().accounts.password_min_length
with st.form("reset_form"):
    password = st.text_input(
        "New password",
        type="password",
        key="reset_password",
        autocomplete="new-password",
        help=f"{min_len} to {MAX_PASSWORD_BYTES} characters (accented letters and emoji count "
        "double or more). A few unrelated words make a strong password.",
    )
    confirm = st.text_input(
        "Repeat the new password", type="password", key="reset_confirm", autocomplete="new-password"
    )
    submitted = st.form_submit_button("Set the new password", type="primary")

if submitted:
    if password != confirm:
        st.error("The two passwords differ. Type the same password twice.")
    else:
        try:
            reset_password_with_token(get_runtime(), token=token, new_password=password)
        except EngineError as e:
            st.error(e.user_message)
        else:
            st.session_state["reset_done"] = True
            st.query_params.clear()  # the link is spent: the next pages do not carry it
            st.rerun()
