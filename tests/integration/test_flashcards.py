"""Self-rated flashcards: the learner's rating is the scheduler's grade."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.db.models import Attempt, ReviewState
from engine.errors import InvalidInput
from engine.practice.dispute import dispute_attempt
from engine.practice.queue import get_practice_question
from engine.practice.submit import rate_flashcard, submit_answer
from engine.scheduling import fsrs6, sm2
from tests.support.practice import add_question, token

NOW = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


def flashcard(rt, uid) -> int:
    return add_question(
        rt.session_factory,
        uid,
        type="short",
        form="flashcard",
        options=None,
        correct_index=None,
        stem="perro",
        answer="dog",
    )


def test_the_back_is_offered_only_for_flashcards(runtime, make_user):
    uid = make_user()
    card = get_practice_question(runtime, user_id=uid, question_id=flashcard(runtime, uid))
    assert (card.form, card.back) == ("flashcard", "dog")
    other = get_practice_question(
        runtime, user_id=uid, question_id=add_question(runtime.session_factory, uid)
    )
    assert other.back is None


@pytest.mark.parametrize(
    ("rating", "quality", "correct"), [(1, 1, False), (2, 3, True), (3, 4, True), (4, 5, True)]
)
def test_rating_is_the_grade(runtime, make_user, rating, quality, correct):
    uid = make_user()
    qid = flashcard(runtime, uid)
    result = rate_flashcard(
        runtime,
        user_id=uid,
        question_id=qid,
        token=token(),
        rating=rating,
        seconds=95,
        expected_reviews=0,
        now=NOW,
    )
    assert result.correct is correct and result.grader == "self"
    with runtime.session_factory() as s:
        a = s.scalars(select(Attempt).where(Attempt.question_id == qid)).one()
        rs = s.scalars(select(ReviewState).where(ReviewState.question_id == qid)).one()
    # Slow (95 s) and whatever the confidence, the grade is the learner's rating.
    assert (a.rating, a.quality, a.correct, a.seconds) == (rating, quality, correct, 95)
    expected_sm2 = sm2.review(None, quality, reviewed_at=NOW)
    expected_fsrs = fsrs6.review(None, rating, reviewed_at=NOW)
    assert (rs.sm2_interval_days, rs.sm2_easiness) == (
        expected_sm2.interval_days,
        expected_sm2.easiness,
    )
    assert rs.fsrs_stability == pytest.approx(expected_fsrs.stability)


def test_a_flashcard_takes_only_a_rating(runtime, make_user):
    uid = make_user()
    qid = flashcard(runtime, uid)
    with pytest.raises(InvalidInput, match="Again, Hard, Good or Easy"):
        rate_flashcard(
            runtime,
            user_id=uid,
            question_id=qid,
            token=token(),
            rating=5,
            seconds=5,
            expected_reviews=0,
        )
    with pytest.raises(InvalidInput, match="Again, Hard, Good or Easy"):
        submit_answer(
            runtime,
            user_id=uid,
            question_id=qid,
            token=token(),
            response="dog",
            confidence=3,
            seconds=5,
            expected_reviews=0,
        )
    other = make_user()
    with pytest.raises(Exception, match="not found"):
        rate_flashcard(
            runtime,
            user_id=other,
            question_id=qid,
            token=token(),
            rating=3,
            seconds=5,
            expected_reviews=0,
        )


def test_a_self_rating_cannot_be_disputed(runtime, make_user):
    uid = make_user()
    qid = flashcard(runtime, uid)
    again = rate_flashcard(
        runtime,
        user_id=uid,
        question_id=qid,
        token=token(),
        rating=1,
        seconds=5,
        expected_reviews=0,
    )
    with pytest.raises(InvalidInput, match="rated this card yourself"):
        dispute_attempt(runtime, user_id=uid, attempt_id=again.attempt_id)
