"""Quiz me: questions on the conversation's topic from its passages, through the generation
engine. They are stored on the quiz message; the learner answers each one in the chat before
its answer is shown, then accepts it into their bank or rejects it (a rejected question is
never offered again)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine.bank import service as bank
from engine.db.models import Material
from engine.domain.vocabulary import QuestionType
from engine.errors import EngineError, InvalidInput
from engine.generation import service as generation
from engine.generation.drafts import MIX, Draft
from engine.generation.validation import dedupe_key
from engine.practice.grading import (
    QuestionForGrading,
    grade_choice,
    grade_cloze,
    grade_short_offline,
)
from engine.runtime import Runtime
from engine.tutor import store
from engine.tutor.turns import SUGGESTIONS, Turn, finish_now

QUIZ_COUNT = 3


@dataclass(frozen=True)
class QuizCheck:
    """The learner's answer to a quiz question, graded offline."""

    correct: bool
    reason: str


def generation_count_max(count: int) -> int:
    """How many questions a quiz asks the generator for at most (extra ones replace
    questions the learner rejected before)."""
    return count + 5


def _quiz_text(n: int) -> str:
    if not n:
        return (
            "No new questions on this topic: the ones I could make from your "
            "material are ones you rejected before."
        )
    return (
        f"{n} question{'s' if n != 1 else ''} on this topic. Answer each one here; then "
        "accept the ones you want in your bank and your review schedule."
    )


def _item(d: Draft) -> dict[str, Any]:
    """A stored quiz question: its answer is in `quiz`, which the page shows only once the
    learner has answered (`state` no longer 'pending')."""
    return {
        "text": d.stem,
        "refs": [],
        "added": False,
        "quiz": d.to_dict(),
        "key": dedupe_key(d.stem, d.answer),
        "state": "pending",
    }


def quiz_preview(
    rt: Runtime, turn: Turn, *, count: int = QUIZ_COUNT
) -> generation.GenerationResult:
    """Questions on the turn's topic from its passages, never one the learner rejected in an
    earlier quiz. They are stored on the quiz message (answers are shown once the learner has
    answered: `answer_quiz`); accept them with `accept_quiz_question`, reject them with
    `reject_quiz_question`.

    Raises:
        The errors of `generate_questions` (limits, provider, NothingGenerated).
    """
    if turn.kind != "quiz":
        raise ValueError("not a quiz turn")
    cited = {s.material_id for s in turn.sources if s.material_id is not None}
    with rt.session_factory() as session:
        rejected = store.rejected_quiz_keys(session, turn.user_id)
        # Only the learner's own materials: a course's materials are read-only for its
        # learners (none cited: the topic is looked for in their whole library).
        material_ids = sorted(
            session.scalars(
                select(Material.id).where(
                    Material.user_id == turn.user_id, Material.id.in_(sorted(cited))
                )
            )
        )
    try:
        result = generation.generate_questions(
            rt,
            user_id=turn.user_id,
            material_ids=material_ids,
            topic=turn.query[: generation.TOPIC_MAX],
            question_type=MIX,
            count=min(count + len(rejected), generation_count_max(count)),
        )
    except EngineError as e:
        finish_now(
            rt,
            turn,
            content=f"No quiz this time: {e.user_message}",
            sources=turn.sources[:SUGGESTIONS],
            sentences=[],
            cited_share=None,
        )
        raise
    drafts = [d for d in result.drafts if dedupe_key(d.stem, d.answer) not in rejected][:count]
    finish_now(
        rt,
        turn,
        content=_quiz_text(len(drafts)),
        sources=turn.sources[:SUGGESTIONS],
        sentences=[_item(d) for d in drafts],
        cited_share=None,
    )
    return dataclasses.replace(result, drafts=drafts)


def _quiz_item(rt: Runtime, user_id: int, message_id: int, index: int) -> dict[str, Any]:
    with rt.session_factory() as session:
        msg = store._quiz_message(session, user_id, message_id)
        items = msg.sentences or []
        if not 0 <= index < len(items) or "quiz" not in items[index]:
            raise InvalidInput("This question is no longer in the quiz.")
        return dict(items[index])


def answer_quiz(
    rt: Runtime, *, user_id: int, message_id: int, index: int, response: str | int
) -> QuizCheck:
    """Grade the learner's answer to a quiz question offline and keep it (the page shows the
    answer and explanation only after this).

    Raises:
        NotFound: the quiz is not the learner's.
        InvalidInput: an empty answer, or the question is gone.
    """
    item = _quiz_item(rt, user_id, message_id, index)
    draft = Draft.from_dict(item["quiz"])
    if isinstance(response, str) and not response.strip():
        raise InvalidInput("Type your answer first.")
    q = QuestionForGrading(
        type=draft.type,
        stem=draft.stem,
        options=draft.options,
        correct_index=draft.correct_index,
        answer=draft.answer,
        key_points=draft.key_points,
        excerpt=draft.excerpt,
    )
    grading = rt.settings.grading
    if draft.type == QuestionType.MCQ:
        verdict = grade_choice(q, int(response))
    elif draft.type == QuestionType.CLOZE:
        verdict = grade_cloze(q, str(response), threshold=grading.cloze_threshold)
    else:
        verdict = grade_short_offline(
            q,
            str(response),
            threshold=grading.keypoint_threshold,
            coverage=grading.keypoint_coverage,
        )
    with rt.session_factory.begin() as session:
        store.set_quiz_item(
            session,
            user_id=user_id,
            message_id=message_id,
            index=index,
            response=response,
            correct=verdict.correct,
            state=item["state"] if item["state"] == "rejected" else "answered",
        )
    return QuizCheck(correct=verdict.correct, reason=verdict.reason)


def reject_quiz_question(rt: Runtime, *, user_id: int, message_id: int, index: int) -> None:
    """The learner does not want this question: it is never offered by Quiz me again.

    Raises:
        NotFound: the quiz is not the learner's.
    """
    with rt.session_factory.begin() as session:
        store.set_quiz_item(
            session, user_id=user_id, message_id=message_id, index=index, state="rejected"
        )


def accept_quiz_question(rt: Runtime, *, user_id: int, message_id: int, index: int) -> None:
    """Save a quiz question to the learner's bank and review schedule.

    Raises:
        NotFound: the quiz is not the learner's.
        The errors of `engine.bank.service.save_questions`.
    """
    item = _quiz_item(rt, user_id, message_id, index)
    bank.save_questions(rt, user_id=user_id, drafts=[Draft.from_dict(item["quiz"])])
    with rt.session_factory.begin() as session:
        store.set_quiz_item(
            session, user_id=user_id, message_id=message_id, index=index, state="accepted"
        )
