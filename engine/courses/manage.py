"""Creating and running a course: title, join code, joining open or closed, and the lists of
courses an account teaches or learns in."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ScalarSelect

from engine.courses.access import own_course, require_teacher
from engine.courses.values import CourseSummary, MemberRow
from engine.db.models import Course, CourseMember, CourseResponse, User
from engine.errors import InvalidInput

if TYPE_CHECKING:
    from engine.runtime import Runtime

# No 0/O, 1/I/L: a code read aloud or copied from a board is typed right.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
MAX_TITLE = 200


def make_join_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    """A typed code as stored: upper case, without spaces or dashes."""
    return "".join(ch for ch in (code or "").upper() if ch not in " -\t")


def _unused_code(session: Session) -> str:
    for _ in range(20):
        code = make_join_code()
        if session.scalar(select(Course.id).where(Course.join_code == code)) is None:
            return code
    raise RuntimeError("no unused join code found in 20 draws")  # 31^8 codes: never


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise InvalidInput("Give the course a title.")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"Keep the title under {MAX_TITLE} characters.")
    return title


def create_course(rt: Runtime, *, teacher_id: int, title: str) -> int:
    """Create a course, open for joining with a new join code; returns its id.

    Raises:
        Forbidden: the account is not a teacher or admin.
        InvalidInput: an empty or too long title.
    """
    title = _clean_title(title)
    with rt.session_factory.begin() as session:
        require_teacher(session, teacher_id)
        course = Course(teacher_id=teacher_id, title=title, join_code=_unused_code(session))
        session.add(course)
        session.flush()
        return course.id


def rename_course(rt: Runtime, *, teacher_id: int, course_id: int, title: str) -> None:
    """Raises NotFound (not the teacher's course), Forbidden, InvalidInput."""
    title = _clean_title(title)
    with rt.session_factory.begin() as session:
        own_course(session, teacher_id, course_id, lock=True).title = title


def set_joining(rt: Runtime, *, teacher_id: int, course_id: int, open_: bool) -> None:
    """Open or close the course to new learners (current learners stay)."""
    with rt.session_factory.begin() as session:
        own_course(session, teacher_id, course_id, lock=True).joining_open = bool(open_)


def new_join_code(rt: Runtime, *, teacher_id: int, course_id: int) -> str:
    """Replace the course's join code (the old one stops working); returns the new one."""
    with rt.session_factory.begin() as session:
        course = own_course(session, teacher_id, course_id, lock=True)
        course.join_code = _unused_code(session)
        return course.join_code


def _current_members() -> ScalarSelect[int]:
    return (
        select(func.count())
        .where(
            CourseMember.course_id == Course.id,
            CourseMember.left_at.is_(None),
            CourseMember.user_id.is_not(None),
        )
        .scalar_subquery()
    )


def list_teaching(rt: Runtime, *, teacher_id: int) -> list[CourseSummary]:
    """The courses the account teaches, newest first (none for a learner)."""
    with rt.session_factory() as session:
        rows = session.execute(
            select(Course, _current_members(), User.display_name)
            .join(User, User.id == Course.teacher_id)
            .where(Course.teacher_id == teacher_id)
            .order_by(Course.created_at.desc(), Course.id.desc())
        ).all()
        return [
            CourseSummary(c.id, c.title, c.join_code, c.joining_open, n, name, c.created_at)
            for c, n, name in rows
        ]


def list_enrolled(rt: Runtime, *, user_id: int) -> list[CourseSummary]:
    """The courses the account is currently enrolled in, as a learner sees them (no join
    code, no member count)."""
    with rt.session_factory() as session:
        rows = session.execute(
            select(Course, User.display_name)
            .join(User, User.id == Course.teacher_id)
            .join(
                CourseMember,
                and_(
                    CourseMember.course_id == Course.id,
                    CourseMember.user_id == user_id,
                    CourseMember.left_at.is_(None),
                ),
            )
            .order_by(CourseMember.joined_at.desc(), Course.id.desc())
        ).all()
        return [
            CourseSummary(c.id, c.title, "", c.joining_open, 0, name, c.created_at)
            for c, name in rows
        ]


def list_members(rt: Runtime, *, teacher_id: int, course_id: int) -> list[MemberRow]:
    """The course's current learners with their answers to its questions: nothing else of
    theirs (materials, own questions, tutor chats) is read.

    Raises:
        NotFound: not the teacher's course.
    """
    with rt.session_factory() as session:
        own_course(session, teacher_id, course_id)
        rows = session.execute(
            select(
                User.display_name,
                CourseMember.joined_at,
                func.count(CourseResponse.id),
                func.count(CourseResponse.id).filter(CourseResponse.correct),
            )
            .join(User, User.id == CourseMember.user_id)
            .outerjoin(CourseResponse, CourseResponse.member_id == CourseMember.id)
            .where(CourseMember.course_id == course_id, CourseMember.left_at.is_(None))
            .group_by(CourseMember.id, User.display_name, CourseMember.joined_at)
            .order_by(User.display_name, CourseMember.id)
        ).all()
        return [MemberRow(name, joined, n, ok) for name, joined, n, ok in rows]
