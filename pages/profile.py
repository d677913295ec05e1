"""Profile & settings: edit what onboarding asked."""

from __future__ import annotations

import streamlit as st

from engine.accounts import change_password, get_account
from engine.errors import EngineError
from engine.profiles import get_profile, save_profile
from ui.auth import (
    client_address,
    current_session_id,
    device_token,
    require_account,
    update_account,
)
from ui.labels import SCHEDULER_DESCRIPTIONS, SCHEDULER_LABELS
from ui.profile_form import password_form, profile_form
from ui.runtime import get_runtime
from ui.text import escape_markdown

rt = get_runtime()
account = require_account()

st.title("Profile & settings")

try:
    view = get_profile(rt, user_id=account.user_id)
except EngineError as e:
    st.error(e.user_message)
    st.stop()

st.caption(f"Signed in as {escape_markdown(view.email)}")
entered = profile_form(view, key="profile", submit_label="Save changes")
if entered is not None:
    try:
        save_profile(rt, user_id=account.user_id, **entered)
        update_account(get_account(rt, email=account.email))
    except EngineError as e:
        st.error(e.user_message)
    else:
        st.success("Saved.")

# --- practice: which scheduler plans the reviews ---------------------------------------------
st.subheader("Review scheduler")
with st.form("scheduler"):
    chosen_scheduler = st.radio(
        "Plan my reviews with",
        list(SCHEDULER_DESCRIPTIONS),
        index=list(SCHEDULER_DESCRIPTIONS).index(view.scheduler),
        format_func=SCHEDULER_DESCRIPTIONS.get,
        key="scheduler_choice",
    )
    st.caption(
        "Both schedulers follow every answer you give, so you can switch at any time and your "
        "due dates move at once. FSRS starts with its default parameters; from "
        f"{rt.settings.scheduling.fsrs_optimise_min_reviews} answers on you can fit it to your "
        "own history "
        "on the Reviews page, and the fitted parameters are used only when they predict your "
        "recent answers better than the ones in use."
    )
    if st.form_submit_button("Save scheduler"):
        from engine.practice.preferences import set_scheduler

        try:
            set_scheduler(rt, user_id=account.user_id, scheduler=chosen_scheduler)
        except EngineError as e:
            st.error(e.user_message)
        else:
            name = SCHEDULER_LABELS[chosen_scheduler]
            st.success(f"Reviews are now planned with {name}.")

# --- account: password ------------------------------------------------------------------------
st.subheader("Password")
st.caption("Changing your password signs you out everywhere else (other browsers and devices).")
change = password_form(key="password_change", min_length=rt.settings.accounts.password_min_length)
if change is not None:
    try:
        ended = change_password(
            rt,
            user_id=account.user_id,
            current_password=change.current,
            new_password=change.new,
            keep_session_id=current_session_id(),
            client_address=client_address(rt),
            device_token=device_token(rt),
        )
    except EngineError as e:
        st.error(e.user_message)
    else:
        others = f" {ended} other session{'s' if ended != 1 else ''} signed out." if ended else ""
        st.success("Password changed." + others)

# --- your data: export, delete the account ---------------------------------------------------
from ui.account_data import account_data_section  # noqa: E402

account_data_section(rt, account.user_id, account.email)
