"""A course's question bank: the teacher adds questions of their own bank as drafts,
publishes them (copied into every learner's bank) and retires them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from engine.courses.access import own_course, require_teacher, utcnow
from engine.courses.copies import copy_to_members, retire_copies
from engine.courses.values import BankChoice, CourseQuestionRow, PublishOutcome
from engine.db.models import CourseQuestion, CourseQuestionVersion, Question
from engine.domain.vocabulary import CourseQuestionStatus, QuestionStatus
from engine.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from engine.runtime import Runtime

MAX_AT_ONCE = 500
# A version's change (course_question_versions.change): the first version.
CREATED = "created"


def _ids(ids: Sequence[int]) -> list[int]:
    out = list(dict.fromkeys(int(i) for i in ids))
    if len(out) > MAX_AT_ONCE:
        raise InvalidInput(f"Choose at most {MAX_AT_ONCE} questions at once.")
    return out


def add_questions(
    rt: Runtime, *, teacher_id: int, course_id: int, question_ids: Sequence[int]
) -> list[int]:
    """Add questions of the teacher's own bank to the course as drafts (version 1); returns
    the new course question ids. A question can be in one course only.

    Raises:
        NotFound: not the teacher's course, or a question not in their bank (a copy of
            another course's question included).
        InvalidInput: nothing chosen, or a question already in a course.
    """
    ids = _ids(question_ids)
    if not ids:
        raise InvalidInput("Choose the questions to add first.")
    with rt.session_factory.begin() as session:
        own_course(session, teacher_id, course_id, lock=True)
        qs = session.scalars(
            select(Question)
            .where(
                Question.id.in_(ids),
                Question.user_id == teacher_id,
                Question.course_question_id.is_(None),
            )
            .order_by(Question.id)
        ).all()
        if len(qs) != len(ids):
            raise NotFound("One of those questions was not found in your bank.")
        taken = session.scalar(select(func.count()).where(CourseQuestion.question_id.in_(ids)))
        if taken:
            raise InvalidInput("One of those questions is already in a course.")
        added = []
        for q in qs:
            cq = CourseQuestion(course_id=course_id, question_id=q.id, version=1)
            session.add(cq)
            session.flush()
            session.add(_version_row(cq.id, 1, q, CREATED))
            added.append(cq.id)
        return added


def _version_row(cq_id: int, version: int, q: Question, change: str) -> CourseQuestionVersion:
    return CourseQuestionVersion(
        course_question_id=cq_id,
        version=version,
        stem=q.stem,
        options=list(q.options) if q.options is not None else None,
        correct_index=q.correct_index,
        answer=q.answer,
        explanation=q.explanation,
        change=change,
    )


def _course_questions(
    session: Session, course_id: int, ids: Sequence[int] | None, status: str
) -> list[CourseQuestion]:
    stmt = select(CourseQuestion).where(
        CourseQuestion.course_id == course_id, CourseQuestion.status == status
    )
    if ids is not None:
        stmt = stmt.where(CourseQuestion.id.in_(list(ids)))
    return list(session.scalars(stmt.order_by(CourseQuestion.id).with_for_update()))


def publish_questions(
    rt: Runtime,
    *,
    teacher_id: int,
    course_id: int,
    course_question_ids: Sequence[int] | None = None,
) -> PublishOutcome:
    """Publish these drafts (None: every draft): each current learner gets a copy in their
    own bank at once, and learners who join later get one when they join.

    Raises:
        NotFound: not the teacher's course.
        InvalidInput: no draft among those chosen.
    """
    ids = None if course_question_ids is None else _ids(course_question_ids)
    with rt.session_factory.begin() as session:
        own_course(session, teacher_id, course_id, lock=True)
        drafts = _course_questions(session, course_id, ids, CourseQuestionStatus.DRAFT)
        if not drafts:
            raise InvalidInput("There is no draft to publish: add questions from your bank first.")
        now = utcnow()
        for cq in drafts:
            cq.status, cq.published_at = CourseQuestionStatus.PUBLISHED, now
        session.flush()
        copies = copy_to_members(
            session, course_id=course_id, course_question_ids=[cq.id for cq in drafts]
        )
        return PublishOutcome(len(drafts), copies)


def retire_questions(
    rt: Runtime, *, teacher_id: int, course_id: int, course_question_ids: Sequence[int]
) -> int:
    """Retire these course questions (drafts or published): learners' copies leave their
    queues (their history stays) and no new learner gets them. Returns how many were
    retired.

    Raises:
        NotFound: not the teacher's course, or a question not in it.
    """
    ids = _ids(course_question_ids)
    with rt.session_factory.begin() as session:
        own_course(session, teacher_id, course_id, lock=True)
        rows = session.scalars(
            select(CourseQuestion)
            .where(CourseQuestion.course_id == course_id, CourseQuestion.id.in_(ids))
            .with_for_update()
        ).all()
        if len(rows) != len(ids):
            raise NotFound("One of those questions is not in this course.")
        live = [cq for cq in rows if cq.status != CourseQuestionStatus.RETIRED]
        for cq in live:
            cq.status = CourseQuestionStatus.RETIRED
        if live:
            retire_copies(session, [cq.id for cq in live])
        return len(live)


def list_course_questions(
    rt: Runtime, *, teacher_id: int, course_id: int
) -> list[CourseQuestionRow]:
    """The course bank as its teacher sees it, drafts first, oldest first.

    Raises:
        NotFound: not the teacher's course.
    """
    copy = aliased(Question)
    copies = (
        select(func.count())
        .select_from(copy)
        .where(copy.course_question_id == CourseQuestion.id)
        .correlate(CourseQuestion)
        .scalar_subquery()
    )
    order = case(*((CourseQuestion.status == s, i) for i, s in enumerate(CourseQuestionStatus)))
    with rt.session_factory() as session:
        own_course(session, teacher_id, course_id)
        rows = session.execute(
            select(CourseQuestion, CourseQuestionVersion, Question, copies)
            .join(Question, Question.id == CourseQuestion.question_id)
            .join(
                CourseQuestionVersion,
                and_(
                    CourseQuestionVersion.course_question_id == CourseQuestion.id,
                    CourseQuestionVersion.version == CourseQuestion.version,
                ),
            )
            .where(CourseQuestion.course_id == course_id)
            .order_by(order, CourseQuestion.id)
        ).all()
        return [
            CourseQuestionRow(
                cq.id,
                q.id,
                cq.status,
                cq.version,
                q.type,
                v.stem,
                q.material_title,
                q.page_start,
                n,
            )
            for cq, v, q, n in rows
        ]


def addable_questions(rt: Runtime, *, teacher_id: int, limit: int = 300) -> list[BankChoice]:
    """The teacher's own active questions not yet in any course (copies of other courses'
    questions excluded), newest first.

    Raises:
        Forbidden: the account is not a teacher or admin.
    """
    with rt.session_factory() as session:
        require_teacher(session, teacher_id)
        rows = session.execute(
            select(Question.id, Question.stem, Question.material_title)
            .where(
                Question.user_id == teacher_id,
                Question.status == QuestionStatus.ACTIVE,
                Question.course_question_id.is_(None),
                ~exists().where(CourseQuestion.question_id == Question.id),
            )
            .order_by(Question.created_at.desc(), Question.id.desc())
            .limit(limit)
        ).all()
        return [BankChoice(*r) for r in rows]
