"""The course's anonymous answer record: written in the learner's answer (and flag)
transaction when they answer a copy of a course question while enrolled.

Only database models are imported here: the practice services call in, never the reverse.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    SmallInteger,
    and_,
    exists,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Select

from engine.db.models import CourseMember, CourseQuestion, CourseResponse, Question
from engine.db.session import affected_rows
from engine.domain.vocabulary import FLASHCARD_FORM, QuestionType


def _membership(user_id: int, course_question_id: int) -> Select[Any]:
    """The learner's current membership of the course the course question belongs to."""
    return (
        select(CourseMember.id)
        .join(CourseQuestion, CourseQuestion.course_id == CourseMember.course_id)
        .where(
            CourseQuestion.id == course_question_id,
            CourseMember.user_id == user_id,
            CourseMember.left_at.is_(None),
        )
    )


def record_response(
    session: Session,
    *,
    user_id: int,
    course_question_id: int,
    version: int,
    attempt_id: int,
    chosen_index: int | None,
    correct: bool,
    seconds: int,
    answered_at: dt.datetime,
) -> bool:
    """Record the answer for the course, in the caller's transaction (one statement); the
    first answer of this membership to the course question is marked as such. Returns False
    when the learner is not enrolled (nothing recorded).

    Args:
        chosen_index: the chosen option's index in the course question's own option order
            (a copy stores its options in the master's order), None for other types.
    """
    earlier = aliased(CourseResponse)
    member = _membership(user_id, course_question_id).subquery()
    source = select(
        literal(course_question_id, Integer()),
        literal(version, Integer()),
        member.c.id,
        literal(attempt_id, Integer()),
        ~exists().where(
            and_(
                earlier.member_id == member.c.id,
                earlier.course_question_id == course_question_id,
            )
        ),
        literal(chosen_index, SmallInteger()),
        literal(correct, Boolean()),
        literal(seconds, Integer()),
        literal(answered_at, DateTime(timezone=True)),
    )
    columns = [
        "course_question_id",
        "version",
        "member_id",
        "attempt_id",
        "first_attempt",
        "chosen_index",
        "correct",
        "seconds",
        "answered_at",
    ]
    made = session.execute(
        insert(CourseResponse).from_select(columns, source).returning(CourseResponse.id)
    )
    return made.first() is not None


def record_copy_answer(
    session: Session,
    q: Question,
    attempt_id: int,
    *,
    response: str | int,
    correct: bool,
    seconds: int,
    answered_at: dt.datetime,
) -> bool:
    """The learner's answer `attempt_id` to their question `q`: when `q` is a copy of a
    course question, record it for the course too (see `record_response`). A copy keeps the
    master's option order, so the option index the learner submitted is the course's."""
    if q.course_question_id is None:
        return False
    mcq = q.type == QuestionType.MCQ and q.form != FLASHCARD_FORM
    return record_response(
        session,
        user_id=q.user_id,
        course_question_id=q.course_question_id,
        version=q.course_version or 1,
        attempt_id=attempt_id,
        chosen_index=int(response) if mcq else None,
        correct=correct,
        seconds=seconds,
        answered_at=answered_at,
    )


def flag_latest_response(session: Session, *, user_id: int, course_question_id: int) -> bool:
    """Mark the learner's latest answer to the course question as flagged (the learner
    flagged their copy). Returns False when there is none to mark."""
    latest = (
        select(CourseResponse.id)
        .where(
            CourseResponse.course_question_id == course_question_id,
            CourseResponse.member_id.in_(_membership(user_id, course_question_id)),
        )
        .order_by(CourseResponse.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    result = session.execute(
        update(CourseResponse)
        .where(CourseResponse.id == latest)
        .values(flagged=True)
        .execution_options(synchronize_session=False)
    )
    return bool(affected_rows(result))
