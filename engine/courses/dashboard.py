"""A teacher's view of their class: who is behind, and which pages of the course's materials
the class has mastered.

Privacy: only the learners' copies of this course's questions are read (their schedules and
attempts); never their own materials, questions or tutor chats. Only current members are
listed by name; a learner who left is gone from progress (their answers stay anonymous in the
item statistics). Only the course's teacher or an admin may look (others get "not found").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, text

from engine.courses.item_stats import require_teacher
from engine.db.models import Course, User
from engine.practice import store

if TYPE_CHECKING:
    from engine.runtime import Runtime

RETENTION_DAYS = 30

_PROGRESS_SQL = text(
    """
WITH copies AS (
    SELECT q.id, q.user_id
    FROM questions q
    JOIN course_questions cq ON cq.id = q.course_question_id
    JOIN course_members cm ON cm.course_id = cq.course_id AND cm.user_id = q.user_id
    WHERE cq.course_id = :course AND cm.left_at IS NULL
)
SELECT cm.member_key, u.display_name,
       (SELECT count(*) FROM copies c WHERE c.user_id = cm.user_id) AS questions,
       (SELECT count(*) FROM copies c JOIN review_states rs ON rs.question_id = c.id
        WHERE c.user_id = cm.user_id AND NOT rs.suspended AND rs.due_at < :now) AS overdue,
       (SELECT count(*) FROM copies c JOIN review_states rs ON rs.question_id = c.id
        WHERE c.user_id = cm.user_id) AS studied,
       (SELECT avg(a.correct::int) FROM copies c JOIN attempts a ON a.question_id = c.id
        WHERE c.user_id = cm.user_id AND a.review_number > 1 AND a.answered_at >= :since)
        AS retention
FROM course_members cm JOIN users u ON u.id = cm.user_id
WHERE cm.course_id = :course AND cm.left_at IS NULL
ORDER BY u.display_name, cm.member_key
"""
)

# Per page of each course material: the share right of the class's first answers to course
# questions whose source spans that page (None where no question covers the page).
_COVERAGE_SQL = text(
    """
SELECT m.id AS material_id, m.title, m.page_count, p.page,
       count(r.id) AS answers, avg(r.correct::int) AS mastery
FROM course_materials cmat
JOIN materials m ON m.id = cmat.material_id
CROSS JOIN LATERAL generate_series(1, m.page_count) AS p(page)
LEFT JOIN questions mq ON mq.material_id = m.id AND p.page BETWEEN mq.page_start AND mq.page_end
LEFT JOIN course_questions cq ON cq.question_id = mq.id AND cq.course_id = cmat.course_id
LEFT JOIN course_responses r ON r.course_question_id = cq.id AND r.first_attempt
WHERE cmat.course_id = :course
GROUP BY m.id, m.title, m.page_count, p.page
ORDER BY m.title, m.id, p.page
"""
)


@dataclass(frozen=True)
class LearnerProgress:
    name: str
    questions: int  # copies of the course's questions in their bank
    studied: int  # of those, answered at least once
    overdue: int  # reviews past due
    retention: float | None  # share right on reviews of those questions, last 30 days


@dataclass(frozen=True)
class PageMastery:
    page: int
    answers: int
    mastery: float | None


@dataclass(frozen=True)
class MaterialCoverage:
    material_id: int
    title: str
    pages: tuple[PageMastery, ...]


def taught_courses(rt: Runtime, *, actor_id: int) -> list[tuple[int, str]]:
    """(id, title) of the courses the actor teaches (an admin: every course)."""
    with rt.session_factory() as session:
        role = session.scalar(select(User.role).where(User.id == actor_id))
        stmt = select(Course.id, Course.title).order_by(Course.title, Course.id)
        if role != "admin":
            stmt = stmt.where(Course.teacher_id == actor_id)
        return [(r.id, r.title) for r in session.execute(stmt)]


def class_progress(
    rt: Runtime, *, actor_id: int, course_id: int, now: dt.datetime | None = None
) -> list[LearnerProgress]:
    """Every current member's progress on the course's questions (only those).

    Raises:
        NotFound: no such course, or the actor is neither its teacher nor an admin.
    """
    now = store.aware(now)
    with rt.session_factory() as session:
        require_teacher(session, actor_id=actor_id, course_id=course_id)
        rows = session.execute(
            _PROGRESS_SQL,
            {"course": course_id, "now": now, "since": now - dt.timedelta(days=RETENTION_DAYS)},
        ).all()
    return [
        LearnerProgress(
            name=r.display_name,
            questions=r.questions,
            studied=r.studied,
            overdue=r.overdue,
            retention=float(r.retention) if r.retention is not None else None,
        )
        for r in rows
    ]


def coverage_map(rt: Runtime, *, actor_id: int, course_id: int) -> list[MaterialCoverage]:
    """Each course material's pages with the class's mastery of the questions on them.

    Raises:
        NotFound: no such course, or the actor is neither its teacher nor an admin.
    """
    with rt.session_factory() as session:
        require_teacher(session, actor_id=actor_id, course_id=course_id)
        rows = session.execute(_COVERAGE_SQL, {"course": course_id}).all()
    out: dict[int, tuple[str, list[PageMastery]]] = {}
    for r in rows:
        pages = out.setdefault(r.material_id, (r.title, []))[1]
        mastery = float(r.mastery) if r.mastery is not None else None
        pages.append(PageMastery(r.page, r.answers, mastery))
    return [MaterialCoverage(mid, title, tuple(pages)) for mid, (title, pages) in out.items()]
