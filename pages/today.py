"""Today: due reviews first, then new questions; one at a time, with feedback and a source.

The practice card is a fragment: checking an answer, rating a flashcard, Next, "I was right"
and Flag are handled by callbacks and drawn in that same fragment run, never by a second run of
the whole page. The session's rules (what comes next, missed questions asked once more, the
summary) are `engine.practice.session_rules`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
import zoneinfo
from collections.abc import Sequence

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from engine.bank.images import ANSWER_SIDE, QUESTION_SIDE, ShownImage, images_for
from engine.courses.revisions import dismiss_notice, unseen_notices
from engine.domain.vocabulary import FLASHCARD_FORM, QuestionStatus, QuestionType
from engine.errors import EngineError, QuestionUnavailable
from engine.practice import session_rules as rules
from engine.practice.dispute import dispute_attempt
from engine.practice.flags import flag_question
from engine.practice.queue import (
    PracticeQuestion,
    TodayQueue,
    build_queue,
    get_practice_question,
    review_counts,
)
from engine.practice.submit import AnswerResult, rate_flashcard, submit_answer
from engine.profiles import get_profile
from ui.auth import require_account
from ui.flashcard import flashcard_face, take_rating
from ui.practice import NEXT_KEY, answer_form, given_answer, given_confidence, reset_answer
from ui.practice_feedback import (
    DISPUTE_NOTE_KEY,
    FLAG_NOTE_KEY,
    FLAG_REASON_KEY,
    due_in_words,
    feedback_card,
    session_summary,
)
from ui.question_images import show_images
from ui.runtime import get_runtime
from ui.text import escape_markdown, plural

rt = get_runtime()
account = require_account()
uid = account.user_id

CURRENT, RESULT, SESSION = "today_current", "today_result", "today_session"
# What this showing's runs read once: the question, its pictures and the header's counts.
# Picking an option or a confidence changes no data, so its run reads nothing again; every
# action that changes data (an answer, a rating, a dispute, a flag) marks the counts stale.
CARD, CHANGED = "today_card", "today_changed"
# Next carries the last card's counts to the next one: they were read after its answer.
CARRIED = "today_carried_counts"
st.session_state.setdefault(CURRENT, None)  # {question_id, reviews, token, shown_at, kind}
st.session_state.setdefault(RESULT, None)
st.session_state.setdefault("today_extra_new", 0)
st.session_state.setdefault(SESSION, rules.SessionTally())  # this visit's session
# A whole run of the page (arriving from another page, a reload) reads everything afresh: the
# question may have been edited, or answered elsewhere, meanwhile. Card runs keep CARD.
st.session_state[CARD] = None
st.session_state[CARRIED] = None

try:
    zone = zoneinfo.ZoneInfo(get_profile(rt, user_id=uid).timezone)
except EngineError as e:
    st.error(e.user_message)
    st.stop()

# Notices from courses (e.g. a corrected answer key re-graded the learner's answers).
for notice_id, notice in unseen_notices(rt, user_id=uid):
    st.info(escape_markdown(notice), icon=":material/campaign:")
    if st.button("Dismiss", key=f"today_notice_{notice_id}"):
        dismiss_notice(rt, user_id=uid, notice_id=notice_id)
        st.rerun()


def when(moment: dt.datetime | None) -> str:
    return due_in_words(moment, zone, dt.datetime.now(dt.UTC))


# --- callbacks: run before the fragment draws again ------------------------------------------
def next_question() -> None:
    st.session_state[CARRIED] = (st.session_state.get(CARD) or {}).get("queue")
    st.session_state[CURRENT] = None
    st.session_state[CARD] = None
    st.session_state[RESULT] = None
    st.session_state.pop("today_flagged", None)
    st.session_state.pop("today_checking", None)
    reset_answer()


def answered(result: AnswerResult) -> None:
    """Show this result and count it in the session."""
    st.session_state[RESULT] = result
    st.session_state[CHANGED] = True
    st.session_state[SESSION] = rules.record_answer(
        st.session_state[SESSION],
        question_id=result.question_id,
        correct=result.correct,
        xp_earned=result.xp_earned,
        duplicate=result.duplicate,
        kind=st.session_state[CURRENT]["kind"],
    )


def ask_check(token: str) -> None:
    st.session_state["today_checking"] = token


def dispute() -> None:
    """ "Count it as right": re-score the attempt; it is not asked again."""
    before: AnswerResult = st.session_state[RESULT]
    try:
        rescored = dispute_attempt(
            rt,
            user_id=uid,
            attempt_id=before.attempt_id,
            note=st.session_state.get(DISPUTE_NOTE_KEY, ""),
        )
    except EngineError as e:
        st.session_state["today_error"] = e.user_message
        return
    st.session_state[RESULT] = rescored
    st.session_state[CHANGED] = True
    st.session_state[SESSION] = rules.record_dispute(
        st.session_state[SESSION],
        question_id=rescored.question_id,
        correct=rescored.correct,
        xp_before=before.xp_earned,
        xp_after=rescored.xp_earned,
    )


def flag() -> None:
    """ "Flag question": record the flag and confirm it (a toast and a note on the card)."""
    result: AnswerResult = st.session_state[RESULT]
    try:
        outcome = flag_question(
            rt,
            user_id=uid,
            question_id=result.question_id,
            reason=st.session_state[FLAG_REASON_KEY],
            note=st.session_state.get(FLAG_NOTE_KEY, ""),
            attempt_id=result.attempt_id,
        )
    except EngineError as e:
        st.session_state["today_error"] = e.user_message
        return
    message = "Thanks, flagged." + (
        " It is out of your queue until you review it on the Reviews page."
        if outcome.status != QuestionStatus.ACTIVE
        else ""
    )
    st.session_state["today_flagged"] = message
    st.session_state[CHANGED] = True
    st.toast(message, icon=":material/flag:")


def learn_more(more: int) -> None:
    st.session_state["today_extra_new"] += more
    st.session_state[CHANGED] = True


# --- the card --------------------------------------------------------------------------------
def grade(question: PracticeQuestion, current: dict) -> None:
    """Grade what was just sent (a rating or the answer form), if anything was."""
    rating = take_rating("today", current["token"])
    # Only a click on this showing's button checks it (never a late one from the last card).
    checking = st.session_state.pop("today_checking", None) == current["token"]
    seconds = time.monotonic() - current["shown_at"]
    common = {
        "user_id": uid,
        "question_id": question.id,
        "token": current["token"],
        "seconds": seconds,
    }
    try:
        if rating is not None:
            answered(
                rate_flashcard(rt, **common, rating=rating, expected_reviews=current["reviews"])
            )
        elif checking:
            response = given_answer(question)
            if response is None or (isinstance(response, str) and not response.strip()):
                st.session_state["today_error"] = "Choose or type an answer first."
                return
            st.session_state["today_said"] = given_confidence()
            # A chosen option is graded at once; a typed answer may wait for a model.
            waits = question.type != QuestionType.MCQ
            with st.spinner("Checking your answer…") if waits else contextlib.nullcontext():
                result = submit_answer(
                    rt,
                    **common,
                    response=response,
                    confidence=st.session_state["today_said"],
                    expected_reviews=current["reviews"],
                )
            answered(result)
    except EngineError as e:
        st.session_state["today_error"] = e.user_message


def session_over(queue: TodayQueue) -> None:
    """The end of the session: its summary and what is left for today."""
    if summary := rules.summarize(st.session_state[SESSION]):
        session_summary(summary, next_due=when(queue.next_due_at))
    if queue.active_questions == 0:
        st.info(
            "There are no questions in your bank yet. Upload a PDF to your library and "
            "generate questions from it; they will appear here.",
            icon=":material/quiz:",
        )
        return
    st.success(
        f"All done for now. Your next review is due {when(queue.next_due_at)}.",
        icon=":material/task_alt:",
    )
    counts = review_counts(rt, user_id=uid)
    if counts.new_available:
        more = min(10, counts.new_available)
        st.button(
            f"Learn {plural(more, 'more new question', 'more new questions')}",
            key="today_more",
            icon=":material/add:",
            on_click=learn_more,
            args=(more,),
        )


def show_question(question: PracticeQuestion, current: dict, images: Sequence[ShownImage]) -> None:
    label = {"review": "Review", "relearn": "Again: you missed this one earlier"}.get(
        current["kind"], "New question"
    )
    st.caption(
        f"{label} · {escape_markdown(question.material_title)}, p. {question.page_start}"
        + (f"–{question.page_end}" if question.page_end != question.page_start else "")
        + f" · difficulty {question.difficulty}/5"
    )
    st.subheader(escape_markdown(question.stem), anchor=False)
    show_images(images, QUESTION_SIDE)


def card(current: dict) -> dict:
    """This showing's reads (see CARD), emptied when another question is shown."""
    cached = st.session_state.get(CARD)
    if cached is None or cached["token"] != current["token"]:
        cached = st.session_state[CARD] = {"token": current["token"]}
    return cached


