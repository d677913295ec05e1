"""Course item statistics read from the answer record: values computed by hand, the teacher-only
access, CSV and the command line."""

from __future__ import annotations

import csv
import io
import math

import pytest
from sqlalchemy import select, update

from engine.__main__ import main
from engine.bootstrap import get_runtime
from engine.config import get_settings
from engine.courses.item_stats import course_item_stats, record_cohort_quality
from engine.db.models import (
    Course,
    CourseItemCount,
    CourseMember,
    CourseMemberTotal,
    CourseQuestion,
    CourseResponse,
    Question,
    User,
)
from engine.domain.item_analysis import Verdict
from engine.errors import NotFound
from tests.support import course_rows as rows

# Learners A-E, questions Q1 (options 0, 1, 2; key 0), Q2, Q3 (key 0); D has left the course.
#
#   learner  Q1 (chosen, s)  Q2  Q3   rest score for Q1
#   A        right (0, 10)   1   1    1.0
#   B        right (0, 40)   1   0    0.5
#   C        wrong (1, 70)   0   1    0.5
#   D        wrong (2, 100)  0   0    0.0
#   E        right (0, 30)   -   -    none (answered nothing else)
#
# difficulty 3/5 = 0.6; point-biserial over A-D: x [1,1,0,0] vs r [1,.5,.5,0] = 1/sqrt(2)
# (see tests/unit/test_item_analysis.py); shares .6/.2/.2; option 2: -sqrt(2/3); option 1: 0.
# A also reviewed Q1 later (wrong, flagged): answers 6, flag share 1/6; median first time 40 s.
TABLE = {
    "A": ((0, 10), True, True),
    "B": ((0, 40), True, False),
    "C": ((1, 70), False, True),
    "D": ((2, 100), False, False),
}


@pytest.fixture
def course(make_user, session_factory):
    teacher, other_teacher, admin = make_user(), make_user(), make_user()
    learners = {name: make_user() for name in "ABCE"}
    with session_factory.begin() as s:
        rows.make_teacher(s, teacher)
        rows.make_teacher(s, other_teacher)
        s.execute(update(User).where(User.id == admin).values(role="admin"))
        cid = rows.add_course(s, teacher)
        other_cid = rows.add_course(s, other_teacher, "History")
        q1 = rows.add_question(s, cid, teacher, "Q1?", ["right", "near", "far"], 0)
        q2 = rows.add_question(s, cid, teacher, "Q2?", ["yes", "no"], 0)
        q3 = rows.add_question(s, cid, teacher, "Q3?", ["yes", "no"], 0)
        members = {
            name: rows.add_member(s, cid, learners.get(name), f"m-{name}") for name in "ABCDE"
        }
        for name, ((chosen, secs), right2, right3) in TABLE.items():
            m = members[name]
            rows.add_response(
                s, course_question_id=q1, member_id=m, chosen_index=chosen,
                correct=chosen == 0, seconds=secs,
            )  # fmt: skip
            rows.add_response(
                s, course_question_id=q2, member_id=m, chosen_index=0 if right2 else 1,
                correct=right2,
            )  # fmt: skip
            rows.add_response(
                s, course_question_id=q3, member_id=m, chosen_index=0 if right3 else 1,
                correct=right3,
            )  # fmt: skip
        rows.add_response(
            s, course_question_id=q1, member_id=members["E"], chosen_index=0, correct=True,
            seconds=30,
        )  # fmt: skip
        rows.add_response(
            s, course_question_id=q1, member_id=members["A"], chosen_index=1, correct=False,
            first=False, flagged=True, seconds=99,
        )  # fmt: skip
        # Another course's answers never count here.
        oq = rows.add_question(s, other_cid, other_teacher, "Other?", ["a", "b"], 0)
        om = rows.add_member(s, other_cid, learners["A"], "m-other")
        rows.add_response(s, course_question_id=oq, member_id=om, chosen_index=1, correct=False)
    return {
        "id": cid, "other_id": other_cid, "q1": q1, "teacher": teacher,
        "other_teacher": other_teacher, "admin": admin, "learner": learners["A"],
    }  # fmt: skip


@pytest.fixture
def rt(runtime, settings):
    scoring = settings.scoring.model_copy(update={"item_min_learners": 4})
    return runtime.with_settings(settings.model_copy(update={"scoring": scoring}))


def test_statistics_equal_the_hand_computed_values(rt, course):
    stats = course_item_stats(rt, actor_id=course["teacher"], course_id=course["id"])
    assert [r.stem for r in stats.items] == ["Q1?", "Q2?", "Q3?"]
    q1 = stats.items[0].stats
    assert (q1.learners, q1.answers, q1.difficulty) == (5, 6, 0.6)
    assert q1.discrimination == pytest.approx(1 / math.sqrt(2))
    assert [o.share for o in q1.options] == [0.6, 0.2, 0.2]
    assert q1.options[1].discrimination == pytest.approx(0.0, abs=1e-12)
    assert q1.options[2].discrimination == pytest.approx(-math.sqrt(2 / 3))
    assert q1.flag_share == pytest.approx(1 / 6) and q1.median_seconds == 40.0
    assert q1.verdicts == (Verdict.GOOD,)
    # Q2 for A-D: x [1,1,0,0], rest (Q1, Q3): A 1, B .5, C .5, D 0 -> also 1/sqrt(2)
    assert stats.items[1].stats.discrimination == pytest.approx(1 / math.sqrt(2))
    # every question over all versions equals its only version
    whole = {r.course_question_id: r.stats for r in stats.history if r.version is None}
    assert whole[course["q1"]] == q1


