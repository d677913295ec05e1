"""The profile form used by onboarding and by the Profile page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import streamlit as st

from engine.profiles import ProfileForm, ProfileView, time_zones

LEVELS = ["beginner", "intermediate", "advanced", "expert"]


def profile_form(view: ProfileView, *, key: str, submit_label: str) -> ProfileForm | None:
    """Render the form; return what was entered when it is submitted."""
    zones = time_zones()
    browser_tz = st.context.timezone if st.context.timezone in zones else None
    default_tz = view.timezone if view.onboarded else (browser_tz or view.timezone)
    with st.form(key):
        name = st.text_input(
            "Display name", value=view.display_name, key=f"{key}_name", max_chars=80
        )
        goals = st.text_area(
            "Your learning goals",
            value=view.learning_goals,
            key=f"{key}_goals",
            max_chars=2000,
            placeholder="e.g. Pass the cardiology board exam in spring",
        )
        subjects = st.text_input(
            "Subjects or exam you are studying for",
            value=view.subjects,
            key=f"{key}_subjects",
            max_chars=2000,
        )
        level = st.selectbox(
            "Your level",
            LEVELS,
            key=f"{key}_level",
            index=LEVELS.index(view.self_level) if view.self_level in LEVELS else None,
            format_func=str.capitalize,
            placeholder="Choose your level",
        )
        target = st.number_input(
            "Daily review target (questions per day)",
            min_value=1,
            max_value=500,
            step=1,
            value=view.daily_target,
            key=f"{key}_target",
        )
        has_exam = st.checkbox(
            "I have an exam date", value=view.exam_date is not None, key=f"{key}_has_exam"
        )
        exam = st.date_input(
            "Exam date",
            value=view.exam_date or dt.date.today() + dt.timedelta(days=30),
            key=f"{key}_exam",
            min_value=dt.date.today(),
        )
        tz = st.selectbox(
            "Time zone",
            zones,
            index=zones.index(default_tz) if default_tz in zones else zones.index("UTC"),
            key=f"{key}_tz",
        )
        submitted = st.form_submit_button(submit_label, type="primary")
    if not submitted:
        return None
    return ProfileForm(
        display_name=name,
        learning_goals=goals,
        subjects=subjects,
        self_level=level,
        daily_target=int(target),
        exam_date=exam if has_exam else None,
        timezone=tz,
    )


@dataclass
class PasswordChange:
    current: str
    new: str


def password_form(*, key: str, min_length: int) -> PasswordChange | None:
    """Current password, new password twice; the entries when submitted and the two new ones
    match (a mismatch is reported here)."""
    with st.form(key, clear_on_submit=True):
        current = st.text_input(
            "Current password",
            type="password",
            key=f"{key}_current",
            autocomplete="current-password",
        )
        new = st.text_input(
            "New password",
            type="password",
            key=f"{key}_new",
            autocomplete="new-password",
            help=f"At least {min_length} characters, at most 72 bytes.",
        )
        repeat = st.text_input(
            "Repeat new password", type="password", key=f"{key}_repeat", autocomplete="new-password"
        )
        submitted = st.form_submit_button("Change password")
    if not submitted:
        return None
    if not current or not new:
        st.error("Enter your current password and the new one.")
        return None
    if new != repeat:
        st.error("The two new passwords differ. Type the same new password twice.")
        return None
    return PasswordChange(current, new)