def pictures(question: PracticeQuestion, current: dict) -> list[ShownImage] | None:
    """The question's pictures (None, with the reason shown, when they cannot be read)."""
    cached = card(current)
    if not question.has_images:
        return []
    if "images" not in cached:
        try:
            found = images_for(rt, user_id=uid, question_ids=[question.id])
        except EngineError as e:
            st.error(e.user_message)
            return None
        cached["images"] = found.get(question.id, [])
    return cached["images"]


def load_question(current: dict) -> PracticeQuestion | None:
    """The question to show, or None (with a message and a way on) when it cannot be shown."""
    cached = card(current)
    if "question" in cached:
        return cached["question"]  # checking it again is the engine's, when it is answered
    try:
        cached["question"] = get_practice_question(
            rt, user_id=uid, question_id=current["question_id"]
        )
        return cached["question"]
    except QuestionUnavailable as e:
        st.warning(e.user_message)
        st.session_state[SESSION] = rules.drop_question(
            st.session_state[SESSION], current["question_id"]
        )
        next_question()
        st.button("Next question", key="today_skip", shortcut=NEXT_KEY)
    except EngineError as e:
        st.error(e.user_message)
        next_question()
    return None


def counts(current: dict | None) -> TodayQueue:
    """Today's queue and counts: read again unless this showing has them and nothing
    changed since (a pick of an option or a confidence changes nothing), or, for the next
    question, the last card read them after its answer."""
    changed = st.session_state.pop(CHANGED, False)
    carried = st.session_state.pop(CARRIED, None)
    if current is None and carried is not None and not changed:
        return carried
    cached = card(current) if current is not None else {}
    if changed or "queue" not in cached:
        cached["queue"] = build_queue(
            rt, user_id=uid, extra_new=st.session_state["today_extra_new"]
        )
    return cached["queue"]


