"""Answering a question: grade it, then record it in one transaction of two round trips.

Answering is idempotent: the page makes a token when it shows a question and passes the
question's review count as it was then, so a double click (same token) or a second tab (same
count, already moved on) returns the first answer's result instead of counting twice. The
learner's profile row is locked for the length of the transaction, which serialises their
answers; the unique (user_id, token) and (question_id, review_number) constraints are the
last line of defence. What the answer changes is decided by engine.practice.answering.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import llm, usage
from engine.courses.item_stats import analysis_params, question_cohort_score
from engine.courses.responses import record_copy_answer
from engine.db.models import Attempt, Profile, Question, ReviewState
from engine.domain.vocabulary import FLASHCARD_FORM, QuestionStatus, QuestionType
from engine.errors import InvalidInput, NotFound, QuestionUnavailable
from engine.practice import store
from engine.practice.answering import (
    AnswerOutcome,
    AnswerSnapshot,
    apply_answer,
    with_cohort_score,
)
from engine.practice.grading import QuestionForGrading, Verdict, grade
from engine.practice.params import answer_params
from engine.practice.statements import LOCK_AND_READ, snapshot_of, write_statement
from engine.scheduling.rating import Grade
from engine.scheduling.replay import QUALITY_FOR_RATING

if TYPE_CHECKING:
    from engine.runtime import Runtime

UNAVAILABLE = (
    "That question was flagged or retired while you were answering; your answer was not recorded."
)


@dataclass(frozen=True)
class AnswerResult:
    attempt_id: int
    question_id: int
    correct: bool
    score: float
    reason: str
    grader: str
    your_answer: str
    correct_answer: str
    explanation: str
    excerpt: str
    material_title: str
    page_start: int
    page_end: int
    xp_earned: int
    xp_total: int
    level: int
    leveled_up: bool
    streak: int
    best_streak: int
    next_due_at: dt.datetime | None
    scheduler: str
    duplicate: bool  # True when this was a repeat of an answer already recorded
    disputed: bool


# A flashcard's self-rating: its label, and the confidence recorded with it (Anki asks none;
# calibration charts then read a self-rating sensibly).
SELF_RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
CONFIDENCE_FOR_RATING = {1: 1, 2: 2, 3: 4, 4: 5}


def _self_rated(rating: int) -> tuple[Verdict, Grade]:
    """A flashcard rated by the learner: Again is a miss; the rating is the FSRS grade and
    SM-2 takes its usual quality for it (Again 1, Hard 3, Good 4, Easy 5)."""
    return (
        Verdict(
            rating > 1,
            1.0 if rating > 1 else 0.0,
            "self",
            f"You rated your recall {SELF_RATINGS[rating]}.",
        ),
        Grade(quality=QUALITY_FOR_RATING[rating], rating=rating),
    )


def _correct_answer(q: Question) -> str:
    if q.type == QuestionType.MCQ and q.options is not None and q.correct_index is not None:
        return q.options[q.correct_index]
    return q.answer


def _response_text(q: Question, response: str | int) -> str:
    if q.form == FLASHCARD_FORM and isinstance(response, int) and response in SELF_RATINGS:
        return SELF_RATINGS[response]
    if (
        q.type == QuestionType.MCQ
        and isinstance(response, int)
        and q.options
        and 0 <= response < len(q.options)
    ):
        return q.options[response]
    return str(response)


def recorded_result(
    session: Session, attempt: Attempt, q: Question, profile: Profile, *, duplicate: bool
) -> AnswerResult:
    """The result of an answer already recorded, as it stands now."""
    rs_due = session.scalar(
        select(ReviewState.due_at).where(ReviewState.question_id == q.id, ~ReviewState.suspended)
    )
    return AnswerResult(
        attempt_id=attempt.id,
        question_id=q.id,
        correct=attempt.correct,
        score=attempt.score,
        reason=attempt.grade_reason,
        grader=attempt.grader,
        your_answer=attempt.response,
        correct_answer=_correct_answer(q),
        explanation=q.explanation,
        excerpt=q.excerpt,
        material_title=q.material_title,
        page_start=q.page_start,
        page_end=q.page_end,
        xp_earned=attempt.xp,
        xp_total=profile.xp,
        level=profile.level,
        leveled_up=False,
        streak=profile.streak,
        best_streak=profile.best_streak,
        next_due_at=rs_due,
        scheduler=attempt.scheduler,
        duplicate=duplicate,
        disputed=attempt.disputed_at is not None,
    )


def _grading_view(q: Question) -> QuestionForGrading:
    return QuestionForGrading(
        q.type,
        q.stem,
        list(q.options) if q.options else None,
        q.correct_index,
        q.answer,
        list(q.key_points or []),
        q.excerpt,
    )


def _validate_answer(q: Question, response: str | int, confidence: int, token: str) -> None:
    problems = []
    if not isinstance(token, str) or not 8 <= len(token) <= 64:
        raise ValueError(
            "token must be a string of 8-64 characters made when the question was shown"
        )
    if not isinstance(confidence, int) or isinstance(confidence, bool) or not 1 <= confidence <= 5:
        problems.append("Choose how confident you are, from 1 to 5.")
    if q.form == FLASHCARD_FORM:
        if (
            not isinstance(response, int)
            or isinstance(response, bool)
            or response not in SELF_RATINGS
        ):
            problems.append("Rate how well you remembered it: Again, Hard, Good or Easy.")
    elif q.type == QuestionType.MCQ:
        if (
            not isinstance(response, int)
            or isinstance(response, bool)
            or q.options is None
            or not 0 <= response < len(q.options)
        ):
            problems.append("Choose one of the options.")
    elif not isinstance(response, str) or not response.strip():
        problems.append("Type your answer first.")
    if problems:
        raise InvalidInput(" ".join(problems))


def _existing(
    session: Session, user_id: int, question_id: int, token: str, expected_reviews: int | None
) -> Attempt | None:
    """The attempt this submission repeats: same token, or the same showing answered already."""
    conds = [Attempt.token == token]
    if expected_reviews is not None:
        conds.append(
            and_(Attempt.question_id == question_id, Attempt.review_number == expected_reviews + 1)
        )
    return session.scalar(
        select(Attempt).where(Attempt.user_id == user_id, or_(*conds)).order_by(Attempt.id).limit(1)
    )


@dataclass(frozen=True)
class _Submission:
    user_id: int
    question_id: int
    token: str
    response: str | int
    confidence: int
    seconds: int
    expected_reviews: int | None
    hinted: bool
    now: dt.datetime


def _grade_before_locking(rt: Runtime, sub: _Submission) -> Verdict | AnswerResult | None:
    """A short answer may go to the grading model, which can take seconds: grade it before
    taking any lock, once a repeat has been ruled out (then the repeat's result is returned).
    Other questions are graded inside the transaction (None)."""
    with rt.session_factory() as session:
        q = store.load_question(session, sub.user_id, sub.question_id)
        if q.type != QuestionType.SHORT or q.form == FLASHCARD_FORM:
            return None
        _validate_answer(q, sub.response, sub.confidence, sub.token)
        repeat = _existing(session, sub.user_id, q.id, sub.token, sub.expected_reviews)
        if repeat is not None:
            return recorded_result(
                session, repeat, q, store.load_profile(session, sub.user_id), duplicate=True
            )
        if q.status != QuestionStatus.ACTIVE:
            raise QuestionUnavailable(UNAVAILABLE)
        view = _grading_view(q)

    def meter(call: Callable[[], llm.Completion]) -> llm.Completion:
        return usage.metered(rt, user_id=sub.user_id, task=usage.GRADING, call=call)

    return grade(view, sub.response, settings=rt.settings, meter=meter)


def submit_answer(
    rt: Runtime,
    *,
    user_id: int,
    question_id: int,
    token: str,
    response: str | int,
    confidence: int,
    seconds: float,
    expected_reviews: int | None,
    hinted: bool = False,
    now: dt.datetime | None = None,
) -> AnswerResult:
    """Grade and record one answer; update the schedule, question quality, XP, level, streak.

    Args:
        token: made by the page when it showed the question (8-64 characters).
        response: the chosen option's index (multiple choice) or the typed answer.
        confidence: 1 (guessing) to 5 (certain).
        seconds: time from showing to submitting, measured on the server; clamped to 1-3600.
        expected_reviews: the question's review count when it was shown (`QueueEntry.reviews`);
            a submission for a showing that was already answered returns that answer.

    Raises:
        NotFound: no such question for this learner.
        QuestionUnavailable: the question was flagged or retired.
        InvalidInput: no option chosen, empty answer, confidence out of range.
    """
    sub = _Submission(
        user_id=user_id,
        question_id=question_id,
        token=token,
        response=response,
        confidence=confidence,
        seconds=int(min(3600, max(1, round(seconds)))),
        expected_reviews=expected_reviews,
        hinted=hinted,
        now=store.aware(now),
    )
    verdict: Verdict | None = None
    if llm.is_configured("grading", rt.settings):
        pre = _grade_before_locking(rt, sub)
        if isinstance(pre, AnswerResult):
            return pre
        verdict = pre

    try:
        return _record_answer(rt, sub, verdict)
    except IntegrityError:
        return _after_race(rt, sub, verdict)


def _after_race(rt: Runtime, sub: _Submission, verdict: Verdict | None) -> AnswerResult:
    """The unique constraints caught an answer that raced past the checks (two tabs answering
    at once; the locking read's joined rows come from the statement's snapshot). A repeat of
    the same showing reports the answer that was recorded; any other answer is recorded once
    more on top of the one that won."""
    with rt.session_factory() as session:
        q = store.load_question(session, sub.user_id, sub.question_id)
        repeat = _existing(session, sub.user_id, q.id, sub.token, sub.expected_reviews)
        if repeat is not None:
            return recorded_result(
                session, repeat, q, store.load_profile(session, sub.user_id), duplicate=True
            )
    return _record_answer(rt, sub, verdict)


def rate_flashcard(
    rt: Runtime,
    *,
    user_id: int,
    question_id: int,
    token: str,
    rating: int,
    seconds: float,
    expected_reviews: int | None,
    now: dt.datetime | None = None,
) -> AnswerResult:
    """Record a flashcard the learner turned over and rated (1 Again, 2 Hard, 3 Good, 4 Easy):
    the rating is the scheduler's grade; Again counts as a miss. Idempotent like
    `submit_answer`.

    Raises:
        NotFound, QuestionUnavailable: as `submit_answer`.
        InvalidInput: not a flashcard's rating.
    """
    if rating not in SELF_RATINGS:
        raise InvalidInput("Rate how well you remembered it: Again, Hard, Good or Easy.")
    return submit_answer(
        rt,
        user_id=user_id,
        question_id=question_id,
        token=token,
        response=rating,
        confidence=CONFIDENCE_FOR_RATING[rating],
        seconds=seconds,
        expected_reviews=expected_reviews,
        now=now,
    )


def _write_params(
    sub: _Submission,
    q: Question,
    rs: ReviewState | None,
    verdict: Verdict,
    snapshot: AnswerSnapshot,
    outcome: AnswerOutcome,
) -> dict[str, Any]:
    """The write statement's values: `a_` the attempt, `rs_` the schedule, `p_` the
    learner, `q_` the question."""
    before = snapshot.schedule
    attempt = dict(
        user_id=sub.user_id,
        question_id=q.id,
        token=sub.token,
        review_number=outcome.schedule.reviews,
        answered_at=sub.now,
        seconds=sub.seconds,
        confidence=sub.confidence,
        response=_response_text(q, sub.response)[:4000],
        hinted=sub.hinted,
        correct=verdict.correct,
        score=verdict.score,
        grader=verdict.grader,
        grade_reason=verdict.reason,
        quality=outcome.grade.quality,
        rating=outcome.grade.rating,
        scheduler=snapshot.learner.scheduler,
        xp=outcome.xp_earned,
        state_before=before.to_json() if before is not None else None,
        previous_answered_at=before.last_reviewed_at if before is not None else None,
        state_after=outcome.schedule.to_json(),
    )
    params: dict[str, Any] = {f"a_{k}": v for k, v in attempt.items()}
    params.update(
        {f"rs_{k}": v for k, v in outcome.schedule.columns().items()},
        rs_suspended=outcome.suspended,
        p_xp=outcome.xp_total,
        p_level=outcome.level,
        p_streak=outcome.streak.streak,
        p_best_streak=outcome.streak.best_streak,
        p_last_activity_date=outcome.streak.last_activity_date,
        q_quality_score=outcome.quality.score,
        q_status=outcome.quality.status,
    )
    if rs is not None:
        params["rs_id"] = rs.id
    return params


def _with_cohort_quality(
    rt: Runtime, session: Session, cq_id: int, snapshot: AnswerSnapshot, outcome: AnswerOutcome
) -> AnswerOutcome:
    """A course copy is scored by the class once enough learners answered it (item_stats)."""
    score = question_cohort_score(session, course_question_id=cq_id, params=analysis_params(rt))
    if score is None:
        return outcome
    return replace(outcome, quality=with_cohort_score(outcome.quality, snapshot.question, score))


def _record_answer(rt: Runtime, sub: _Submission, verdict: Verdict | None) -> AnswerResult:
    """The answer's transaction in two round trips and a commit: one statement locks the
    learner's row (serialising everything that changes their schedule or XP: answers,
    disputes, scheduler switches, replacements) and reads the question, its schedule, the
    learner's FSRS parameters and the question's attempt and flag aggregates; one statement
    writes the attempt, the schedule, the learner's XP and streak and the question's quality.
    """
    with rt.session_factory.begin() as session:
        row = session.execute(
            LOCK_AND_READ, {"user_id": sub.user_id, "question_id": sub.question_id}
        ).first()
        if row is None:
            raise NotFound("That question was not found.")
        profile, q, rs = row[0], row[1], row[2]
        _validate_answer(q, sub.response, sub.confidence, sub.token)
        reviews_before = rs.reviews if rs is not None else 0
        if sub.expected_reviews is None or reviews_before != sub.expected_reviews:
            # Either no showing to compare with, or this showing was answered already.
            repeat = _existing(session, sub.user_id, q.id, sub.token, sub.expected_reviews)
            if repeat is not None:
                return recorded_result(session, repeat, q, profile, duplicate=True)
        if q.status != QuestionStatus.ACTIVE:
            raise QuestionUnavailable(UNAVAILABLE)
        self_grade: Grade | None = None
        if q.form == FLASHCARD_FORM:
            verdict, self_grade = _self_rated(int(sub.response))
        elif verdict is None:
            verdict = grade(_grading_view(q), sub.response, settings=rt.settings)
        snapshot = snapshot_of(row)
        outcome = apply_answer(
            snapshot,
            verdict,
            confidence=sub.confidence,
            seconds=sub.seconds,
            now=sub.now,
            params=answer_params(rt.settings),
            hinted=sub.hinted,
            grade=self_grade,
        )
        if q.course_question_id is not None:
            outcome = _with_cohort_quality(rt, session, q.course_question_id, snapshot, outcome)
        store.log_retirement(q, outcome.quality.status, outcome.quality.retirement)
        params = _write_params(sub, q, rs, verdict, snapshot, outcome)
        statement = write_statement(rs is None, outcome.quality.changed(snapshot.question))
        attempt_id = session.connection().execute(statement, params).scalar_one()
        record_copy_answer(
            session,
            q,
            attempt_id,
            response=sub.response,
            correct=verdict.correct,
            seconds=sub.seconds,
            answered_at=sub.now,
        )
        # Nothing below goes back to the database: the result is built from what was written.
        session.expunge_all()
    return _new_result(attempt_id, q, verdict, outcome, params, scheduler=profile.scheduler)


def _new_result(
    attempt_id: int,
    q: Question,
    verdict: Verdict,
    outcome: AnswerOutcome,
    params: dict[str, Any],
    *,
    scheduler: str,
) -> AnswerResult:
    """The result of an answer just written (`params`: the write statement's values)."""
    return AnswerResult(
        attempt_id=attempt_id,
        question_id=q.id,
        correct=verdict.correct,
        score=verdict.score,
        reason=verdict.reason,
        grader=verdict.grader,
        your_answer=params["a_response"],
        correct_answer=_correct_answer(q),
        explanation=q.explanation,
        excerpt=q.excerpt,
        material_title=q.material_title,
        page_start=q.page_start,
        page_end=q.page_end,
        xp_earned=outcome.xp_earned,
        xp_total=outcome.xp_total,
        level=outcome.level,
        leveled_up=outcome.leveled_up,
        streak=outcome.streak.streak,
        best_streak=outcome.streak.best_streak,
        next_due_at=outcome.next_due_at,
        scheduler=scheduler,
        duplicate=False,
        disputed=False,
    )
