"""The tutor services pages call: ask a question in a conversation, stream the answer, retry a
failed one, and Quiz me (`engine.tutor.quiz`, re-exported here).

A turn runs in two steps so the page can stream: `ask` (or `retry`) stores the learner's message,
rewrites a follow-up into a standalone query, searches the learner's materials and decides how to
answer (`engine.tutor.prepare`): a refusal or an offline extractive answer is finished at once,
without a model call; a model answer is prepared (prompt built, nothing sent yet).
`stream_answer` then reserves the call in the learner's limits, streams it, validates the
citations and stores the answer, or stores the interrupted answer as failed and raises.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence

from engine import llm, usage
from engine.domain.vocabulary import TutorMode as TutorModeName
from engine.errors import InvalidInput, RateLimited
from engine.runtime import Runtime
from engine.tutor import citations, grounding, limits, store
from engine.tutor.prepare import load_and_prepare
from engine.tutor.quiz import (
    QuizCheck,
    accept_quiz_question,
    answer_quiz,
    quiz_preview,
    reject_quiz_question,
)
from engine.tutor.sources import Source
from engine.tutor.turns import Turn, TutorMode, finish_now, tutor_mode

log = logging.getLogger(__name__)


def _check_message(text: str, max_chars: int) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Type a question or a message first.")
    if len(text) > max_chars:
        raise InvalidInput(
            f"Messages can be at most {max_chars:,} "
            f"characters; this one has {len(text):,}. Shorten it or split it."
        )
    return text


def ask(
    rt: Runtime,
    *,
    user_id: int,
    conversation_id: int,
    message: str,
    mode: str = TutorModeName.EXPLAIN,
    general: bool = False,
    build_prompt: bool = False,
) -> Turn:
    """Store the learner's message and prepare its answer (see the module docstring).

    Args:
        rt: the runtime (its settings: model, thresholds, limits).
        user_id: the learner.
        conversation_id: one of the learner's conversations.
        message: what the learner typed.
        mode: 'explain', 'socratic' or 'quiz'.
        general: allow a general-knowledge answer when the material does not cover it.
        build_prompt: build the model prompt even offline (benchmarks time it); offline the
            app skips it, as no model will read it.

    Returns:
        The turn; when `turn.needs_model`, pass it to `stream_answer`.

    Raises:
        InvalidInput: empty or over-long message, unknown mode.
        NotFound: the conversation is not the learner's.
        RateLimited: the learner's tutor limit is used up (rewriting a follow-up needs a call).
    """
    started = time.perf_counter()
    question = _check_message(message, rt.settings.tutor.message_max_chars)
    mode = store._check_mode(mode)
    with rt.session_factory.begin() as session:
        conv = store.owned(session, user_id, conversation_id)
        msg = store.add_message(
            session,
            user_id=user_id,
            conversation=conv,
            role="user",
            kind="question",
            mode=mode,
            content=question,
        )
        msg_id = msg.id
    return load_and_prepare(
        rt,
        user_id=user_id,
        conversation_id=conversation_id,
        user_message_id=msg_id,
        question=question,
        mode=mode,
        general=general,
        started=started,
        build_prompt=build_prompt,
    )


def unanswered(messages: Sequence[store.MessageView]) -> store.MessageView | None:
    """The learner's last message when it has no complete answer (after a failure)."""
    for v in reversed(messages):
        if v.role == "assistant" and v.status == "complete":
            return None
        if v.role == "user":
            return v
    return None


def retry(rt: Runtime, *, user_id: int, conversation_id: int, general: bool = False) -> Turn:
    """Answer the learner's last message again after a failed answer.

    Raises:
        InvalidInput: the last message already has an answer.
        NotFound: the conversation is not the learner's.
    """
    started = time.perf_counter()
    views = store.list_messages(rt, user_id=user_id, conversation_id=conversation_id, limit=4)
    pending = unanswered(views)
    if pending is None:
        raise InvalidInput("There is nothing to retry: your last message has an answer.")
    return load_and_prepare(
        rt,
        user_id=user_id,
        conversation_id=conversation_id,
        user_message_id=pending.id,
        question=pending.content,
        mode=pending.mode,
        general=general,
        started=started,
    )


