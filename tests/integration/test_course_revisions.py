"""A teacher acting on course item statistics: retire, edit, replace a distractor, and correct
a wrong key (answers re-graded, learners' schedules updated, a notice each)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.courses import revisions
from engine.courses.revisions import Content
from engine.db.models import (
    Attempt,
    CourseQuestion,
    CourseQuestionVersion,
    CourseResponse,
    Question,
    ReviewState,
)
from engine.errors import InvalidInput, NotFound
from engine.practice.submit import submit_answer
from tests.support import course_rows as rows
from tests.support.practice import add_question, token

NOW = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)
OPTIONS = ["Nucleus", "Mitochondrion", "Ribosome", "Golgi body"]


def _answer(runtime, uid, qid, response):
    return submit_answer(
        runtime, user_id=uid, question_id=qid, token=token(), response=response,
        confidence=4, seconds=30, expected_reviews=0, now=NOW,
    )  # fmt: skip


@pytest.fixture
def miskeyed(runtime, make_user):
    """A course question keyed 'Nucleus' (0) though 'Mitochondrion' (1) is right; learner
    `wrong` chose 1 (marked wrong), learner `right` chose 0 (marked right), and a learner who
    left chose 1 (only their anonymous answer is left)."""
    teacher, other_teacher, wrong, right = make_user(), make_user(), make_user(), make_user()
    sf = runtime.session_factory
    with sf.begin() as s:
        rows.make_teacher(s, teacher)
        rows.make_teacher(s, other_teacher)
        cid = rows.add_course(s, teacher)
        rows.add_course(s, other_teacher, "Other")
        cq = rows.add_question(s, cid, teacher, "Which organelle makes ATP?", OPTIONS, 0)
        members = {u: rows.add_member(s, cid, u, f"k{u}") for u in (wrong, right)}
        gone = rows.add_member(s, cid, None, "k-gone")
    copies = {
        u: add_question(sf, u, correct_index=0, answer="Nucleus", course_question_id=cq,
                        course_version=1, stem="Which organelle makes ATP?")
        for u in (wrong, right)
    }  # fmt: skip
    results = {u: _answer(runtime, u, copies[u], 1 if u == wrong else 0) for u in copies}
    assert not results[wrong].correct and results[right].correct
    with sf.begin() as s:
        # Answering a copy records the enrolled learner's response for the course.
        recorded = s.execute(
            select(
                CourseResponse.member_id, CourseResponse.chosen_index, CourseResponse.attempt_id
            ).order_by(CourseResponse.id)
        ).all()
        assert [tuple(r) for r in recorded] == [
            (members[u], 1 if u == wrong else 0, results[u].attempt_id) for u in (wrong, right)
        ]
        rows.add_response(s, course_question_id=cq, member_id=gone, chosen_index=1, correct=False)
    return {
        "cq": cq, "teacher": teacher, "other_teacher": other_teacher, "wrong": wrong,
        "right": right, "copies": copies, "results": results,
    }  # fmt: skip


def _schedule(runtime, qid):
    with runtime.session_factory() as s:
        return s.scalar(select(ReviewState).where(ReviewState.question_id == qid))


def test_correcting_the_key_regrades_answers_schedules_and_tells_learners(runtime, miskeyed):
    m = miskeyed
    before_wrong = _schedule(runtime, m["copies"][m["wrong"]])
    before_right = _schedule(runtime, m["copies"][m["right"]])
    later = NOW + dt.timedelta(hours=2)
    done = revisions.correct_key(
        runtime, actor_id=m["teacher"], course_question_id=m["cq"], correct_index=1, now=later
    )
    assert (done.version, done.responses_regraded) == (2, 3)
    assert (done.attempts_now_right, done.attempts_now_wrong, done.learners_told) == (1, 1, 2)
    with runtime.session_factory() as s:
        graded = s.execute(
            select(CourseResponse.chosen_index, CourseResponse.correct).order_by(CourseResponse.id)
        ).all()
        assert [tuple(g) for g in graded] == [(1, True), (0, False), (1, True)]
        fixed = s.get(Attempt, m["results"][m["wrong"]].attempt_id)
        undone = s.get(Attempt, m["results"][m["right"]].attempt_id)
        assert fixed.correct and fixed.disputed_at is None and "corrected" in fixed.grade_reason
        assert not undone.correct and "now counts as wrong" in undone.grade_reason
        copy = s.get(Question, m["copies"][m["wrong"]])
        assert (copy.correct_index, copy.answer, copy.course_version) == (1, "Mitochondrion", 2)
        versions = s.execute(
            select(CourseQuestionVersion.version, CourseQuestionVersion.change).order_by(
                CourseQuestionVersion.version
            )
        ).all()
        assert [tuple(v) for v in versions] == [(1, "created"), (2, "key")]
    # The wrongly failed learner's review is re-scheduled as a pass (SM-2: a first successful
    # repetition instead of none); the wrongly passed learner's copy comes back now.
    after_wrong = _schedule(runtime, m["copies"][m["wrong"]])
    assert (before_wrong.sm2_repetitions, after_wrong.sm2_repetitions) == (0, 1)
    assert before_right.due_at > later
    assert _schedule(runtime, m["copies"][m["right"]]).due_at == later
    for u in (m["wrong"], m["right"]):
        [(notice_id, text)] = revisions.unseen_notices(runtime, user_id=u)
        assert "corrected the answer key" in text and "Which organelle" in text
        revisions.dismiss_notice(runtime, user_id=u, notice_id=notice_id)
        assert revisions.unseen_notices(runtime, user_id=u) == []


def test_only_the_teacher_acts_and_bad_requests_change_nothing(runtime, miskeyed):
    m = miskeyed
    for outsider in (m["other_teacher"], m["wrong"]):
        with pytest.raises(NotFound):
            revisions.correct_key(
                runtime, actor_id=outsider, course_question_id=m["cq"], correct_index=1
            )
        with pytest.raises(NotFound):
            revisions.retire_question(runtime, actor_id=outsider, course_question_id=m["cq"])
    with pytest.raises(InvalidInput, match="already"):
        revisions.correct_key(
            runtime, actor_id=m["teacher"], course_question_id=m["cq"], correct_index=0
        )
    with pytest.raises(InvalidInput, match="right option"):
        revisions.replace_distractor(
            runtime, actor_id=m["teacher"], course_question_id=m["cq"], option_index=0, text="x"
        )
    with runtime.session_factory() as s:
        assert s.get(CourseQuestion, m["cq"]).version == 1
        assert s.scalar(select(Attempt).where(Attempt.user_id == m["wrong"])).correct is False
    assert revisions.unseen_notices(runtime, user_id=m["wrong"]) == []


def test_edit_and_distractor_make_versions_on_every_copy_and_retire_takes_them_out(
    runtime, miskeyed
):
    m = miskeyed
    teacher, cq = m["teacher"], m["cq"]
    v = revisions.replace_distractor(
        runtime, actor_id=teacher, course_question_id=cq, option_index=3, text="Chloroplast"
    )
    edited = Content(
        "Which organelle makes most ATP?", tuple(OPTIONS[:3]) + ("Chloroplast",), 0, ""
    )
    assert (
        revisions.edit_question(runtime, actor_id=teacher, course_question_id=cq, content=edited)
        == v + 1
    )
    with pytest.raises(InvalidInput, match="Correct the key"):
        revisions.edit_question(
            runtime, actor_id=teacher, course_question_id=cq,
            content=Content(edited.stem, edited.options, 2, ""),
        )  # fmt: skip
    with runtime.session_factory() as s:
        for qid in m["copies"].values():
            copy = s.get(Question, qid)
            assert copy.stem == edited.stem and copy.options[3] == "Chloroplast"
            assert copy.course_version == 3
        changes = s.scalars(
            select(CourseQuestionVersion.change).order_by(CourseQuestionVersion.version)
        ).all()
        assert changes == ["created", "distractor", "edited"]
    revisions.retire_question(runtime, actor_id=teacher, course_question_id=cq)
    with runtime.session_factory() as s:
        assert s.get(CourseQuestion, cq).status == "retired"
        assert {s.get(Question, q).status for q in m["copies"].values()} == {"retired"}
