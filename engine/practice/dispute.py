"""Disputing an answer ("I was right"): re-scored as right by the same rule as answering."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import Attempt, ReviewState
from engine.domain.vocabulary import Scheduler
from engine.errors import InvalidInput, NotFound
from engine.practice import store
from engine.practice.answering import (
    AnswerOutcome,
    AnswerSnapshot,
    DisputedAttempt,
    Schedule,
    apply_dispute,
)
from engine.practice.params import answer_params
from engine.practice.submit import AnswerResult, recorded_result

if TYPE_CHECKING:
    from engine.runtime import Runtime


def dispute_attempt(rt: Runtime, *, user_id: int, attempt_id: int, note: str = "") -> AnswerResult:
    """ "I was right": record the dispute and re-score the attempt as correct (XP, and the
    schedule when it is still the question's latest answer).

    Raises:
        NotFound: no such attempt for this learner.
        InvalidInput: the answer was already right, already disputed, or the note is too long.
    """
    if len(note) > store.MAX_NOTE_CHARS:
        raise InvalidInput(f"Keep the note under {store.MAX_NOTE_CHARS} characters.")
    with rt.session_factory.begin() as session:
        store.load_profile(session, user_id, lock=True)  # the profile first, as answering does
        attempt = session.scalar(
            select(Attempt)
            .where(Attempt.id == attempt_id, Attempt.user_id == user_id)
            .with_for_update()
        )
        attempt = _check_disputable(attempt)
        return rescore_as_right(
            rt, session, user_id=user_id, attempt=attempt, note=note, reason=DISPUTED
        )


DISPUTED = "You disputed this; it now counts as right."


def rescore_as_right(
    rt: Runtime,
    session: Session,
    *,
    user_id: int,
    attempt: Attempt,
    reason: str,
    note: str | None = None,
) -> AnswerResult:
    """Re-score a wrong attempt of `user_id` as right in the caller's transaction: XP, the
    schedule when it is still the question's latest answer, the question's quality (a dispute,
    or a course question whose key was corrected). `reason` is added to the grading reason;
    a `note` (None: not a dispute) records the learner's dispute."""
    profile = store.load_profile(session, user_id, lock=True)
    q = store.load_question(session, user_id, attempt.question_id)
    rs = session.scalar(
        select(ReviewState).where(ReviewState.question_id == q.id).with_for_update()
    )
    personal = (
        store.personal_parameters(session, user_id) if profile.scheduler == Scheduler.FSRS else None
    )
    snapshot = AnswerSnapshot(
        learner=store.learner(profile, personal),
        question=store.facts(q),
        schedule=Schedule.from_columns(rs) if rs is not None else None,
        prior=store.load_aggregates(session, q.id, except_attempt=attempt.id),
    )
    outcome, schedule = apply_dispute(
        snapshot,
        DisputedAttempt(
            confidence=attempt.confidence,
            seconds=attempt.seconds,
            hinted=attempt.hinted,
            answered_at=attempt.answered_at,
            xp=attempt.xp,
            review_number=attempt.review_number,
            state_before=attempt.state_before,
        ),
        params=answer_params(rt.settings),
    )
    profile.xp, profile.level = outcome.xp_total, outcome.level
    _rescore(attempt, rs, schedule, outcome, note, reason)
    store.log_retirement(q, outcome.quality.status, outcome.quality.retirement)
    q.quality_score, q.status = outcome.quality.score, outcome.quality.status
    session.flush()
    return recorded_result(session, attempt, q, profile, duplicate=False)


def _check_disputable(attempt: Attempt | None) -> Attempt:
    """NotFound or InvalidInput unless the attempt is a wrong answer not yet disputed."""
    if attempt is None:
        raise NotFound("That answer was not found.")
    if attempt.disputed_at is not None:
        raise InvalidInput("You already disputed this answer; it was re-scored as right.")
    if attempt.correct:
        raise InvalidInput("This answer was already marked right.")
    if attempt.grader == "self":
        raise InvalidInput(
            "You rated this card yourself, so there is nothing to dispute; "
            "rate it again when it comes back."
        )
    return attempt


def _rescore(
    attempt: Attempt,
    rs: ReviewState | None,
    schedule: Schedule | None,
    outcome: AnswerOutcome,
    note: str | None,
    reason: str,
) -> None:
    """The attempt (and the question's schedule, when the dispute changed it) as right."""
    if rs is not None and schedule is not None:
        for column, value in schedule.columns().items():
            setattr(rs, column, value)
        attempt.state_after = schedule.to_json()
    attempt.correct, attempt.score = True, 1.0
    attempt.quality, attempt.rating = outcome.grade.quality, outcome.grade.rating
    attempt.xp = outcome.xp_earned
    if note is not None:
        attempt.disputed_at = store.utcnow()
        attempt.dispute_note = note.strip()
    attempt.grade_reason = (attempt.grade_reason + " " + reason).strip()
