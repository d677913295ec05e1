"""Replacing a question with a new one from the same passage, keeping the learning history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update

from engine.bank.service import add_questions
from engine.db.models import Question, ReviewState
from engine.errors import InvalidInput, NotFound
from engine.generation.service import generate_from_chunk
from engine.practice import store

if TYPE_CHECKING:
    from engine.runtime import Runtime


def replace_question(rt: Runtime, *, user_id: int, question_id: int) -> int:
    """Make a new question from the same source passage (with the grading model when one is
    configured, offline otherwise) that takes over the old one's scheduling state, and retire
    the old one. Returns the new question's id.

    The new question is drafted first (a model call may take seconds); saving it, retiring the
    old one and handing the schedule over are then one transaction.

    Raises:
        NotFound: no such question for this learner, or its source passage is gone.
        InvalidInput: the question was already replaced.
        NothingGenerated, RateLimited, LLMUnavailable...: as for generation.
    """
    with rt.session_factory() as session:
        q = store.load_question(session, user_id, question_id)
        if session.scalar(
            select(Question.id).where(
                Question.user_id == user_id, Question.replaces_question_id == q.id
            )
        ):
            raise InvalidInput("This question was already replaced.")
        chunk_id, qtype, difficulty = q.source_chunk_id, q.type, q.difficulty
    if chunk_id is None:
        raise NotFound(
            "The source passage of this question is no longer in your library, so "
            "it cannot be replaced. Retire it instead."
        )
    drafts = generate_from_chunk(
        rt, user_id=user_id, chunk_id=chunk_id, question_type=qtype, difficulty=difficulty
    )
    with rt.session_factory.begin() as session:
        # The learner's row first, as answers lock it: the schedule changes hands while no
        # answer to the old question can be recorded.
        store.load_profile(session, user_id, lock=True)
        old = store.load_question(session, user_id, question_id, lock=True)
        (new_id,) = add_questions(
            session, user_id=user_id, drafts=drafts[:1], replaces_question_id=question_id
        )
        store.resolve_flags(session, user_id, old.id, "replaced")
        old.status = "retired"
        # The learning history carries over: same schedule, now for the new question.
        session.execute(
            update(ReviewState)
            .where(ReviewState.question_id == old.id, ReviewState.user_id == user_id)
            .values(question_id=new_id, suspended=False)
        )
    return new_id