# --- the model answer -------------------------------------------------------------------------


def _store_failed(rt: Runtime, turn: Turn, partial: str) -> None:
    with rt.session_factory.begin() as session:
        conv = store.owned(session, turn.user_id, turn.conversation_id)
        store.add_message(
            session,
            user_id=turn.user_id,
            conversation=conv,
            role="assistant",
            kind=turn.kind,
            mode=turn.mode,
            content=partial,
            status="failed",
            search_query=turn.query,
        )


def _validated(rt: Runtime, turn: Turn, text: str) -> tuple[str, citations.Checked]:
    settings = rt.settings
    parsed = citations.parse(text)
    valid = [s.n for s in turn.sources]
    scores = (
        grounding.support_scores(
            [s.text for s in parsed],
            [s.text for s in turn.sources],
            usage.embedder_for(rt, user_id=turn.user_id),
        )
        if parsed and valid
        else None
    )
    checked = citations.check(
        parsed,
        valid=valid,
        scores=scores,
        threshold=settings.tutor.citation_threshold,
        min_support=settings.tutor.citation_min_support,
    )
    if checked.removed or checked.added:
        log.info("citations corrected", extra={"removed": checked.removed, "added": checked.added})
    return citations.render(checked.sentences), checked


def _store_answer(rt: Runtime, turn: Turn, text: str) -> None:
    """Store the model's answer: a general one without sources, a grounded one with its
    citations validated."""
    if turn.kind == "general":
        content = citations.strip_markers(text)
        finish_now(rt, turn, content=content, sources=[], sentences=[], cited_share=None)
        return
    content, checked = _validated(rt, turn, text)
    cited = {n for s in checked.sentences for n in s.refs}
    finish_now(
        rt,
        turn,
        content=content,
        sources=[s for s in turn.sources if s.n in cited],
        sentences=checked.sentences,
        cited_share=round(checked.cited_share, 4),
    )


def stream_answer(rt: Runtime, turn: Turn) -> Iterator[str]:
    """Stream the model's answer as text deltas, then validate and store it (`turn.message`).

    The call is reserved in the learner's limits before it is made. A provider failure before
    or during the stream stores what arrived as a *failed* message (never as an answer),
    settles the reservation as failed and raises the error.

    Raises:
        RateLimited: the learner's tutor limit is used up (nothing was sent).
        LLMUnavailable, LLMAuthFailed, ProviderRateLimited, LLMOutputInvalid: from the provider.
    """
    if not turn.needs_model:
        raise ValueError("this turn has no model answer to stream")
    reservation = limits.reserve_call(rt, user_id=turn.user_id)
    received: list[str] = []
    try:
        s = llm.stream(turn.messages or [], task="tutoring", settings=rt.settings)
        for piece in s:
            received.append(piece)
            yield piece
        if not "".join(received).strip():
            raise InvalidInput("The model returned an empty answer. Try again.")
    except BaseException as e:
        # Also when the page stops consuming (the learner left): never a half answer stored.
        outcome = limits.failure_outcome(e)
        model = tutor_mode(rt).model or ""
        limits.settle_call(
            rt, reservation, model=model, outcome=outcome, prompt_version=turn.prompt_version
        )
        _store_failed(rt, turn, "".join(received))
        raise
    limits.settle_call(
        rt,
        reservation,
        model=s.model,
        outcome="ok",
        prompt_version=turn.prompt_version,
        tokens_in=s.tokens_in,
        tokens_out=s.tokens_out,
        cost_usd=s.cost_usd,
        latency_ms=s.latency_ms,
    )
    _store_answer(rt, turn, "".join(received).strip())


__all__ = [
    "QuizCheck",
    "RateLimited",
    "Source",
    "Turn",
    "TutorMode",
    "accept_quiz_question",
    "answer_quiz",
    "ask",
    "quiz_preview",
    "reject_quiz_question",
    "retry",
    "stream_answer",
    "tutor_mode",
    "unanswered",
]
