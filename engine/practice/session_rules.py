"""The rules of one practice session on the Today page, as pure functions over a frozen tally.

A session counts this visit's answers, accuracy and XP; a question answered wrongly is asked
once more before the session ends (after the queue is empty), and a question is never re-asked
twice. What comes next: the queue's first entry, else the oldest missed question, else the end
(with a summary). No database and no Streamlit here: the page keeps the tally in its session
state and calls these functions with plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol


class StepKind(StrEnum):
    """Why a question is shown."""

    REVIEW = "review"  # due for review
    NEW = "new"  # never answered
    RELEARN = "relearn"  # missed earlier in this session, asked once more


class QueuedQuestion(Protocol):
    """What the rules read from a queue entry (`engine.practice.queue.QueueEntry`)."""

    @property
    def question_id(self) -> int: ...

    @property
    def kind(self) -> str: ...

    @property
    def reviews(self) -> int | None: ...


@dataclass(frozen=True)
class SessionTally:
    """This session so far: answers counted once each, and the missed questions.

    `relearn` holds missed questions still to be asked again (oldest first); `relearned` those
    already asked again (or missed on a second showing), which are never queued again.
    """

    answered: int = 0
    correct: int = 0
    xp: int = 0
    relearn: tuple[int, ...] = ()
    relearned: tuple[int, ...] = ()


@dataclass(frozen=True)
class NextStep:
    """The question to show next and why; `reviews` is None when the queue did not say."""

    question_id: int
    kind: StepKind
    reviews: int | None


@dataclass(frozen=True)
class SessionSummary:
    """The end-of-session figures."""

    answered: int
    correct: int
    xp: int
    relearned: int

    @property
    def accuracy(self) -> float:
        """The share of answers that were right (0 to 1)."""
        return self.correct / self.answered


def record_answer(
    tally: SessionTally,
    *,
    question_id: int,
    correct: bool,
    xp_earned: int,
    duplicate: bool,
    kind: StepKind | str,
) -> SessionTally:
    """The tally after one answer.

    A duplicate (the same answer sent twice) changes nothing. A wrong answer queues the
    question to be asked again once; answering a queued question (right or wrong) takes it
    off that queue for good.

    Args:
        tally: the session so far.
        question_id: the question answered.
        correct: whether the answer counted as right.
        xp_earned: XP this answer earned.
        duplicate: True when the answer repeated one already recorded.
        kind: why the question was shown (`StepKind`).

    Raises:
        ValueError: negative XP or an unknown kind.
    """
    kind = StepKind(kind)
    if xp_earned < 0:
        raise ValueError(f"xp_earned must be >= 0, got {xp_earned}")
    if duplicate:
        return tally
    counted = replace(
        tally,
        answered=tally.answered + 1,
        correct=tally.correct + int(correct),
        xp=tally.xp + xp_earned,
    )
    if kind is StepKind.RELEARN or question_id in tally.relearn:
        return replace(
            counted,
            relearn=tuple(q for q in tally.relearn if q != question_id),
            relearned=(*tally.relearned, question_id),
        )
    if not correct and question_id not in tally.relearned:
        return replace(counted, relearn=(*tally.relearn, question_id))
    return counted


def record_dispute(
    tally: SessionTally, *, question_id: int, correct: bool, xp_before: int, xp_after: int
) -> SessionTally:
    """The tally after a disputed answer was re-scored: now right, it is not asked again and
    the summary counts it as right with the XP it gained (never less than before)."""
    return replace(
        tally,
        correct=tally.correct + int(correct),
        xp=tally.xp + max(0, xp_after - xp_before),
        relearn=tuple(q for q in tally.relearn if q != question_id) if correct else tally.relearn,
    )


def drop_question(tally: SessionTally, question_id: int) -> SessionTally:
    """The tally once a question can no longer be shown (deleted, retired): not re-asked."""
    return replace(tally, relearn=tuple(q for q in tally.relearn if q != question_id))


def next_step(tally: SessionTally, queue: Sequence[QueuedQuestion]) -> NextStep | None:
    """What to show next: the queue's first entry, then each missed question once, then
    nothing (None: the session is over)."""
    if queue:
        entry = queue[0]
        return NextStep(entry.question_id, StepKind(entry.kind), entry.reviews)
    if tally.relearn:
        return NextStep(tally.relearn[0], StepKind.RELEARN, None)
    return None


def summarize(tally: SessionTally) -> SessionSummary | None:
    """The end-of-session summary, or None when nothing was answered in this session."""
    if not tally.answered:
        return None
    return SessionSummary(
        answered=tally.answered,
        correct=tally.correct,
        xp=tally.xp,
        relearned=len(tally.relearned),
    )
