"""Who may do what with a course: its teacher manages it, its current learners read it, and
anyone else is told it does not exist (a course outside one's reach is never confirmed)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from engine.runtime import Runtime

from engine.admin.access import Role
from engine.db.models import Course, CourseMember, User
from engine.errors import Forbidden, NotFound

TEACHERS_ONLY = "Only teachers can create and run courses. Ask an administrator for the role."
COURSE_NOT_FOUND = "That course was not found."


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def is_teacher(session: Session, user_id: int) -> bool:
    """True for a usable teacher or admin account."""
    role = session.scalar(
        select(User.role).where(
            User.id == user_id, User.deleting_since.is_(None), User.disabled_at.is_(None)
        )
    )
    return role in (Role.TEACHER, Role.ADMIN)


def can_teach(rt: Runtime, *, user_id: int) -> bool:
    """True when the account may create and run courses (a teacher or admin)."""
    with rt.session_factory() as session:
        return is_teacher(session, user_id)


def require_teacher(session: Session, user_id: int) -> None:
    """Raises Forbidden unless the account is a usable teacher or admin."""
    if not is_teacher(session, user_id):
        raise Forbidden(TEACHERS_ONLY)


def own_course(session: Session, teacher_id: int, course_id: int, *, lock: bool = False) -> Course:
    """The teacher's course (locked when asked), or NotFound for anyone else's."""
    require_teacher(session, teacher_id)
    stmt = select(Course).where(Course.id == course_id, Course.teacher_id == teacher_id)
    course = session.scalar(stmt.with_for_update() if lock else stmt)
    if course is None:
        raise NotFound(COURSE_NOT_FOUND)
    return course


def current_membership(session: Session, user_id: int, course_id: int) -> CourseMember | None:
    """The learner's current enrolment in the course, if any."""
    return session.scalar(
        select(CourseMember).where(
            CourseMember.course_id == course_id,
            CourseMember.user_id == user_id,
            CourseMember.left_at.is_(None),
        )
    )


def readable_course(session: Session, user_id: int, course_id: int) -> Course:
    """A course the account teaches or is enrolled in, or NotFound."""
    course = session.get(Course, course_id)
    if course is None or (
        course.teacher_id != user_id and current_membership(session, user_id, course_id) is None
    ):
        raise NotFound(COURSE_NOT_FOUND)
    return course
