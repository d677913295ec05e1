"""Reading and saving what the practice services share: the learner's profile, their
questions, personal FSRS weights, flags, and a question's attempt aggregates and quality.

Private to engine.practice: the functions take an open `Session` and filter by the learner.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, Integer, case, cast as sql_cast, func, select, update
from sqlalchemy.orm import Session

from engine.db.models import Attempt, Flag, Profile, Question, SchedulerParameters
from engine.domain.vocabulary import FlagReason, QuestionStatus
from engine.errors import NotFound
from engine.practice.answering import (
    Aggregates,
    Learner,
    QuestionFacts,
    judge_quality,
    with_cohort_score,
)
from engine.scoring.quality import QualityParams
from engine.scoring.xp import Streak

log = logging.getLogger(__name__)

MAX_NOTE_CHARS = 1000


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(now: dt.datetime | None) -> dt.datetime:
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now


def local_midnight(now: dt.datetime, timezone: str) -> dt.datetime:
    zone = zoneinfo.ZoneInfo(timezone)
    local = now.astimezone(zone)
    return dt.datetime.combine(local.date(), dt.time(), tzinfo=zone)


def _one(session: Session, stmt: Any, *, lock: bool, missing: str) -> Any:
    row = session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None:
        raise NotFound(missing)
    return row


def load_profile(session: Session, user_id: int, *, lock: bool = False) -> Profile:
    return _one(
        session,
        select(Profile).where(Profile.user_id == user_id),
        lock=lock,
        missing="Your account could not be found. Please log in again.",
    )


def load_question(
    session: Session, user_id: int, question_id: int, *, lock: bool = False
) -> Question:
    return _one(
        session,
        select(Question).where(Question.id == question_id, Question.user_id == user_id),
        lock=lock,
        missing="That question was not found.",
    )


def personal_parameters(session: Session, user_id: int) -> list[float] | None:
    """The learner's FSRS weights when they adopted personal ones."""
    row = session.execute(
        select(SchedulerParameters.parameters, SchedulerParameters.adopted).where(
            SchedulerParameters.user_id == user_id
        )
    ).first()
    return list(row[0]) if row is not None and row[1] else None


def learner(profile: Profile, personal: Sequence[float] | None) -> Learner:
    """The learner as the answer rule sees them; `personal`: their adopted FSRS weights."""
    return Learner(
        scheduler=profile.scheduler,
        timezone=profile.timezone,
        xp=profile.xp,
        level=profile.level,
        streak=Streak(profile.streak, profile.best_streak, profile.last_activity_date),
        personal_parameters=tuple(personal) if personal else None,
    )


def resolve_flags(session: Session, user_id: int, question_id: int, resolution: str) -> None:
    session.execute(
        update(Flag)
        .where(Flag.user_id == user_id, Flag.question_id == question_id, Flag.resolved_at.is_(None))
        .values(resolved_at=utcnow(), resolution=resolution)
    )


# --- a question's attempts and flags, as the quality score needs them ----------------------


def attempt_aggregate_columns() -> tuple[Any, ...]:
    """Count, correct count, the seconds of each, and the sum of squared calibration errors
    of the attempts selected (see engine.practice.answering.Aggregates)."""
    return (
        func.count().label("n"),
        func.count().filter(Attempt.correct).label("n_correct"),
        func.coalesce(func.array_agg(Attempt.seconds), sql_cast([], ARRAY(Integer))).label(
            "seconds"
        ),
        func.coalesce(
            func.sum(
                func.power(
                    (Attempt.confidence - 1) / 4.0 - case((Attempt.correct, 1.0), else_=0.0), 2
                )
            ),
            0,
        ).label("calibration_sq"),
    )


def flag_counts(question_id: Any) -> tuple[Any, Any]:
    """All flags of the question, and its unresolved "wrong" ones (scalar subqueries)."""
    flags = select(func.count()).where(Flag.question_id == question_id).scalar_subquery()
    wrong_open = (
        select(func.count())
        .where(
            Flag.question_id == question_id,
            Flag.reason == FlagReason.WRONG,
            Flag.resolved_at.is_(None),
        )
        .scalar_subquery()
    )
    return flags, wrong_open


def aggregates(
    n: int, n_correct: int, seconds: Any, calibration_sq: Any, flags: int, wrong_open: int
) -> Aggregates:
    return Aggregates(n, n_correct, tuple(seconds), float(calibration_sq), flags, wrong_open)


def load_aggregates(
    session: Session, question_id: int, *, except_attempt: int | None = None
) -> Aggregates:
    stmt = select(*attempt_aggregate_columns(), *flag_counts(question_id)).where(
        Attempt.question_id == question_id
    )
    if except_attempt is not None:
        stmt = stmt.where(Attempt.id != except_attempt)
    row: tuple[Any, ...] = session.execute(stmt).one()  # six columns (SQLAlchemy types 10+)
    return aggregates(*row)


def facts(q: Question) -> QuestionFacts:
    return QuestionFacts(difficulty=q.difficulty, status=q.status, quality_score=q.quality_score)


def log_retirement(q: Question, new_status: str, reason: object) -> None:
    if new_status == QuestionStatus.RETIRED and q.status != QuestionStatus.RETIRED:
        log.info("question retired", extra={"question_id": q.id, "reason": str(reason)})


def refresh_quality(
    session: Session, q: Question, params: QualityParams, *, cohort_score: float | None = None
) -> None:
    """Recompute the question's score from all its attempts and flags; flag or retire it
    when the rules say so. A course copy with a class score (`cohort_score`) keeps it."""
    outcome = judge_quality(facts(q), load_aggregates(session, q.id), params)
    if cohort_score is not None:
        outcome = with_cohort_score(outcome, facts(q), cohort_score)
    log_retirement(q, outcome.status, outcome.retirement)
    q.quality_score, q.status = outcome.score, outcome.status
