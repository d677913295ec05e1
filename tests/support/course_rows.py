"""Course rows written directly (a course, its published questions, members and their
answers), for tests of what reads the course's answer record."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine.db.models import (
    Course,
    CourseMember,
    CourseQuestion,
    CourseQuestionVersion,
    CourseResponse,
    Question,
    User,
)

_codes = itertools.count(1)
WHEN = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def make_teacher(session: Session, user_id: int) -> None:
    session.execute(update(User).where(User.id == user_id).values(role="teacher"))


def add_course(session: Session, teacher_id: int, title: str = "Biology 101") -> int:
    course = Course(teacher_id=teacher_id, title=title, join_code=f"CODE{next(_codes):06d}")
    session.add(course)
    session.flush()
    return course.id


def question_row(user_id: int, stem: str, options: list[str], correct_index: int) -> Question:
    return Question(
        user_id=user_id,
        type="mcq",
        stem=stem,
        options=options,
        correct_index=correct_index,
        answer=options[correct_index],
        excerpt="From the course material.",
        page_start=1,
        page_end=1,
        material_title="Course notes",
        generator="llm",
    )


def add_question(
    session: Session, course_id: int, teacher_id: int, stem: str, options: list[str], key: int
) -> int:
    """A published course question (master question, version 1)."""
    master = question_row(teacher_id, stem, options, key)
    session.add(master)
    session.flush()
    cq = CourseQuestion(
        course_id=course_id, question_id=master.id, status="published", published_at=WHEN
    )
    session.add(cq)
    session.flush()
    session.add(
        CourseQuestionVersion(
            course_question_id=cq.id,
            version=1,
            stem=stem,
            options=options,
            correct_index=key,
            answer=options[key],
            change="created",
        )
    )
    session.flush()
    return cq.id


def add_member(session: Session, course_id: int, user_id: int | None, key: str) -> int:
    member = CourseMember(course_id=course_id, user_id=user_id, member_key=key)
    session.add(member)
    session.flush()
    return member.id


def add_response(
    session: Session,
    *,
    course_question_id: int,
    member_id: int,
    chosen_index: int,
    correct: bool,
    first: bool = True,
    seconds: int = 20,
    flagged: bool = False,
    version: int = 1,
    attempt_id: int | None = None,
) -> None:
    session.add(
        CourseResponse(
            course_question_id=course_question_id,
            version=version,
            member_id=member_id,
            attempt_id=attempt_id,
            first_attempt=first,
            chosen_index=chosen_index,
            correct=correct,
            seconds=seconds,
            flagged=flagged,
            answered_at=WHEN,
        )
    )
