"""The teacher's dashboard: class progress on course questions only (never a learner's own
questions), current members only, the coverage map of the course's materials; teacher-only."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.courses import dashboard
from engine.db.models import CourseMaterial, Material
from engine.errors import NotFound
from engine.practice.submit import submit_answer
from tests.support import course_rows as rows
from tests.support.practice import add_question, token

NOW = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)


def _answer(runtime, uid, qid, response):
    return submit_answer(
        runtime, user_id=uid, question_id=qid, token=token(), response=response,
        confidence=4, seconds=30, expected_reviews=0, now=NOW,
    )  # fmt: skip


@pytest.fixture
def course(runtime, make_user):
    sf = runtime.session_factory
    teacher = make_user(display_name="Teacher")
    other = make_user(display_name="Other teacher")
    ada = make_user(display_name="Ada")
    with sf.begin() as s:
        rows.make_teacher(s, teacher)
        rows.make_teacher(s, other)
        cid = rows.add_course(s, teacher)
        material = Material(
            user_id=teacher, title="Cells", filename="cells.pdf", sha256="0" * 64,
            size_bytes=10, page_count=3,
        )  # fmt: skip
        s.add(material)
        s.flush()
        s.add(CourseMaterial(course_id=cid, material_id=material.id))
        cq = rows.add_question(s, cid, teacher, "ATP?", ["a", "b"], 0)
        s.execute(
            rows.Question.__table__.update()
            .where(rows.Question.id == rows.CourseQuestion.question_id)
            .where(rows.CourseQuestion.id == cq)
            .values(material_id=material.id, page_start=2, page_end=2)
        )
        m_ada = rows.add_member(s, cid, ada, "k-ada")
        m_gone = rows.add_member(s, cid, None, "k-gone")  # left: user_id cleared
        rows.add_response(s, course_question_id=cq, member_id=m_ada, chosen_index=0, correct=True)
        rows.add_response(s, course_question_id=cq, member_id=m_gone, chosen_index=1, correct=False)
    copy = add_question(sf, ada, course_question_id=cq, course_version=1)
    own = add_question(sf, ada, stem="Ada's private question")
    _answer(runtime, ada, copy, 1)
    _answer(runtime, ada, own, 1)  # her own question: due too, but none of the teacher's business
    return {"id": cid, "teacher": teacher, "other": other, "ada": ada}


def test_progress_counts_only_course_copies_of_current_members(runtime, course):
    later = NOW + dt.timedelta(days=3)
    [ada] = dashboard.class_progress(
        runtime, actor_id=course["teacher"], course_id=course["id"], now=later
    )
    assert (ada.name, ada.questions, ada.studied, ada.overdue) == ("Ada", 1, 1, 1)
    assert ada.retention is None  # a first answer is not a review


def test_coverage_map_shows_mastery_per_page(runtime, course):
    [cells] = dashboard.coverage_map(runtime, actor_id=course["teacher"], course_id=course["id"])
    assert cells.title == "Cells"
    assert [(p.page, p.answers, p.mastery) for p in cells.pages] == [
        (1, 0, None), (2, 2, 0.5), (3, 0, None),
    ]  # fmt: skip


def test_other_teachers_and_learners_see_nothing(runtime, course):
    for outsider in (course["other"], course["ada"]):
        with pytest.raises(NotFound):
            dashboard.class_progress(runtime, actor_id=outsider, course_id=course["id"])
        with pytest.raises(NotFound):
            dashboard.coverage_map(runtime, actor_id=outsider, course_id=course["id"])
    assert dashboard.taught_courses(runtime, actor_id=course["other"]) == []
    assert dashboard.taught_courses(runtime, actor_id=course["teacher"]) == [
        (course["id"], "Biology 101")
    ]
