"""Today: due reviews first, then new questions; one at a time, with feedback and a source."""

from __future__ import annotations

import datetime as dt
import time
import uuid
import zoneinfo

import streamlit as st

from engine.domain.vocabulary import FLASHCARD_FORM
from engine.errors import EngineError, QuestionUnavailable
from engine.practice.dispute import dispute_attempt
from engine.practice.flags import flag_question
from engine.practice.queue import (
    TodayQueue,
    build_queue,
    get_practice_question,
    review_counts,
)
from engine.practice.submit import AnswerResult, rate_flashcard, submit_answer
from engine.profiles import get_profile
from ui.auth import require_account
from ui.flashcard import flashcard_rating
from ui.practice import (
    CHECK_KEY,
    CONFIDENCE,
    NEXT_KEY,
    confidence_buttons,
    option_buttons,
    reset_answer,
)
from ui.runtime import get_runtime
from ui.text import escape_markdown

rt = get_runtime()
account = require_account()

FLAG_REASONS = {
    "wrong": "The answer is wrong",
    "unclear": "The question is unclear",
    "duplicate": "It duplicates another question",
    "other": "Something else",
}

st.session_state.setdefault("today_current", None)  # {question_id, reviews, token, shown_at}
st.session_state.setdefault("today_result", None)
st.session_state.setdefault("today_extra_new", 0)
# This visit's session: answers, XP, and the questions answered wrongly, re-asked once.
st.session_state.setdefault(
    "today_session", {"answered": 0, "correct": 0, "xp": 0, "relearn": [], "relearned": []}
)

try:
    profile = get_profile(rt, user_id=account.user_id)
except EngineError as e:
    st.error(e.user_message)
    st.stop()
zone = zoneinfo.ZoneInfo(profile.timezone)


def when(moment: dt.datetime | None) -> str:
    """A due time in the learner's own zone, in words."""
    if moment is None:
        return "not scheduled"
    now = dt.datetime.now(dt.UTC)
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


def next_question() -> None:
    st.session_state["today_current"] = None
    st.session_state["today_result"] = None
    reset_answer()


def record(answered: AnswerResult, kind: str) -> None:
    """Count an answer in this session; a wrong one is re-asked once before the end."""
    session = st.session_state["today_session"]
    if answered.duplicate:
        return
    session["answered"] += 1
    session["correct"] += int(answered.correct)
    session["xp"] += answered.xp_earned
    qid = answered.question_id
    if kind == "relearn" or qid in session["relearn"]:
        if qid in session["relearn"]:
            session["relearn"].remove(qid)
        session["relearned"].append(qid)
    elif not answered.correct and qid not in session["relearned"]:
        session["relearn"].append(qid)


def disputed(rescored: AnswerResult) -> None:
    """A disputed answer now counts as right: it is not re-asked, and the summary agrees."""
    session = st.session_state["today_session"]
    if rescored.question_id in session["relearn"]:
        session["relearn"].remove(rescored.question_id)
    session["correct"] += int(rescored.correct)
    session["xp"] += max(0, rescored.xp_earned - result.xp_earned)


def show_summary(queue: TodayQueue) -> None:
    session = st.session_state["today_session"]
    if not session["answered"]:
        return
    with st.container(border=True, key="today_summary"):
        st.subheader("Session summary", anchor=False)
        answered, correct = session["answered"], session["correct"]
        a, b, c = st.columns(3)
        a.metric("Answered", answered)
        b.metric("Accuracy", f"{100 * correct / answered:.0f}%")
        c.metric("XP earned", f"+{session['xp']}")
        if session["relearned"]:
            n = len(session["relearned"])
            st.caption(
                f"{n} question{'s' if n != 1 else ''} you missed {'were' if n != 1 else 'was'}"
                " asked again before the end."
            )
        st.caption(f"Next review due {when(queue.next_due_at)}.")


st.title("Today")

try:
    queue = build_queue(rt, user_id=account.user_id, extra_new=st.session_state["today_extra_new"])
