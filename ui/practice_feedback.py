"""The feedback card on the Today page (the verdict, the answers, the cited source, XP and the
next review, then Next, "I was right" and Flag) and the end-of-session summary.

Every string from the material, the learner or a model is escaped before Markdown renders it.
The actions are buttons with callbacks the page supplies, so a click is handled before the
card's fragment runs again and its result is drawn in that same run.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable

import streamlit as st

from engine.practice.session_rules import SessionSummary
from engine.practice.submit import AnswerResult
from ui.labels import FLAG_REASON_LABELS
from ui.practice import CONFIDENCE, NEXT_KEY
from ui.text import escape_markdown, plural

DISPUTE_NOTE_KEY = "today_dispute_note"
FLAG_REASON_KEY = "today_flag_reason"
FLAG_NOTE_KEY = "today_flag_note"
DISPUTE_POPOVER_KEY = "today_dispute_open"
FLAG_POPOVER_KEY = "today_flag_open"


def due_in_words(moment: dt.datetime | None, zone: zoneinfo.ZoneInfo, now: dt.datetime) -> str:
    """A due time in the learner's own zone, in words ("tomorrow at 09:00")."""
    if moment is None:
        return "not scheduled"
    local = moment.astimezone(zone)
    if moment <= now:
        return "now"
    days = (local.date() - now.astimezone(zone).date()).days
    if days == 0:
        return f"today at {local:%H:%M}"
    if days == 1:
        return f"tomorrow at {local:%H:%M}"
    if days < 7:
        return f"{local:%A} at {local:%H:%M}"
    return f"{local:%d %b %Y}"


def _verdict(result: AnswerResult) -> None:
    """One verdict, then the answers, the explanation and the source sentence (shown once)."""
    if result.duplicate:
        st.info(
            "This question was already answered (in another tab or by a second click); "
            "here is that answer's result. It was counted once."
        )
    if result.correct and result.disputed:
        st.success("You disputed this, so it now counts as right.", icon=":material/gavel:")
    elif result.correct:
        st.success(
            "Right!" if result.grader in ("exact", "choice") else escape_markdown(result.reason),
            icon=":material/check_circle:",
        )
    else:
        st.error("Not quite.", icon=":material/cancel:")
        if result.grader in ("keypoints", "llm") or "blanks right" in result.reason:
            st.caption(escape_markdown(result.reason))
    if not result.correct:
        st.markdown(f"**Your answer:** {escape_markdown(result.your_answer)}")
    st.markdown(f"**Correct answer:** {escape_markdown(result.correct_answer)}")
    if result.explanation and result.excerpt.strip() not in result.explanation:
        st.markdown(escape_markdown(result.explanation))
    with st.container(border=True):
        pages = f"p. {result.page_start}" + (
            f"–{result.page_end}" if result.page_end != result.page_start else ""
        )
        st.caption(f"Source: {escape_markdown(result.material_title)}, {pages}")
        st.text(result.excerpt)


def feedback_card(
    result: AnswerResult,
    *,
    said: int | None,
    next_due: str,
    on_next: Callable[[], None],
    on_dispute: Callable[[], None],
    on_flag: Callable[[], None],
    flagged: str | None = None,
) -> None:
    """The feedback on one answer and its actions.

    Args:
        result: the graded answer.
        said: how sure the learner said they were (1-5), or None (a flashcard).
        next_due: the next review in words (`due_in_words`).
        on_next, on_dispute, on_flag: callbacks of Next, "Count it as right" (the note is in
            `DISPUTE_NOTE_KEY`) and "Flag question" (`FLAG_REASON_KEY`, `FLAG_NOTE_KEY`).
        flagged: the confirmation to show once the question was flagged.
    """
    _verdict(result)
    gained = f"+{result.xp_earned} XP" if not result.duplicate else "no new XP"
    st.caption(
        (f"You said: {CONFIDENCE[said]} · " if said in CONFIDENCE else "")
        + f"{gained} · {result.xp_total:,} XP · level {result.level} · streak "
        f"{plural(result.streak, 'day')} · next review {next_due}"
    )
    if result.leveled_up:
        st.balloons()
        st.success(f"Level {result.level} reached!")
    # One row container, not columns: fewer blocks to draw after every check.
    actions = st.container(horizontal=True, key="today_actions")
    actions.button(
        "Next question",
        key="today_next",
        type="primary",
        on_click=on_next,
        icon=":material/arrow_forward:",
        shortcut=NEXT_KEY,
    )
    if not result.correct and not result.disputed and result.grader != "self":
        # Popovers draw their contents only while open: every checked answer's card stays
        # small (opening one runs the card once more).
        dispute = actions.popover(
            "I was right", icon=":material/gavel:", key=DISPUTE_POPOVER_KEY, on_change="rerun"
        )
        if dispute.open:
            with dispute:
                st.text_input("Why (optional)", key=DISPUTE_NOTE_KEY, max_chars=1000)
                st.button("Count it as right", key="today_dispute", on_click=on_dispute)
    if flagged:
        actions.success(flagged, icon=":material/flag:")
        return
    flag = actions.popover("Flag", icon=":material/flag:", key=FLAG_POPOVER_KEY, on_change="rerun")
    if not flag.open:
        return
    with flag, st.form("today_flag"):
        st.radio(
            "What is wrong?",
            list(FLAG_REASON_LABELS),
            format_func=FLAG_REASON_LABELS.get,
            key=FLAG_REASON_KEY,
        )
        st.text_area("Note", key=FLAG_NOTE_KEY, max_chars=1000)
        st.form_submit_button("Flag question", on_click=on_flag)


def session_summary(summary: SessionSummary, *, next_due: str) -> None:
    """The end-of-session card: answers, accuracy, XP and the questions asked again."""
    with st.container(border=True, key="today_summary"):
        st.subheader("Session summary", anchor=False)
        a, b, c = st.columns(3)
        a.metric("Answered", summary.answered)
        b.metric("Accuracy", f"{summary.accuracy:.0%}")
        c.metric("XP earned", f"+{summary.xp}")
        if summary.relearned:
            n = summary.relearned
            st.caption(
                f"{plural(n, 'question')} you missed {'was' if n == 1 else 'were'}"
                " asked again before the end."
            )
        st.caption(f"Next review due {next_due}.")
