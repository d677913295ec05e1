"""Learners' copies of published course questions: made on publishing and on joining,
retired with the course question, detached when the learner leaves.

A copy is the learner's own question (their schedule, XP and analytics); it carries the
master's content at the course question's version and its provenance as text (excerpt,
pages, material title), but no link to the teacher's material or chunks, so nothing in the
learner's bank reaches into the teacher's library.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, exists, insert, literal, select, update
from sqlalchemy.orm import Session, aliased

from engine.db.models import CourseMember, CourseQuestion, CourseQuestionVersion, Question
from engine.db.session import affected_rows
from engine.domain.vocabulary import CourseQuestionStatus, QuestionStatus

_COPIED_FROM_MASTER = (
    "type",
    "form",
    "key_points",
    "difficulty",
    "topic",
    "excerpt",
    "page_start",
    "page_end",
    "material_title",
    "generator",
    "model",
    "prompt_version",
)
_COPIED_FROM_VERSION = ("stem", "options", "correct_index", "answer", "explanation")


def copy_to_members(
    session: Session,
    *,
    course_id: int,
    course_question_ids: Sequence[int] | None = None,
    member_id: int | None = None,
) -> int:
    """Copy the course's published questions (these ones, or all) into the bank of every
    current learner (or only this membership's), skipping copies a learner already has.
    Returns how many copies were made. One statement, in the caller's transaction."""
    master = aliased(Question)
    existing = aliased(Question)
    member_cond = and_(
        CourseMember.course_id == CourseQuestion.course_id,
        CourseMember.left_at.is_(None),
        CourseMember.user_id.is_not(None),
    )
    if member_id is not None:
        member_cond = and_(member_cond, CourseMember.id == member_id)
    source = (
        select(
            CourseMember.user_id,
            *(getattr(master, c) for c in _COPIED_FROM_MASTER),
            *(getattr(CourseQuestionVersion, c) for c in _COPIED_FROM_VERSION),
            literal(QuestionStatus.ACTIVE.value),
            CourseQuestion.id,
            CourseQuestion.version,
        )
        .select_from(CourseQuestion)
        .join(master, master.id == CourseQuestion.question_id)
        .join(
            CourseQuestionVersion,
            and_(
                CourseQuestionVersion.course_question_id == CourseQuestion.id,
                CourseQuestionVersion.version == CourseQuestion.version,
            ),
        )
        .join(CourseMember, member_cond)
        .where(
            CourseQuestion.course_id == course_id,
            CourseQuestion.status == CourseQuestionStatus.PUBLISHED,
            ~exists().where(
                existing.user_id == CourseMember.user_id,
                existing.course_question_id == CourseQuestion.id,
            ),
        )
    )
    if course_question_ids is not None:
        source = source.where(CourseQuestion.id.in_(list(course_question_ids)))
    columns = [
        "user_id",
        *_COPIED_FROM_MASTER,
        *_COPIED_FROM_VERSION,
        "status",
        "course_question_id",
        "course_version",
    ]
    # Counted from RETURNING: the driver reports no row count for INSERT ... SELECT here.
    made = session.execute(insert(Question).from_select(columns, source).returning(Question.id))
    return len(made.all())


def retire_copies(session: Session, course_question_ids: Sequence[int]) -> int:
    """Take the learners' copies of these course questions out of their queues (the status
    trigger suspends their schedules); their history stays."""
    result = session.execute(
        update(Question)
        .where(
            Question.course_question_id.in_(list(course_question_ids)),
            Question.status != QuestionStatus.RETIRED,
        )
        .values(status=QuestionStatus.RETIRED)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result)


def detach_copies(session: Session, *, user_id: int, course_id: int) -> int:
    """The learner's copies of the course's questions become plain questions of theirs: kept
    with their history, no longer answered for the course."""
    in_course = select(CourseQuestion.id).where(CourseQuestion.course_id == course_id)
    result = session.execute(
        update(Question)
        .where(Question.user_id == user_id, Question.course_question_id.in_(in_course))
        .values(course_question_id=None, course_version=None)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result)