except EngineError as e:
    st.error(e.user_message)
    st.stop()

due_col, new_col, done_col, xp_col = st.columns(4)
due_col.metric("Due reviews", queue.due_now)
new_col.metric("New today", queue.new_allowed)
done_col.metric("Answered today", f"{queue.answered_today} / {queue.daily_target}")
xp_col.metric("XP", f"{profile.xp:,}", help=f"Level {profile.level}")

result: AnswerResult | None = st.session_state["today_result"]
current = st.session_state["today_current"]

if current is None and result is None:
    relearn = st.session_state["today_session"]["relearn"]
    if not queue.entries and relearn:
        current = {
            "question_id": relearn[0],
            "reviews": None,
            "token": uuid.uuid4().hex,
            "shown_at": time.monotonic(),
            "kind": "relearn",
        }
        st.session_state["today_current"] = current
    elif not queue.entries:
        show_summary(queue)
        if queue.active_questions == 0:
            st.info(
                "There are no questions in your bank yet. Upload a PDF to your library and "
                "generate questions from it; they will appear here.",
                icon=":material/quiz:",
            )
        else:
            st.success(
                f"All done for now. Your next review is due {when(queue.next_due_at)}.",
                icon=":material/task_alt:",
            )
            counts = review_counts(rt, user_id=account.user_id)
            if counts.new_available:
                more = min(10, counts.new_available)
                if st.button(
                    f"Learn {more} more new question{'s' if more != 1 else ''}",
                    key="today_more",
                    icon=":material/add:",
                ):
                    st.session_state["today_extra_new"] += more
                    st.rerun()
        st.stop()
    else:
        entry = queue.entries[0]
        current = {
            "question_id": entry.question_id,
            "reviews": entry.reviews,
            "token": uuid.uuid4().hex,
            "shown_at": time.monotonic(),
            "kind": entry.kind,
        }
        st.session_state["today_current"] = current

try:
    question = get_practice_question(
        rt, user_id=account.user_id, question_id=current["question_id"]
    )
except QuestionUnavailable as e:
    st.warning(e.user_message)
    if current["question_id"] in st.session_state["today_session"]["relearn"]:
        st.session_state["today_session"]["relearn"].remove(current["question_id"])
    next_question()
    st.button("Next question", key="today_skip", shortcut=NEXT_KEY)
    st.stop()
except EngineError as e:
    st.error(e.user_message)
    next_question()
    st.stop()

if current["reviews"] is None:
    current["reviews"] = question.reviews
label = {"review": "Review", "relearn": "Again: you missed this one earlier"}.get(
    current["kind"], "New question"
)
st.caption(
    f"{label} · {escape_markdown(question.material_title)}, p. {question.page_start}"
    + (f"–{question.page_end}" if question.page_end != question.page_start else "")
    + f" · difficulty {question.difficulty}/5"
)
st.subheader(escape_markdown(question.stem), anchor=False)

if result is None and question.form == FLASHCARD_FORM:
    rating = flashcard_rating(question, token=current["token"], key="today")
    if rating is None:
        st.stop()
    try:
        answered = rate_flashcard(
            rt,
            user_id=account.user_id,
            question_id=question.id,
            token=current["token"],
            rating=rating,
            seconds=time.monotonic() - current["shown_at"],
            expected_reviews=current["reviews"],
        )
    except EngineError as e:
        st.error(e.user_message)
        st.stop()
    st.session_state["today_result"] = answered
    record(answered, current["kind"])
    st.rerun()

