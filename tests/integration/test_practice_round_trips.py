"""What a practice click costs the database: a Today card's reads run outside a transaction
(no BEGIN or ROLLBACK round trip around them) and showing a question is one round trip."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from engine.db.models import Profile, Question
from engine.practice.queue import build_queue, get_practice_question
from engine.practice.submit import submit_answer
from tests.support.practice import add_question, token
from tests.support.round_trips import traced

NOW = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)


def test_the_card_reads_open_no_transaction(runtime, make_user):
    uid = make_user()
    qid = add_question(runtime.session_factory, uid)
    with traced(runtime.engine) as queue_traffic:
        queue = build_queue(runtime, user_id=uid, now=NOW)
    with traced(runtime.engine) as question_traffic:
        question = get_practice_question(runtime, user_id=uid, question_id=qid)
    assert [e.question_id for e in queue.entries] == [qid]
    assert question.id == qid and not question.has_images
    assert queue_traffic.commands == [] and question_traffic.commands == []
    assert question_traffic.round_trips == 1


def _answer(runtime, uid, qid, now, expected_reviews=None):
    return submit_answer(
        runtime,
        user_id=uid,
        question_id=qid,
        token=token(),
        response=1,
        confidence=4,
        seconds=20,
        expected_reviews=expected_reviews,
        now=now,
    )


def test_the_queue_is_two_round_trips_and_counts_the_reviews_past_its_length(runtime, make_user):
    """The profile with the due reviews, then the day's counts with the new questions; with
    more reviews due than the queue holds, all of them are counted."""
    uid = make_user()
    with runtime.session_factory.begin() as s:
        s.get(Profile, uid).daily_target = 5
    reviews = [add_question(runtime.session_factory, uid) for _ in range(3)]
    for days, qid in zip((7, 6, 5), reviews, strict=True):
        _answer(runtime, uid, qid, NOW - dt.timedelta(days=days))
    _answer(runtime, uid, add_question(runtime.session_factory, uid), NOW)  # today, not due
    new = [add_question(runtime.session_factory, uid) for _ in range(3)]
    with traced(runtime.engine) as traffic:
        short = build_queue(runtime, user_id=uid, now=NOW, limit=2)
    queue = build_queue(runtime, user_id=uid, now=NOW)
    assert traffic.round_trips == 2 and traffic.commands == []
    assert (short.due_now, short.answered_today, short.new_allowed) == (3, 1, 1)
    assert [e.kind for e in short.entries] == ["review", "review"]
    assert (queue.due_now, queue.new_allowed) == (3, 1)
    assert [e.question_id for e in queue.entries] == [*reviews, new[0]]
    more = build_queue(runtime, user_id=uid, now=NOW, extra_new=5)
    assert [e.question_id for e in more.entries] == [*reviews, *new]
    assert more.new_allowed == 3 and more.active_questions == 7


def test_an_answer_is_still_one_transaction(runtime, make_user):
    """Writing keeps its transaction: BEGIN, the locking read, the write, COMMIT."""
    uid = make_user()
    qid = add_question(runtime.session_factory, uid)
    with traced(runtime.engine) as traffic:
        _answer(runtime, uid, qid, NOW, expected_reviews=0)
    assert traffic.commands == ["BEGIN", "COMMIT"]
    assert traffic.round_trips == 4


def test_a_read_session_refuses_to_write(runtime, make_user):
    uid = make_user()
    qid = add_question(runtime.session_factory, uid)
    with runtime.read_session_factory() as s:
        q = s.scalar(select(Question).where(Question.id == qid))
        q.stem = "changed"
        with pytest.raises(RuntimeError, match="cannot write"):
            s.flush()
    with runtime.read_session_factory() as s, pytest.raises(RuntimeError, match="cannot write"):
        s.execute(update(Profile).where(Profile.user_id == uid).values(daily_target=5))
    with runtime.session_factory() as s:
        assert s.get(Question, qid).stem != "changed"
        assert s.get(Profile, uid).daily_target != 5


def test_a_question_says_whether_it_has_pictures(runtime, make_user):
    """The card reads pictures only for a question that has some."""
    from engine.bank.images import replace_images
    from tests.support.anki_decks import image

    uid = make_user()
    plain, pictured = (
        add_question(runtime.session_factory, uid),
        add_question(runtime.session_factory, uid),
    )
    with runtime.session_factory.begin() as s:
        replace_images(
            s,
            user_id=uid,
            question_ids=[pictured],
            images=[(pictured, "question", "image/png", image("PNG", (5, 5)))],
        )
    shown = {
        q: get_practice_question(runtime, user_id=uid, question_id=q) for q in (plain, pictured)
    }
    assert not shown[plain].has_images and shown[pictured].has_images


def test_a_connection_back_from_a_read_writes_in_a_transaction_again(db_url):
    """One pooled connection: a read session's connection goes back to the pool with its
    transactions restored, so the next writer's statements are one transaction."""
    from sqlalchemy import text

    from engine.config import Settings
    from engine.db.session import make_engine, make_read_session_factory, make_session_factory

    engine = make_engine(db_url, Settings(database_url=db_url, db_pool_size=1, db_max_overflow=0))
    try:
        with make_read_session_factory(engine)() as s:
            s.execute(text("SELECT 1"))
        with traced(engine) as traffic, make_session_factory(engine).begin() as s:
            s.execute(text("CREATE TEMPORARY TABLE t (x int)"))
            s.execute(text("INSERT INTO t VALUES (1)"))
        assert traffic.commands == ["BEGIN", "COMMIT"]
    finally:
        engine.dispose()
