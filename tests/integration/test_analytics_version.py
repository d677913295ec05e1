"""The learner's analytics data version: it changes with every change the charts read (answer,
dispute, question accepted, edited, retired or deleted, scheduler switch, model call) and never
with another learner's."""

from __future__ import annotations

import datetime as dt

from engine.analytics import data_version
from engine.bank import service as bank
from engine.practice.dispute import dispute_attempt
from engine.practice.flags import retire_question
from engine.practice.preferences import set_scheduler
from engine.practice.submit import submit_answer
from tests.support.analytics import add_material, add_usage
from tests.support.practice import add_question, token


def answer(rt, uid: int, qid: int, choice: int):
    return submit_answer(
        rt,
        user_id=uid,
        question_id=qid,
        token=token(),
        response=choice,
        confidence=3,
        seconds=5,
        expected_reviews=None,
    )


def test_every_change_the_charts_read_gives_a_new_version(runtime, make_user):
    rt, sf = runtime, runtime.session_factory
    uid = make_user()
    seen = [data_version(rt, user_id=uid)]

    def changed() -> None:
        now = data_version(rt, user_id=uid)
        assert now not in seen
        seen.append(now)

    assert data_version(rt, user_id=uid) == seen[0]  # stable while nothing changes
    qid = add_question(sf, uid)
    changed()
    other = add_question(sf, uid)
    changed()
    wrong = answer(rt, uid, qid, 0)
    changed()
    dispute_attempt(rt, user_id=uid, attempt_id=wrong.attempt_id)
    changed()
    view = bank.get_question(rt, user_id=uid, question_id=other)
    bank.update_question(
        rt,
        user_id=uid,
        question_id=other,
        stem="An edited stem?",
        answer=view.answer,
        explanation=view.explanation,
        difficulty=view.difficulty,
        options=view.options,
        correct_index=view.correct_index,
    )
    changed()
    retire_question(rt, user_id=uid, question_id=other)
    changed()
    bank.delete_question(rt, user_id=uid, question_id=other)
    changed()
    set_scheduler(rt, user_id=uid, scheduler="fsrs")
    changed()
    add_material(sf, uid)
    changed()
    add_usage(sf, uid, dt.datetime.now(dt.UTC), "offline", 0.0)
    changed()
    assert data_version(rt, user_id=uid) == seen[-1]


def test_another_learners_changes_leave_the_version_alone(runtime, make_user):
    rt, sf = runtime, runtime.session_factory
    alice, bob = make_user(), make_user()
    mine = add_question(sf, alice)
    before = data_version(rt, user_id=alice)
    theirs = add_question(sf, bob)
    answer(rt, bob, theirs, 1)
    add_material(sf, bob)
    add_usage(sf, bob, dt.datetime.now(dt.UTC), "offline", 0.0)
    bank.delete_question(rt, user_id=bob, question_id=theirs)
    assert data_version(rt, user_id=alice) == before
    answer(rt, alice, mine, 1)
    assert data_version(rt, user_id=alice) != before
