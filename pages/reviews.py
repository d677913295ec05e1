"""Reviews: what is due and when, the queue by material, the scheduler in use, and the
questions that need the learner's attention (flagged or retired)."""

from __future__ import annotations

import zoneinfo

import streamlit as st

from engine.domain.vocabulary import JobKind, QuestionStatus, Scheduler
from engine.errors import EngineError
from engine.jobs import active_job, recent_jobs, submit_fsrs_fit
from engine.practice.flags import keep_question, needs_attention, retire_question
from engine.practice.preferences import scheduler_info
from engine.practice.queue import review_counts
from engine.practice.replace import replace_question
from engine.profiles import get_profile
from ui.auth import require_account
from ui.jobs import job_card
from ui.labels import FLAG_REASON_PHRASES, SCHEDULER_LABELS, label
from ui.runtime import get_runtime
from ui.text import escape_markdown

rt = get_runtime()
account = require_account()

st.title("Reviews")

try:
    profile = get_profile(rt, user_id=account.user_id)
    counts = review_counts(rt, user_id=account.user_id)
    info = scheduler_info(rt, user_id=account.user_id)
    attention = needs_attention(rt, user_id=account.user_id)
except EngineError as e:
    st.error(e.user_message)
    st.stop()
zone = zoneinfo.ZoneInfo(profile.timezone)

now_col, today_col, week_col, new_col = st.columns(4)
now_col.metric("Due now", counts.due_now)
today_col.metric("Due today", counts.due_today, help="By midnight in your time zone")
week_col.metric("Due this week", counts.due_week, help="Within the next 7 days")
new_col.metric("New, not yet seen", counts.new_available)
if counts.next_due_at is not None:
    local = counts.next_due_at.astimezone(zone)
    st.caption(f"Next review after now: {local:%A %d %B, %H:%M} ({profile.timezone}).")

scheduler = SCHEDULER_LABELS[counts.scheduler]
if counts.scheduler == Scheduler.FSRS:
    detail = (
        "with parameters fitted to your own answers"
        if info.personal
        else "with its default parameters"
    )
else:
    detail = "the classic algorithm"
st.info(
    f"Scheduler in use: **{scheduler}** ({detail}). Change it under Profile & settings.",
    icon=":material/event_repeat:",
)

st.subheader("Queue by material")
if not counts.by_material:
    st.caption(
        "Nothing scheduled yet: answer questions on the Today page and they will be "
        "scheduled for review here."
    )
else:
    st.dataframe(
        [
            {
                "Material": m.material_title,
                "Due now": m.due_now,
                "Due this week": m.due_week,
                "Scheduled": m.scheduled,
            }
            for m in counts.by_material
        ],
        hide_index=True,
        width="stretch",
    )

st.subheader("Needs your attention")
if not attention:
    st.caption(
        "No flagged or retired questions. Flag a question from the Today page when "
        "something is wrong with it."
    )
if attention and any(i.status == QuestionStatus.ACTIVE for i in attention):
    st.caption(
        "Questions flagged as unclear, duplicate or other stay in your queue; keep "
        "them to clear the flag, retire or replace them."
    )
for item in attention:
    with st.container(border=True, key=f"attention_{item.question_id}"):
        status = {
            QuestionStatus.FLAGGED: "Flagged: out of your queue until you decide",
            QuestionStatus.RETIRED: "Retired",
        }.get(item.status, "Flagged: still in your queue")
        quality = "unrated" if item.quality_score is None else f"quality {item.quality_score:.2f}"
        st.caption(
            f"{status} · {escape_markdown(item.material_title)}, p. {item.page_start} · {quality}"
        )
        st.markdown(escape_markdown(item.stem))
        for reason, note in item.open_flags:
            st.caption(
                f"Flagged {label(FLAG_REASON_PHRASES, reason)}"
                + (f": {escape_markdown(note)}" if note else "")
            )
        keep_col, retire_col, replace_col = st.columns(3)
        if keep_col.button(
            "Keep it", key=f"keep_{item.question_id}", help="Put it back in your queues"
        ):
            try:
                keep_question(rt, user_id=account.user_id, question_id=item.question_id)
            except EngineError as e:
                st.error(e.user_message)
            else:
                st.rerun()
        if item.status != QuestionStatus.RETIRED and retire_col.button(
            "Retire it",
            key=f"retire_{item.question_id}",
            help="Take it out of your queues for good; its history is kept",
        ):
            try:
                retire_question(rt, user_id=account.user_id, question_id=item.question_id)
            except EngineError as e:
                st.error(e.user_message)
            else:
                st.rerun()
        if item.replaceable and replace_col.button(
            "Replace it",
            key=f"replace_{item.question_id}",
            help="Write a new question from the same passage; it keeps this one's review schedule",
        ):
            try:
                with st.spinner("Writing a new question from the same passage…"):
                    replace_question(rt, user_id=account.user_id, question_id=item.question_id)
            except EngineError as e:
                st.error(e.user_message)
            else:
                st.toast("Replaced. The new question keeps the old one's schedule.")
                st.rerun()

if counts.scheduler == Scheduler.FSRS:
    st.subheader("Personal FSRS parameters")
    st.caption(
        f"FSRS can be fitted to your own answers once you have {info.min_reviews} "
        f"(you have {info.reviews}). The fitted parameters are used only if they predict "
        "your most recent answers better than the ones in use; otherwise nothing changes."
    )
    if info.message:
        fitted = info.fitted_at.astimezone(zone) if info.fitted_at else None
        st.caption(f"Last fit{f' on {fitted:%d %b %Y}' if fitted else ''}: {info.message}")
    try:
        fitting = active_job(rt, user_id=account.user_id, kind=JobKind.FIT_FSRS)
    except EngineError as e:
        st.error(e.user_message)
        fitting = None
    if st.button(
        "Fit FSRS to my answers",
        key="reviews_optimise",
        disabled=info.reviews < info.min_reviews or fitting is not None,
    ):
        try:
            submit_fsrs_fit(rt, user_id=account.user_id)
        except EngineError as e:
            st.error(e.user_message)
        else:
            st.rerun()

    @st.fragment(run_every=1.0 if fitting else None)
    def _fit_progress() -> None:
        """The latest fit (runs in the background; can take a minute), until dismissed."""
        try:
            jobs = recent_jobs(rt, user_id=account.user_id, kinds=(JobKind.FIT_FSRS,), limit=1)
        except EngineError as e:
            st.error(e.user_message)
            return
        for job in jobs:
            job_card(rt, job, user_id=account.user_id, key="reviews_fit")
        if fitting and jobs and jobs[0].finished:
            st.rerun()  # show the new parameters' message above

    _fit_progress()