if result is None:
    # Keyboard first: 1-9 pick an option, Shift+1..5 say how sure, Enter checks.
    if question.type == "mcq":
        shown = option_buttons(question.options or [])
        # Options are shown shuffled per answer: submit the stored index.
        response: str | int | None = None if shown is None else question.option_index(shown)
        confidence = confidence_buttons()
        submitted = st.button("Check answer", key="today_check", type="primary", shortcut=CHECK_KEY)
    else:
        confidence = confidence_buttons()
        with st.form("today_answer", clear_on_submit=False, border=False):
            if question.type == "cloze" and question.stem.count("_____") > 1:
                parts = [
                    st.text_input(f"Blank {i + 1}", key=f"today_blank_{i}", max_chars=120)
                    for i in range(question.stem.count("_____"))
                ]
                response = (
                    "; ".join(p.strip() for p in parts) if any(p.strip() for p in parts) else ""
                )
            elif question.type == "cloze":
                response = st.text_input(
                    "Fill in the blank (Enter checks)", key="today_text", max_chars=300
                )
            else:
                response = st.text_area(
                    "Your answer (Ctrl+Enter checks)",
                    key="today_text",
                    max_chars=4000,
                    placeholder="Answer in a sentence or two",
                )
            submitted = st.form_submit_button("Check answer", type="primary", shortcut=CHECK_KEY)
    if submitted:
        if response is None or (isinstance(response, str) and not response.strip()):
            st.error("Choose or type an answer first.")
            st.stop()
        try:
            with st.spinner("Checking your answer…"):
                answered = submit_answer(
                    rt,
                    user_id=account.user_id,
                    question_id=question.id,
                    token=current["token"],
                    response=response,
                    confidence=confidence,
                    seconds=time.monotonic() - current["shown_at"],
                    expected_reviews=current["reviews"],
                )
        except EngineError as e:
            st.error(e.user_message)
            st.stop()
        st.session_state["today_result"] = answered
        st.session_state["today_said"] = confidence
        record(answered, current["kind"])
        st.rerun()
    st.stop()

# --- feedback ------------------------------------------------------------------------------------
if result.duplicate:
    st.info(
        "This question was already answered (in another tab or by a second click); "
        "here is that answer's result. It was counted once."
    )
# One verdict, then the answers, the explanation and the source sentence (shown once).
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

gained = f"+{result.xp_earned} XP" if not result.duplicate else "no new XP"
said = st.session_state.get("today_said")
st.caption(
    (f"You said: {CONFIDENCE[said]} · " if said in CONFIDENCE else "")
    + f"{gained} · {result.xp_total:,} XP · level {result.level} · streak "
    f"{result.streak} day{'s' if result.streak != 1 else ''} · next review "
    f"{when(result.next_due_at)}"
)
if result.leveled_up:
    st.balloons()
    st.success(f"Level {result.level} reached!")

next_col, dispute_col, flag_col = st.columns(3)
next_col.button(
    "Next question",
    key="today_next",
    type="primary",
    on_click=next_question,
    icon=":material/arrow_forward:",
    shortcut=NEXT_KEY,
)
if not result.correct and not result.disputed and result.grader != "self":
    with dispute_col.popover("I was right", icon=":material/gavel:"):
        note = st.text_input("Why (optional)", key="today_dispute_note", max_chars=1000)
        if st.button("Count it as right", key="today_dispute"):
            try:
                st.session_state["today_result"] = dispute_attempt(
                    rt, user_id=account.user_id, attempt_id=result.attempt_id, note=note
                )
            except EngineError as e:
                st.error(e.user_message)
            else:
                disputed(st.session_state["today_result"])
                st.rerun()
with flag_col.popover("Flag", icon=":material/flag:"):
    with st.form("today_flag"):
        reason = st.radio(
            "What is wrong?",
            list(FLAG_REASONS),
            format_func=FLAG_REASONS.get,
            key="today_flag_reason",
        )
        flag_note = st.text_area("Note", key="today_flag_note", max_chars=1000)
        flagged = st.form_submit_button("Flag question")
    if flagged:
        try:
            outcome = flag_question(
                rt,
                user_id=account.user_id,
                question_id=result.question_id,
                reason=reason,
                note=flag_note,
                attempt_id=result.attempt_id,
            )
        except EngineError as e:
            st.error(e.user_message)
        else:
            st.toast(
                "Thanks, flagged."
                + (
                    " It is out of your queue until you review it on the Reviews page."
                    if outcome.status != "active"
                    else ""
                )
            )
