"""Profile & settings: edit what onboarding asked."""

from __future__ import annotations

import dataclasses

import streamlit as st

from engine.accounts import get_account
from engine.errors import EngineError
from engine.profiles import get_profile, save_profile
from ui.auth import require_account, update_account
from ui.profile_form import profile_form
from ui.runtime import get_runtime

rt = get_runtime()
account = require_account()

st.title("Profile & settings")

try:
    view = get_profile(rt.session_factory, user_id=account.user_id)
except EngineError as e:
    st.error(e.user_message)
    st.stop()

st.caption(f"Signed in as {view.email}")
entered = profile_form(view, key="profile", submit_label="Save changes")
if entered is not None:
    try:
        save_profile(rt.session_factory, user_id=account.user_id, **dataclasses.asdict(entered))
        update_account(get_account(rt.session_factory, email=account.email))
    except EngineError as e:
        st.error(e.user_message)
    else:
        st.success("Saved.")
