"""A course question's quality score comes from the class once enough learners answered it:
the answer path scores a learner's copy from the class's statistics (not from their own few
attempts), and the teacher's look at the items writes it on the master and every copy."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.courses import add_questions, create_course, join_course, publish_questions
from engine.courses.item_stats import course_item_stats, record_cohort_quality
from engine.db.models import Course, CourseQuestion, Question
from engine.practice.flags import flag_question
from engine.practice.submit import submit_answer
from engine.scoring.quality import cohort_quality_score
from tests.support import course_rows as rows
from tests.support.practice import add_question, token

ATP = "Which organelle makes ATP?"
DNA = "Where is most DNA kept?"


@pytest.fixture
def rt(runtime, settings):
    scoring = settings.scoring.model_copy(update={"item_min_learners": 4})
    return runtime.with_settings(settings.model_copy(update={"scoring": scoring}))


def _copies(rt, uid: int) -> dict[str, int]:
    with rt.session_factory() as s:
        found = s.execute(
            select(Question.stem, Question.id).where(
                Question.user_id == uid, Question.course_question_id.is_not(None)
            )
        ).all()
    return dict(found)


def _score(rt, question_id: int) -> float | None:
    with rt.session_factory() as s:
        return s.get(Question, question_id).quality_score


def _answer(rt, uid: int, qid: int, response: int, reviews: int = 0):
    return submit_answer(
        rt, user_id=uid, question_id=qid, token=token(), response=response, confidence=3,
        seconds=45, expected_reviews=reviews,
    )  # fmt: skip


@pytest.fixture
def klass(rt, make_user):
    """A course of two published questions (key: option 1, "Mitochondrion" / "Nucleus") and
    five learners who joined with its code."""
    teacher = make_user()
    with rt.session_factory.begin() as s:
        rows.make_teacher(s, teacher)
    atp = add_question(rt.session_factory, teacher, stem=ATP)
    dna = add_question(
        rt.session_factory, teacher, stem=DNA, options=["Ribosome", "Nucleus"], answer="Nucleus"
    )
    cid = create_course(rt, teacher_id=teacher, title="Biology 101")
    add_questions(rt, teacher_id=teacher, course_id=cid, question_ids=[atp, dna])
    publish_questions(rt, teacher_id=teacher, course_id=cid)
    with rt.session_factory() as s:
        code = s.scalar(select(Course.join_code).where(Course.id == cid))
    learners = [make_user() for _ in range(5)]
    for uid in learners:
        join_course(rt, user_id=uid, code=code)
    return {"teacher": teacher, "course": cid, "atp": atp, "learners": learners}


def _class_score(rt, klass) -> float:
    stats = course_item_stats(rt, actor_id=klass["teacher"], course_id=klass["course"])
    row = next(r for r in stats.items if r.stem == ATP)
    return cohort_quality_score(
        difficulty=row.stats.difficulty,
        discrimination=row.stats.discrimination,
        flag_share=row.stats.flag_share,
    )


def test_answers_score_a_copy_from_the_class_once_enough_learners_answered(rt, klass):
    first, second, third, late, _idle = klass["learners"]
    # The first three: two know both answers, one neither (DNA answered first: the rest score).
    for uid, right in zip((first, second, third), (True, True, False), strict=True):
        copies = _copies(rt, uid)
        _answer(rt, uid, copies[DNA], 1 if right else 0)
        _answer(rt, uid, copies[ATP], 1 if right else 0)
        assert _score(rt, copies[ATP]) is None  # 3 learners < 4, and one own attempt: unrated
    copies = _copies(rt, late)
    _answer(rt, late, copies[DNA], 0)
    _answer(rt, late, copies[ATP], 1)  # scored from the three learners before: still unrated
    assert _score(rt, copies[ATP]) is None
    # With four learners in, an earlier learner's next answer to their copy takes the class's
    # score, instead of one from their own two attempts.
    mine = _copies(rt, first)[ATP]
    _answer(rt, first, mine, 1, reviews=1)
    assert _score(rt, mine) == pytest.approx(_class_score(rt, klass))
    # Their flag counts in the class's flag share, and the copy keeps the class's score.
    flag_question(rt, user_id=first, question_id=mine, reason="unclear")
    assert _score(rt, mine) == pytest.approx(_class_score(rt, klass))
    # The teacher's look at the items writes it on the master and every copy.
    before = _score(rt, _copies(rt, second)[ATP])
    assert before is None
    assert record_cohort_quality(rt, actor_id=klass["teacher"], course_id=klass["course"]) == 2
    with rt.session_factory() as s:
        scored = s.scalars(
            select(Question.quality_score).where(
                (Question.id == klass["atp"])
                | Question.course_question_id.in_(
                    select(CourseQuestion.id).where(CourseQuestion.question_id == klass["atp"])
                )
            )
        ).all()
    assert len(scored) == 6  # the master and five copies (one never answered)
    assert scored == pytest.approx([_class_score(rt, klass)] * 6)


def test_below_the_threshold_a_copy_keeps_its_own_score(runtime, klass):
    """With the default threshold (30 learners) the class's four answers change nothing."""
    uid = klass["learners"][0]
    copy = _copies(runtime, uid)[ATP]
    for n in range(5):
        _answer(runtime, uid, copy, 1, reviews=n)
    own = _score(runtime, copy)
    assert own is not None  # five own attempts: rated from them
    assert record_cohort_quality(runtime, actor_id=klass["teacher"], course_id=klass["course"]) == 0
