"""Home: a greeting, progress once there is practice, and what to do next."""

from __future__ import annotations

import streamlit as st

from engine.errors import EngineError
from engine.practice.queue import review_counts
from engine.profiles import home_summary
from ui.auth import require_account
from ui.runtime import get_runtime
from ui.text import escape_markdown, plural

rt = get_runtime()
account = require_account()

try:
    summary = home_summary(rt, user_id=account.user_id)
except EngineError as e:
    st.error(e.user_message)
    st.stop()

profile = summary.profile
st.title(f"Hello, {escape_markdown(profile.display_name)}")
if profile.exam_date:
    st.caption(f"Exam on {profile.exam_date:%A %d %B %Y}")

if summary.has_practice:
    level_col, xp_col, streak_col = st.columns(3)
    level_col.metric("Level", profile.level)
    xp_col.metric("XP", f"{profile.xp:,}")
    streak = summary.streak_now
    streak_col.metric(
        "Streak",
        plural(streak, "day"),
        help=f"Best streak: {plural(profile.best_streak, 'day')}",
    )

st.subheader("What to do next")
if summary.materials == 0:
    st.info(
        "Start by uploading a PDF you study from. Groundwork reads it, and every question it "
        "makes will cite the page it came from.",
        icon=":material/upload_file:",
    )
    st.page_link(
        "pages/library.py",
        label="Open the Library to upload a PDF",
        icon=":material/library_books:",
    )
elif summary.questions == 0:
    st.info(
        "Your library has material. Generate your first questions from it.", icon=":material/quiz:"
    )
    st.page_link("pages/generate.py", label="Generate questions", icon=":material/auto_awesome:")
else:
    st.info(
        f"You have {plural(summary.questions, 'question')} in your bank. Time to practise.",
        icon=":material/school:",
    )
    try:
        counts = review_counts(rt, user_id=account.user_id)
    except EngineError as e:
        st.error(e.user_message)
    else:
        st.caption(
            f"Due now: {counts.due_now} review{'s' if counts.due_now != 1 else ''} · "
            f"{counts.new_available} new question{'s' if counts.new_available != 1 else ''}"
            " not yet seen"
        )
    st.page_link("pages/today.py", label="Practise now", icon=":material/school:")
