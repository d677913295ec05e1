"""The per-day rollup PostgreSQL keeps for the activity charts always equals counting the
attempts themselves: after answers, a dispute, a deleted question, a change of time zone and
another learner's account deletion (and it never holds another learner's answers)."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
from sqlalchemy import func, select

from engine import analytics
from engine.account_data import delete_account
from engine.analytics import activity
from engine.bank.service import delete_question
from engine.db.models import AttemptRollup
from engine.practice.dispute import dispute_attempt
from engine.practice.submit import submit_answer
from tests.support.analytics import busy, set_profile
from tests.support.practice import add_question, token


def _rows(frame: pd.DataFrame) -> list[tuple]:
    def norm(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        return int(v) if hasattr(v, "as_integer_ratio") and not isinstance(v, bool) else v

    return sorted((tuple(norm(v) for v in row) for row in frame.itertuples(index=False)), key=repr)


def _scope(runtime, uid, now):
    return analytics.make_scope(runtime, user_id=uid, now=now)


def _assert_rollup_is_the_attempts(runtime, uid, now):
    scope = _scope(runtime, uid, now)
    kept = activity.read_attempt_rollup(runtime, scope)
    counted = activity._scan_attempts(runtime, scope)
    assert len(counted) > 10
    assert _rows(kept) == _rows(counted)


def _answer(runtime, uid, qid, response, at, expected):
    return submit_answer(
        runtime,
        user_id=uid,
        question_id=qid,
        token=token(),
        response=response,
        confidence=2,
        seconds=75,
        expected_reviews=expected,
        now=at,
    )


def _rollup_rows(runtime, uid) -> int:
    with runtime.session_factory() as s:
        return s.scalar(
            select(func.count()).select_from(AttemptRollup).where(AttemptRollup.user_id == uid)
        )


def test_the_rollup_follows_every_change_to_the_attempts(runtime, make_user):
    rt = runtime
    sf = rt.session_factory
    now = dt.datetime.now(dt.UTC)
    uid, other = make_user(), make_user()
    _, qids = busy(sf, uid)
    busy(sf, other)
    _assert_rollup_is_the_attempts(runtime, uid, now)

    qid = add_question(sf, uid)
    _answer(runtime, uid, qid, 1, now - dt.timedelta(days=2, hours=3), 0)
    wrong = _answer(runtime, uid, qid, 2, now - dt.timedelta(hours=1), 1)
    _assert_rollup_is_the_attempts(runtime, uid, now)

    dispute_attempt(runtime, user_id=uid, attempt_id=wrong.attempt_id)
    _assert_rollup_is_the_attempts(runtime, uid, now)

    delete_question(runtime, user_id=uid, question_id=qids[0])
    _assert_rollup_is_the_attempts(runtime, uid, now)

    # Nepal is UTC+5:45: every local day and hour moves.
    set_profile(sf, uid, timezone="Asia/Kathmandu")
    _assert_rollup_is_the_attempts(runtime, uid, now)

    assert _rollup_rows(runtime, other) > 0
    delete_account(runtime, user_id=other)
    assert _rollup_rows(runtime, other) == 0
    _assert_rollup_is_the_attempts(runtime, uid, now)


def test_the_charts_read_only_the_learners_own_answers(runtime, make_user):
    rt = runtime
    sf = rt.session_factory
    now = dt.datetime.now(dt.UTC)
    uid, other = make_user(), make_user()
    busy(sf, uid)
    before = activity.calendar(rt, _scope(runtime, uid, now))
    busy(sf, other)
    qid = add_question(sf, other)
    _answer(runtime, other, qid, 1, now - dt.timedelta(hours=2), 0)
    after = activity.calendar(rt, _scope(runtime, uid, now + dt.timedelta(seconds=1)))
    pd.testing.assert_frame_equal(before, after)
    assert int(after["answers"].sum()) == 36
