"""The submit path's two statements: the one locking read of everything an answer needs, and
the one write of everything it changes (see `engine.practice.submit`)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, Update, bindparam, func, insert, select, true, update

from engine.db.models import Attempt, Profile, Question, ReviewState, SchedulerParameters
from engine.practice import store
from engine.practice.answering import AnswerSnapshot, Schedule

# What the submit path reads in its one locking statement: the learner, the question, its
# schedule, the learner's FSRS weights, and the question's previous attempts and flags as the
# aggregates the quality score needs.
_PRIOR = (
    select(*store.attempt_aggregate_columns())
    .where(Attempt.question_id == Question.id)
    .lateral("prior")
)
_FLAGS, _WRONG_OPEN = (s.correlate(Question) for s in store.flag_counts(Question.id))
LOCK_AND_READ = (
    select(
        Profile,
        Question,
        ReviewState,
        SchedulerParameters.parameters,
        SchedulerParameters.adopted,
        _PRIOR.c.n,
        _PRIOR.c.n_correct,
        _PRIOR.c.seconds,
        _PRIOR.c.calibration_sq,
        _FLAGS,
        _WRONG_OPEN,
    )
    .join(Question, Question.user_id == Profile.user_id)
    .outerjoin(ReviewState, ReviewState.question_id == Question.id)
    .outerjoin(SchedulerParameters, SchedulerParameters.user_id == Profile.user_id)
    .join(_PRIOR, true())
    .where(Profile.user_id == bindparam("user_id"), Question.id == bindparam("question_id"))
    .with_for_update(of=Profile)
)

_ATTEMPT_COLUMNS = (
    "user_id",
    "question_id",
    "token",
    "review_number",
    "answered_at",
    "seconds",
    "confidence",
    "response",
    "hinted",
    "correct",
    "score",
    "grader",
    "grade_reason",
    "quality",
    "rating",
    "scheduler",
    "xp",
    "state_before",
    "previous_answered_at",
    "state_after",
)
_STATE_COLUMNS = (
    "due_at",
    "suspended",
    "reviews",
    "lapses",
    "last_reviewed_at",
    "sm2_repetitions",
    "sm2_interval_days",
    "sm2_easiness",
    "sm2_due_at",
    "fsrs_state",
    "fsrs_step",
    "fsrs_stability",
    "fsrs_difficulty",
    "fsrs_due_at",
)
_PROFILE_COLUMNS = ("xp", "level", "streak", "best_streak", "last_activity_date")


def _binds(table: Any, columns: Sequence[str], prefix: str) -> dict[str, Any]:
    return {c: bindparam(f"{prefix}_{c}", type_=table.c[c].type) for c in columns}


@lru_cache(maxsize=4)
def write_statement(new_state: bool, write_question: bool) -> Any:
    """The submit path's one write: attempt, schedule, learner (and the question's quality and
    status when they change), as data-modifying CTEs. Built once per shape with bound
    parameters, so SQLAlchemy compiles it once and each answer only binds values."""
    rs_t, a_t, p_t, q_t = (
        ReviewState.__table__,
        Attempt.__table__,
        Profile.__table__,
        Question.__table__,
    )
    state = _binds(rs_t, _STATE_COLUMNS, "rs")
    write_rs: Insert | Update
    if new_state:
        write_rs = insert(rs_t).values(
            user_id=bindparam("a_user_id"),
            question_id=bindparam("a_question_id"),
            first_reviewed_at=bindparam("rs_last_reviewed_at"),
            **state,
        )
    else:
        write_rs = update(rs_t).where(rs_t.c.id == bindparam("rs_id")).values(**state)
    write_profile = (
        update(p_t)
        .where(p_t.c.user_id == bindparam("a_user_id"))
        .values(updated_at=func.now(), **_binds(p_t, _PROFILE_COLUMNS, "p"))
    )
    write_attempt = insert(a_t).values(**_binds(a_t, _ATTEMPT_COLUMNS, "a")).returning(a_t.c.id)
    statement = select(write_attempt.cte("write_attempt").c.id).add_cte(
        write_rs.cte("write_review_state"), write_profile.cte("write_profile")
    )
    if write_question:
        statement = statement.add_cte(
            update(q_t)
            .where(q_t.c.id == bindparam("a_question_id"))
            .values(
                quality_score=bindparam("q_quality_score", type_=q_t.c.quality_score.type),
                status=bindparam("q_status", type_=q_t.c.status.type),
            )
            .cte("write_question")
        )
    return statement


def snapshot_of(row: Any) -> AnswerSnapshot:
    """The answer rule's input from the locking read's row."""
    profile, q, rs = row[0], row[1], row[2]
    personal = row[3] if row[3] is not None and row[4] else None
    return AnswerSnapshot(
        learner=store.learner(profile, personal),
        question=store.facts(q),
        schedule=Schedule.from_columns(rs) if rs is not None else None,
        prior=store.aggregates(*row[5:11]),
    )