def header(slot: DeltaGenerator, current: dict | None) -> TodayQueue | None:
    """Due, new, answered today and XP in the card's top row, counted after any answer sent
    in this run; the queue, or None (with the reason shown there) when it cannot be read."""
    try:
        queue = counts(current)
    except EngineError as e:
        slot.error(e.user_message)
        return None
    slot.metric("Due reviews", queue.due_now)
    slot.metric("New today", queue.new_allowed)
    slot.metric("Answered today", f"{queue.answered_today} / {queue.daily_target}")
    slot.metric("XP", f"{queue.xp:,}", help=f"Level {queue.level}")
    return queue


def show_feedback(
    question: PracticeQuestion, result: AnswerResult, images: Sequence[ShownImage]
) -> None:
    """The answer's feedback, then the pictures of the card's answer side."""
    feedback_card(
        result,
        said=None if result.grader == "self" else st.session_state.get("today_said"),
        next_due=when(result.next_due_at),
        on_next=next_question,
        on_dispute=dispute,
        on_flag=flag,
        flagged=st.session_state.get("today_flagged"),
    )
    if question.form != FLASHCARD_FORM:
        show_images(images, ANSWER_SIDE)


def next_current(queue: TodayQueue) -> dict | None:
    """Show the session's next question (None: the session is over, its summary shown)."""
    step = rules.next_step(st.session_state[SESSION], queue.entries)
    if step is None:
        session_over(queue)
        return None
    current = {
        "question_id": step.question_id,
        "reviews": step.reviews,
        "token": uuid.uuid4().hex,
        "shown_at": time.monotonic(),
        "kind": step.kind.value,
    }
    st.session_state[CURRENT] = current
    card(current)["queue"] = queue
    return current


def draw_card(question: PracticeQuestion, current: dict) -> None:
    """The question, then its answer form (or flashcard) or the answer's feedback."""
    if (images := pictures(question, current)) is None:
        return
    show_question(question, current, images)
    error = st.session_state.pop("today_error", None)
    result: AnswerResult | None = st.session_state[RESULT]
    if result is None:
        # Keyboard first: 1-9 pick an option, Shift+1..5 say how sure, Enter checks.
        if question.form == FLASHCARD_FORM:
            flashcard_face(question, token=current["token"], key="today", images=images)
        else:
            answer_form(question, token=current["token"], on_check=ask_check)
        if error:
            st.error(error)
        return
    if error:
        st.error(error)
    show_feedback(question, result, images)


@st.fragment
def practice() -> None:
    """Header counts, then the current question, its feedback, or the end of the session.

    The header's row comes first on screen; for a question already shown it is filled last,
    so an answer's verdict is drawn before the counts that include it are read."""
    # One row container, not columns: four blocks fewer to draw on every card run.
    top = st.container(horizontal=True, key="today_header")
    current = st.session_state[CURRENT]
    counted = current is None  # the next question is chosen from fresh or carried counts
    if counted:
        queue = header(top, None)
        current = next_current(queue) if queue is not None else None
        if current is None:
            return
    if (question := load_question(current)) is None:
        return
    if current["reviews"] is None:
        current["reviews"] = question.reviews
    if st.session_state[RESULT] is None:
        grade(question, current)  # first, so the feedback and the counts include it
    draw_card(question, current)
    if not counted:
        header(top, current)


st.title("Today")
practice()
