"""Flags on questions, keeping or retiring a flagged one, and the list that needs attention."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import exists, select

from engine.courses.item_stats import analysis_params, question_cohort_score
from engine.courses.responses import flag_latest_response
from engine.db.models import Attempt, Flag, Question
from engine.db.models.practice import FLAG_REASONS
from engine.domain.vocabulary import FlagReason
from engine.errors import InvalidInput, NotFound
from engine.practice import store
from engine.practice.params import quality_params

if TYPE_CHECKING:
    from engine.runtime import Runtime


@dataclass(frozen=True)
class FlagOutcome:
    flag_id: int
    status: str  # the question's status afterwards


def _check_flag(reason: str, note: str) -> None:
    problems = []
    if reason not in FLAG_REASONS:
        problems.append("Choose why you are flagging it: wrong, unclear, duplicate or other.")
    if len(note) > store.MAX_NOTE_CHARS:
        problems.append(f"Keep the note under {store.MAX_NOTE_CHARS} characters.")
    if reason == FlagReason.OTHER and not note.strip():
        problems.append("Add a short note saying what is wrong.")
    if problems:
        raise InvalidInput(" ".join(problems))


def flag_question(
    rt: Runtime,
    *,
    user_id: int,
    question_id: int,
    reason: str,
    note: str = "",
    attempt_id: int | None = None,
) -> FlagOutcome:
    """Record a flag. "wrong" takes the question out of the queues at once (to the review
    list); any flag may retire it through the flag-rate rule.

    Raises:
        NotFound: no such question (or attempt) for this learner.
        InvalidInput: unknown reason, or a note that is too long.
    """
    _check_flag(reason, note)
    with rt.session_factory.begin() as session:
        q = store.load_question(session, user_id, question_id, lock=True)
        if (
            attempt_id is not None
            and session.scalar(
                select(Attempt.id).where(
                    Attempt.id == attempt_id,
                    Attempt.user_id == user_id,
                    Attempt.question_id == question_id,
                )
            )
            is None
        ):
            raise NotFound("That answer was not found.")
        flag = Flag(
            user_id=user_id,
            question_id=q.id,
            attempt_id=attempt_id,
            reason=reason,
            note=note.strip(),
        )
        session.add(flag)
        session.flush()
        cohort = None
        if q.course_question_id is not None:
            flag_latest_response(session, user_id=user_id, course_question_id=q.course_question_id)
            cohort = question_cohort_score(
                session, course_question_id=q.course_question_id, params=analysis_params(rt)
            )
        store.refresh_quality(session, q, quality_params(rt.settings), cohort_score=cohort)
        return FlagOutcome(flag.id, q.status)


def keep_question(rt: Runtime, *, user_id: int, question_id: int) -> None:
    """The learner checked a flagged or retired question and wants it back in the queues."""
    with rt.session_factory.begin() as session:
        q = store.load_question(session, user_id, question_id, lock=True)
        store.resolve_flags(session, user_id, q.id, "kept")
        q.status = "active"


def retire_question(rt: Runtime, *, user_id: int, question_id: int) -> None:
    """Take a question out of the queues for good (its history is kept)."""
    with rt.session_factory.begin() as session:
        q = store.load_question(session, user_id, question_id, lock=True)
        store.resolve_flags(session, user_id, q.id, "retired")
        q.status = "retired"


@dataclass(frozen=True)
class AttentionItem:
    question_id: int
    status: str
    stem: str
    material_title: str
    page_start: int
    quality_score: float | None
    open_flags: list[tuple[str, str]]  # (reason, note)
    replaceable: bool


def needs_attention(rt: Runtime, *, user_id: int) -> list[AttentionItem]:
    """Questions with an open flag of any reason (whatever their status), flagged ones, and
    retired ones not yet replaced, newest change first."""
    replaced = select(Question.replaces_question_id).where(
        Question.user_id == user_id, Question.replaces_question_id.is_not(None)
    )
    open_flag = exists().where(
        Flag.question_id == Question.id, Flag.user_id == user_id, Flag.resolved_at.is_(None)
    )
    with rt.session_factory() as session:
        qs = session.scalars(
            select(Question)
            .where(
                Question.user_id == user_id,
                Question.status.in_(("flagged", "retired")) | open_flag,
                Question.id.not_in(replaced),
            )
            .order_by(Question.updated_at.desc(), Question.id.desc())
            .limit(200)
        ).all()
        flags: dict[int, list[tuple[str, str]]] = {}
        if qs:
            for qid, reason, note in session.execute(
                select(Flag.question_id, Flag.reason, Flag.note)
                .where(
                    Flag.user_id == user_id,
                    Flag.resolved_at.is_(None),
                    Flag.question_id.in_([q.id for q in qs]),
                )
                .order_by(Flag.id)
            ):
                flags.setdefault(qid, []).append((reason, note))
        return [
            AttentionItem(
                q.id,
                q.status,
                q.stem,
                q.material_title,
                q.page_start,
                q.quality_score,
                flags.get(q.id, []),
                q.source_chunk_id is not None,
            )
            for q in qs
        ]
