"""The per-day rollup PostgreSQL keeps for the activity charts always equals counting the
attempts themselves: after answers, a dispute, a deleted question, a change of time zone and
another learner's account deletion (and it never holds another learner's answers). The
set-based rebuild of several learners gives the rows the triggers kept answer by answer; a
deleted answer recounts only its learner's day, and a rebuild touches only its learners."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import func, select, text

from engine import analytics
from engine.account_data import delete_account
from engine.analytics import activity
from engine.bank.service import delete_question
from engine.db.models import Attempt, AttemptRollup
from engine.practice.dispute import dispute_attempt
from engine.practice.submit import submit_answer
from tests.support.analytics import add_attempt, busy, set_profile
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


# Learners in zones whose local days differ from UTC's (New York changes to summer time on
# 8 March 2026 at 2:00, Havana the same day at midnight, so that day starts at 1:00; Nepal is
# UTC+5:45), answering around their local midnights.
_ZONES = ("America/New_York", "America/Havana", "Asia/Kathmandu", "UTC")
_KEY = "kind, day, category, true_review, correct, hour, confidence, bucket, qtype, rating"


def _answers_around_midnights(sf, uid: int, zone: str) -> list[int]:
    """Six questions of the three types, each answered three times over a week that crosses
    New York's change to summer time, close to the learner's local midnight. Saved by plain
    INSERTs, so the rollup is the one the insert trigger keeps. Returns the question ids."""
    tz = ZoneInfo(zone)
    qids = []
    for i, qtype in enumerate(("mcq", "cloze", "short") * 2):
        extra = {} if qtype == "mcq" else {"options": None, "correct_index": None}
        qid = add_question(sf, uid, type=qtype, **extra)
        qids.append(qid)
        prev = None
        for n in range(1, 4):
            local = dt.datetime(2026, 3, 5 + 2 * n + i % 2, 23, 50 - i, tzinfo=tz)
            at = (local + dt.timedelta(minutes=15 * (i % 3))).astimezone(dt.UTC)
            add_attempt(
                sf,
                uid,
                qid,
                at,
                prev=prev,
                number=n,
                correct=(i + n) % 3 != 0,
                confidence=1 + (i + n) % 5,
                seconds=5 + 70 * (i + n),
                xp=5 * n,
            )
            prev = at
    return qids


def _stored(runtime, uids: list[int]) -> list[tuple]:
    """Every counting rollup row of these learners (rows whose counts fell to zero stay after
    a deletion and count nothing)."""
    with runtime.engine.connect() as conn:
        return conn.execute(
            text(
                f'SELECT user_id, {_KEY}, answers, "right", seconds, xp FROM attempt_rollups '
                f"WHERE user_id = ANY(:u) AND answers <> 0 ORDER BY user_id, {_KEY}"
            ),
            {"u": uids},
        ).all()


def _versions(runtime, uid: int) -> dict[tuple, str]:
    """Each of the learner's rollup rows and the transaction that last wrote it."""
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT {_KEY}, xmin::text FROM attempt_rollups WHERE user_id = :u"),
            {"u": uid},
        ).all()
    return {tuple(r[:-1]): r[-1] for r in rows}


def _rebuild(runtime, uids: list[int]) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(text("SELECT attempt_rollups_rebuild(CAST(:u AS bigint[]))"), {"u": uids})


def test_one_set_based_rebuild_equals_the_rollups_kept_answer_by_answer(runtime, make_user):
    sf = runtime.session_factory
    now = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
    uids = [make_user() for _ in _ZONES]
    questions = {}
    for uid, zone in zip(uids, _ZONES, strict=True):
        set_profile(sf, uid, timezone=zone)
        questions[uid] = _answers_around_midnights(sf, uid, zone)
    # Kept by the triggers: a dispute, a deleted question, and one statement deleting answers
    # of several learners at once.
    with sf() as s:
        wrong = s.scalar(
            select(Attempt.id).where(Attempt.user_id == uids[0], Attempt.correct.is_(False))
        )
    dispute_attempt(runtime, user_id=uids[0], attempt_id=wrong)
    delete_question(runtime, user_id=uids[1], question_id=questions[uids[1]][2])
    with runtime.engine.begin() as conn:
        conn.execute(
            text("DELETE FROM attempts WHERE question_id = ANY(:q) AND review_number = 2"),
            {"q": [questions[u][4] for u in uids]},
        )
    kept = _stored(runtime, uids)
    assert {r.user_id for r in kept} == set(uids)

    _rebuild(runtime, uids)
    assert _stored(runtime, uids) == kept
    for uid in uids:
        _assert_rollup_is_the_attempts(runtime, uid, now)

    # A new zone rebuilds that learner (set-based, through the same function).
    moved = uids[2]
    set_profile(sf, moved, timezone="America/New_York")
    _assert_rollup_is_the_attempts(runtime, moved, now)
    others = [u for u in uids if u != moved]
    assert _stored(runtime, others) == [r for r in kept if r.user_id != moved]


def test_a_deleted_question_recounts_only_the_days_of_its_answers(runtime, make_user):
    sf = runtime.session_factory
    now = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
    uid, other = make_user(), make_user()
    set_profile(sf, uid, timezone="America/New_York")
    set_profile(sf, other, timezone="America/New_York")
    qids = _answers_around_midnights(sf, uid, "America/New_York")
    _answers_around_midnights(sf, other, "America/New_York")
    before, others_before = _versions(runtime, uid), _versions(runtime, other)
    with sf() as s:
        days = set(
            s.scalars(
                select(func.date(func.timezone("America/New_York", Attempt.answered_at))).where(
                    Attempt.question_id == qids[0]
                )
            )
        )

    delete_question(runtime, user_id=uid, question_id=qids[0])

    _assert_rollup_is_the_attempts(runtime, uid, now)
    after = _versions(runtime, uid)
    rewritten = {key[1] for key, xmin in after.items() if before.get(key) != xmin}
    assert rewritten and rewritten <= days
    untouched = [key for key in before if key[1] not in days]
    assert untouched and all(after[key] == before[key] for key in untouched)
    assert _versions(runtime, other) == others_before


def test_rebuilding_one_learner_touches_no_other_learners_rows(runtime, make_user):
    sf = runtime.session_factory
    now = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
    uid, other = make_user(), make_user()
    for u in (uid, other):
        set_profile(sf, u, timezone="Asia/Kathmandu")
        _answers_around_midnights(sf, u, "Asia/Kathmandu")
    with runtime.engine.begin() as conn:
        # The other learner's rollup is made wrong on purpose: a rebuild of `uid` must not
        # repair (or otherwise rewrite) it.
        conn.execute(
            text("UPDATE attempt_rollups SET xp = xp + 1 WHERE user_id = :u"), {"u": other}
        )
    others_before = _versions(runtime, other)

    _rebuild(runtime, [uid])

    _assert_rollup_is_the_attempts(runtime, uid, now)
    assert _versions(runtime, other) == others_before
