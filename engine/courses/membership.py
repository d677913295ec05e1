"""Joining a course with its code and leaving it. A learner who leaves keeps their copies
and history as their own questions; the course keeps only their anonymous answers."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.courses.access import COURSE_NOT_FOUND, current_membership, utcnow
from engine.courses.copies import copy_to_members, detach_copies
from engine.courses.manage import normalise_code
from engine.db.models import Course, CourseMember, CourseResponse, User
from engine.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from engine.runtime import Runtime

UNKNOWN_CODE = "No course has that join code. Check it with your teacher."


def join_course(rt: Runtime, *, user_id: int, code: str) -> int:
    """Enrol the learner in the course with this join code and copy every published question
    of it into their bank; returns the course id.

    Raises:
        InvalidInput: no course has the code, joining is closed, the learner teaches it or is
            already enrolled.
    """
    code = normalise_code(code)
    if not code:
        raise InvalidInput("Type the join code your teacher gave you.")
    with rt.session_factory.begin() as session:
        # The learner's row is locked so two clicks cannot enrol them twice.
        if session.get(User, user_id, with_for_update=True) is None:
            raise NotFound("Your account could not be found. Please log in again.")
        # Shared lock: a publish or retire of the course (which lock it for update) runs
        # wholly before or after this join, so the new learner gets exactly what is published.
        course = session.scalar(
            select(Course).where(Course.join_code == code).with_for_update(read=True)
        )
        if course is None:
            raise InvalidInput(UNKNOWN_CODE)
        if course.teacher_id == user_id:
            raise InvalidInput("You teach this course, so you cannot join it as a learner.")
        if current_membership(session, user_id, course.id) is not None:
            raise InvalidInput("You are already enrolled in this course.")
        if not course.joining_open:
            raise InvalidInput("This course is not taking new learners. Ask your teacher.")
        member = CourseMember(
            course_id=course.id, user_id=user_id, member_key=secrets.token_hex(16)
        )
        session.add(member)
        session.flush()
        copy_to_members(session, course_id=course.id, member_id=member.id)
        return course.id


def leave_course(rt: Runtime, *, user_id: int, course_id: int) -> None:
    """The learner leaves: their copies stay in their bank with their history but no longer
    count for the course, and the course keeps their answers only anonymously.

    Raises:
        NotFound: the learner is not enrolled in the course.
    """
    with rt.session_factory.begin() as session:
        member = current_membership(session, user_id, course_id)
        if member is None:
            raise NotFound(COURSE_NOT_FOUND)
        detach_copies(session, user_id=user_id, course_id=course_id)
        _anonymise(session, [member.id])


def _anonymise(session: Session, member_ids: list[int]) -> None:
    if not member_ids:
        return
    session.execute(
        update(CourseResponse)
        .where(CourseResponse.member_id.in_(member_ids))
        .values(attempt_id=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(CourseMember)
        .where(CourseMember.id.in_(member_ids))
        .values(user_id=None, left_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def forget_memberships(session: Session, *, user_id: int) -> None:
    """For an account being deleted (in its deletion transaction): every enrolment becomes
    anonymous, as if the learner had left, so the courses keep their answer statistics."""
    ids = list(
        session.scalars(
            select(CourseMember.id).where(CourseMember.user_id == user_id).with_for_update()
        )
    )
    _anonymise(session, ids)
