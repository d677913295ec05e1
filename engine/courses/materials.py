"""Materials shared with a course: the teacher adds or removes their own ready materials;
the course's learners list them and search them (read-only: the material stays the
teacher's, in the teacher's library and vector collection)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session

from engine.courses.access import own_course, readable_course
from engine.courses.values import CourseMaterialRow
from engine.db.models import Course, CourseMaterial, CourseMember, Material
from engine.db.session import affected_rows
from engine.domain.vocabulary import MaterialStatus
from engine.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from engine.runtime import Runtime


def add_material(rt: Runtime, *, teacher_id: int, course_id: int, material_id: int) -> None:
    """Share one of the teacher's ready materials with the course.

    Raises:
        NotFound: not the teacher's course, or not a ready material of theirs.
        InvalidInput: already in the course.
    """
    with rt.session_factory.begin() as session:
        own_course(session, teacher_id, course_id, lock=True)
        found = session.scalar(
            select(Material.id).where(
                Material.id == material_id,
                Material.user_id == teacher_id,
                Material.status == MaterialStatus.READY,
            )
        )
        if found is None:
            raise NotFound("That material was not found in your library (or is not ready yet).")
        if session.get(CourseMaterial, (course_id, material_id)) is not None:
            raise InvalidInput("That material is already in this course.")
        session.add(CourseMaterial(course_id=course_id, material_id=material_id))


def remove_material(rt: Runtime, *, teacher_id: int, course_id: int, material_id: int) -> None:
    """Stop sharing the material with the course (it stays in the teacher's library).

    Raises:
        NotFound: not the teacher's course, or the material is not in it.
    """
    with rt.session_factory.begin() as session:
        own_course(session, teacher_id, course_id, lock=True)
        result = session.execute(
            delete(CourseMaterial).where(
                CourseMaterial.course_id == course_id, CourseMaterial.material_id == material_id
            )
        )
        if not affected_rows(result):
            raise NotFound("That material is not in this course.")


def list_materials(rt: Runtime, *, user_id: int, course_id: int) -> list[CourseMaterialRow]:
    """The course's ready materials, for its teacher or a current learner.

    Raises:
        NotFound: a course the account neither teaches nor is enrolled in.
    """
    with rt.session_factory() as session:
        readable_course(session, user_id, course_id)
        rows = session.execute(
            select(Material.id, Material.title, Material.page_count)
            .join(CourseMaterial, CourseMaterial.material_id == Material.id)
            .where(CourseMaterial.course_id == course_id, Material.status == MaterialStatus.READY)
            .order_by(Material.title, Material.id)
        ).all()
        return [CourseMaterialRow(*r) for r in rows]


@dataclass(frozen=True)
class SharedLibrary:
    """Materials of one teacher that a learner may search through their courses."""

    teacher_id: int
    material_ids: tuple[int, ...]
    course_titles: dict[int, str]  # material id -> the course it is shared through


def shared_libraries(session: Session, user_id: int) -> list[SharedLibrary]:
    """The ready materials shared with the courses the learner is currently enrolled in,
    grouped by teacher (their own materials are not among them)."""
    rows = session.execute(
        select(Course.teacher_id, Material.id, Course.title)
        .join(CourseMember, CourseMember.course_id == Course.id)
        .join(CourseMaterial, CourseMaterial.course_id == Course.id)
        .join(
            Material,
            and_(
                Material.id == CourseMaterial.material_id,
                Material.user_id == Course.teacher_id,
                Material.status == MaterialStatus.READY,
            ),
        )
        .where(
            CourseMember.user_id == user_id,
            CourseMember.left_at.is_(None),
            Course.teacher_id != user_id,
        )
        .order_by(Course.teacher_id, Material.id, Course.id)
    ).all()
    by_teacher: dict[int, dict[int, str]] = {}
    for teacher_id, material_id, title in rows:
        by_teacher.setdefault(teacher_id, {}).setdefault(material_id, title)
    return [SharedLibrary(t, tuple(titles), titles) for t, titles in by_teacher.items()]
