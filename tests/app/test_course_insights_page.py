"""AppTest: Course insights for a teacher (item table with verdicts, option table, the key
correction behind a confirmation, class progress, CSV) and for a learner (no data); a
learner's notice on Today."""

from __future__ import annotations

from sqlalchemy import select

from engine.accounts import get_account
from engine.courses import revisions
from engine.db.models import CourseQuestion
from tests.app.conftest import run_root
from tests.support import course_rows as rows

STEM = "Which *organelle* makes ATP?"


def _course(runtime, teacher_email, learner_ids):
    teacher = get_account(runtime, email=teacher_email).user_id
    with runtime.session_factory.begin() as s:
        rows.make_teacher(s, teacher)
        cid = rows.add_course(s, teacher, "Cell biology")
        cq = rows.add_question(s, cid, teacher, STEM, ["Nucleus", "Mitochondrion", "Ribosome"], 0)
        for i, uid in enumerate(learner_ids):
            m = rows.add_member(s, cid, uid, f"k{i}")
            rows.add_response(s, course_question_id=cq, member_id=m, chosen_index=i % 2,
                              correct=i % 2 == 0)  # fmt: skip
    return cid, cq


def _open(at):
    run_root(at)  # the next run knows the new role
    at.switch_page("pages/course_insights.py").run()
    assert not at.exception, at.exception
    return at


def test_a_teacher_sees_items_and_corrects_a_key_after_confirming(
    signed_in_app, runtime, make_user
):
    learners = [make_user(display_name=f"Learner {i}") for i in range(3)]
    at = signed_in_app("teacher@example.com")
    cid, cq = _course(runtime, "teacher@example.com", learners)
    _open(at)
    items = at.dataframe[0].value
    assert list(items["question"]) == [STEM]  # as data, not markdown
    assert list(items["verdict"]) == ["Not enough answers yet"]
    assert list(at.dataframe[1].value["chosen %"]) == [66.7, 33.3, 0.0]
    assert sorted(at.dataframe[2].value["learner"]) == [
        "Learner 0", "Learner 1", "Learner 2",
    ]  # fmt: skip
    fix = at.button(key=f"ci_key_{cq}")
    assert fix.disabled  # not before the confirmation
    at.selectbox(key=f"ci_key_i_{cq}").set_value(1)
    at.checkbox(key=f"ci_key_ok_{cq}").check().run()
    at.button(key=f"ci_key_{cq}").click().run()
    assert not at.exception, at.exception
    with runtime.session_factory() as s:
        assert s.scalar(select(CourseQuestion.version).where(CourseQuestion.id == cq)) == 2


def test_a_learner_sees_no_course_data(signed_in_app, runtime, make_user):
    at = signed_in_app("teacher2@example.com")
    _course(runtime, "teacher2@example.com", [])
    learner = signed_in_app("pupil@example.com")
    _open(learner)
    assert [i.value for i in learner.info] == ["Course insights are for teachers."]
    assert not learner.dataframe
    del at


def test_a_notice_shows_on_today_until_dismissed(signed_in_app, runtime):
    at = signed_in_app("notice@example.com")
    uid = get_account(runtime, email="notice@example.com").user_id
    with runtime.session_factory.begin() as s:
        s.add(revisions.LearnerNotice(user_id=uid, text="Your teacher corrected **this**."))
    at.switch_page("pages/today.py").run()
    assert not at.exception, at.exception
    assert any("corrected" in i.value and "\\*\\*" in i.value for i in at.info)
    [dismiss] = [b for b in at.button if b.key and b.key.startswith("today_notice_")]
    dismiss.click().run()
    assert not any("corrected" in i.value for i in at.info)
    assert revisions.unseen_notices(runtime, user_id=uid) == []
