"""The practice session's rules: a missed question is asked once more before the end, what
comes next, and the end-of-session summary (pure; no database)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from engine.practice.session_rules import (
    NextStep,
    SessionTally,
    StepKind,
    drop_question,
    next_step,
    record_answer,
    record_dispute,
    summarize,
)


@dataclass(frozen=True)
class Entry:
    question_id: int
    kind: str
    reviews: int | None


def answer(tally, qid, correct, *, xp=10, kind="new", duplicate=False):
    return record_answer(
        tally, question_id=qid, correct=correct, xp_earned=xp, duplicate=duplicate, kind=kind
    )


def test_a_whole_session_asks_each_missed_question_once_more_then_ends_with_a_summary():
    queue = [Entry(1, "review", 3), Entry(2, "new", 0), Entry(3, "new", 0)]
    tally = SessionTally()
    shown = []
    outcomes = {1: [False, False], 2: [True], 3: [False, True]}  # per showing
    while (step := next_step(tally, queue)) is not None:
        shown.append((step.question_id, step.kind))
        correct = outcomes[step.question_id].pop(0)
        tally = answer(tally, step.question_id, correct, xp=25 if correct else 5, kind=step.kind)
        queue = [e for e in queue if e.question_id != step.question_id]
    assert shown == [
        (1, StepKind.REVIEW),
        (2, StepKind.NEW),
        (3, StepKind.NEW),
        (1, StepKind.RELEARN),
        (3, StepKind.RELEARN),
    ]
    # Missed again on its second showing, question 1 is not asked a third time.
    assert tally.relearn == () and tally.relearned == (1, 3)
    assert summarize(tally) == summarize(
        SessionTally(answered=5, correct=2, xp=5 + 25 + 5 + 5 + 25, relearned=(1, 3))
    )
    summary = summarize(tally)
    assert (summary.answered, summary.correct, summary.relearned) == (5, 2, 2)
    assert summary.accuracy == pytest.approx(0.4)


def test_the_queue_comes_before_missed_questions():
    tally = answer(SessionTally(), 7, False)
    assert next_step(tally, [Entry(8, "new", 0)]) == NextStep(8, StepKind.NEW, 0)
    assert next_step(tally, []) == NextStep(7, StepKind.RELEARN, None)


def test_a_missed_question_due_again_at_once_counts_as_its_second_showing():
    tally = answer(SessionTally(), 7, False)
    tally = answer(tally, 7, True, kind="review")  # the scheduler put it straight back
    assert tally.relearn == () and tally.relearned == (7,)
    assert next_step(tally, []) is None


def test_a_repeated_answer_is_counted_once():
    tally = answer(SessionTally(), 7, False)
    again = answer(tally, 7, False, duplicate=True)
    assert again == tally


def test_a_disputed_answer_is_not_asked_again_and_counts_as_right():
    tally = answer(SessionTally(), 7, False, xp=5)
    tally = record_dispute(tally, question_id=7, correct=True, xp_before=5, xp_after=25)
    assert tally.relearn == ()
    assert (tally.answered, tally.correct, tally.xp) == (1, 1, 25)
    assert next_step(tally, []) is None


def test_a_question_that_disappeared_is_not_asked_again():
    tally = answer(answer(SessionTally(), 7, False), 8, False)
    tally = drop_question(tally, 7)
    assert next_step(tally, []) == NextStep(8, StepKind.RELEARN, None)


def test_no_summary_before_the_first_answer():
    assert summarize(SessionTally()) is None
    assert next_step(SessionTally(), []) is None


def test_bad_values_are_refused():
    with pytest.raises(ValueError):
        answer(SessionTally(), 1, True, xp=-1)
    with pytest.raises(ValueError):
        answer(SessionTally(), 1, True, kind="later")
