"""Course insights (teachers and admins): item statistics of a course's questions with the
actions on them, class progress, and the coverage map of the course's materials.

Every section asks an engine service that refuses anyone but the course's teacher or an
admin, so a learner who opens /course-insights sees no data.
"""

from __future__ import annotations

import streamlit as st

from engine.courses import dashboard
from engine.courses.item_stats import course_item_stats, item_stats_csv, record_cohort_quality
from engine.errors import EngineError
from ui.auth import require_account
from ui.course_dashboard import coverage_frame, progress_frame
from ui.course_items import item_actions, item_frame, option_frame, question_heading
from ui.runtime import get_runtime
from ui.text import escape_markdown

account = require_account()
rt = get_runtime()
me = account.user_id

st.title("Course insights")
if account.role not in ("teacher", "admin"):
    st.info("Course insights are for teachers.")
    st.stop()
courses = dashboard.taught_courses(rt, actor_id=me)
if not courses:
    st.info("You teach no course yet.")
    st.stop()
titles = dict(courses)
course_id = st.selectbox(
    "Course", list(titles), format_func=lambda c: escape_markdown(titles[c]), key="insights_course"
)
try:
    stats = course_item_stats(rt, actor_id=me, course_id=course_id)
    # Questions with a verdict now carry the class's quality score, in every learner's bank.
    record_cohort_quality(rt, actor_id=me, course_id=course_id, stats=stats)
    progress = dashboard.class_progress(rt, actor_id=me, course_id=course_id)
    coverage = dashboard.coverage_map(rt, actor_id=me, course_id=course_id)
except EngineError as e:
    st.error(e.user_message)
    st.stop()

items_tab, class_tab, coverage_tab = st.tabs(["Items", "Class progress", "Coverage"])
with items_tab:
    st.caption(
        f"Verdicts from {stats.min_learners} learners on. Difficulty is the share right on "
        "first answers (20-80% acceptable); discrimination is the point-biserial against the "
        "rest of the course (below 0.20 poor, below 0: check the key)."
    )
    frame = item_frame(stats)
    st.dataframe(frame, hide_index=True)
    st.download_button(
        "Download item statistics (CSV)",
        item_stats_csv(stats),
        file_name=f"item-stats-course-{course_id}.csv",
        mime="text/csv",
        key="insights_csv",
    )
    if stats.items:
        by_id = {row.course_question_id: row for row in stats.items}
        chosen = st.selectbox(
            "Question",
            list(by_id),
            format_func=lambda q: escape_markdown(by_id[q].stem[:80]),
            key="insights_question",
        )
        row = by_id[chosen]
        question_heading(row)
        if row.options:
            st.dataframe(option_frame(row), hide_index=True)
        item_actions(row, actor_id=me)
with class_tab:
    if progress:
        st.dataframe(progress_frame(progress), hide_index=True)
    else:
        st.info("No learner has joined this course yet.")
with coverage_tab:
    if not coverage:
        st.info("This course has no materials yet.")
    for material in coverage:
        st.subheader(escape_markdown(material.title))
        st.dataframe(coverage_frame(material), hide_index=True)