def test_only_the_courses_teacher_or_an_admin_sees_it(rt, course):
    admin_view = course_item_stats(rt, actor_id=course["admin"], course_id=course["id"])
    assert len(admin_view.items) == 3
    for outsider in (course["other_teacher"], course["learner"]):
        with pytest.raises(NotFound):
            course_item_stats(rt, actor_id=outsider, course_id=course["id"])
    # The other teacher sees only their own course, with its one answer.
    theirs = course_item_stats(rt, actor_id=course["other_teacher"], course_id=course["other_id"])
    assert [r.stats.answers for r in theirs.items] == [1]
    assert theirs.items[0].stats.verdicts == (Verdict.NOT_ENOUGH,)
    with pytest.raises(NotFound):
        course_item_stats(rt, actor_id=course["teacher"], course_id=course["id"] + 999)


@pytest.fixture
def cli(settings, monkeypatch):
    monkeypatch.setenv("GROUNDWORK_ITEM_MIN_LEARNERS", "4")
    get_settings.cache_clear()
    get_runtime.cache_clear()
    yield main
    get_runtime().close()
    get_runtime.cache_clear()
    get_settings.cache_clear()


def test_command_line_writes_the_item_table_as_csv(course, cli, capsys):
    assert cli(["item-stats", "--course", str(course["id"]), "--csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["question"] for r in table] == ["Q1?", "Q2?", "Q3?"]
    assert table[0]["difficulty"] == "0.6000" and table[0]["discrimination"] == "0.7071"
    assert table[0]["option_shares"] == "0.6000|0.2000|0.2000"
    assert table[0]["verdicts"] == "good" and table[0]["learners"] == "5"
    assert cli(["item-stats", "--course", str(course["id"] + 999)]) == 1
    assert "That course was not found." in capsys.readouterr().err


def test_cohort_quality_is_recorded_on_questions_with_enough_learners(rt, course, runtime):
    assert record_cohort_quality(rt, actor_id=course["teacher"], course_id=course["id"]) == 3
    with pytest.raises(NotFound):
        record_cohort_quality(rt, actor_id=course["learner"], course_id=course["id"])
    with runtime.session_factory() as s:
        master = s.scalar(
            select(Question.quality_score)
            .join(CourseQuestion, CourseQuestion.question_id == Question.id)
            .where(CourseQuestion.id == course["q1"])
        )
    # Q1: p .6 in band -> .4; rpb .7071 >= .40 -> .5; flag share 1/6 -> .1 x 5/6
    assert master == pytest.approx(0.4 + 0.5 + 0.1 * 5 / 6, abs=1e-6)
    # Not enough learners (the default 30): nothing scored.
    assert record_cohort_quality(runtime, actor_id=course["teacher"], course_id=course["id"]) == 0


def test_answer_counts_follow_updates_and_deletions(rt, course, runtime):
    def q1_counts():
        with runtime.session_factory() as s:
            row = s.get(CourseItemCount, (course["q1"], 1))
            return (row.answers, row.flagged) if row else None

    assert q1_counts() == (6, 1)
    with runtime.session_factory.begin() as s:  # a learner flags their first answer later
        s.execute(
            update(CourseResponse)
            .where(CourseResponse.course_question_id == course["q1"], CourseResponse.first_attempt)
            .values(flagged=True)
        )
    assert q1_counts() == (6, 6)
    # B's first answers: Q1 right, Q2 right, Q3 wrong; a re-grade of Q3 counts in B's totals.
    with runtime.session_factory.begin() as s:
        b = s.scalar(select(CourseMember.id).where(CourseMember.member_key == "m-B"))
        assert (
            s.get(CourseMemberTotal, b).first_answers,
            s.get(CourseMemberTotal, b).first_right,
        ) == (3, 2)
        s.execute(
            update(CourseResponse)
            .where(CourseResponse.member_id == b, CourseResponse.correct.is_(False))
            .values(correct=True)
        )
    with runtime.session_factory() as s:
        assert s.get(CourseMemberTotal, b).first_right == 3
    with runtime.session_factory.begin() as s:  # a membership removed: its answers go
        member = s.scalar(select(CourseMember).where(CourseMember.member_key == "m-A"))
        s.delete(member)
    assert q1_counts() == (4, 4)
    stats = course_item_stats(rt, actor_id=course["teacher"], course_id=course["id"])
    assert (stats.items[0].stats.answers, stats.items[0].stats.learners) == (4, 4)
    with runtime.session_factory.begin() as s:  # deleting the course takes its counts along
        s.delete(s.get(Course, course["id"]))
    assert q1_counts() is None
