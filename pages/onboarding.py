"""Onboarding: the first thing a new learner sees, until it is complete."""

from __future__ import annotations

import streamlit as st

from engine.accounts import get_account
from engine.errors import EngineError
from engine.profiles import get_profile, save_profile
from ui.auth import require_account, update_account
from ui.profile_form import profile_form
from ui.runtime import get_runtime
from ui.text import escape_markdown

rt = get_runtime()
account = require_account()

st.title(f"Welcome, {escape_markdown(account.display_name)}")
st.write(
    "A few questions so Groundwork can plan your practice. You can change any of this later "
    "under **Profile & settings**."
)

try:
    view = get_profile(rt, user_id=account.user_id)
except EngineError as e:
    st.error(e.user_message)
    st.stop()

entered = profile_form(view, key="onboarding", submit_label="Start learning")
if entered is not None:
    try:
        save_profile(rt, user_id=account.user_id, **entered)
        update_account(get_account(rt, email=account.email))
    except EngineError as e:
        st.error(e.user_message)
    else:
        st.rerun()
