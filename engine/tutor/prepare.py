"""Preparing a tutor turn: load the conversation, rewrite a follow-up into a standalone query,
search the learner's materials, weigh the evidence, and either answer at once (a refusal, an
offline answer or hint) or build the prompt a model will answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine import llm, usage
from engine.courses.materials import shared_libraries
from engine.db.models import Message
from engine.domain.passage import Passage
from engine.domain.vocabulary import TutorMode as TutorModeName
from engine.errors import EngineError
from engine.profiles import get_profile
from engine.prompt_templates import active_templates
from engine.runtime import Runtime
from engine.search import query_coverage, search_in, search_with_courses
from engine.tutor import citations, grounding, limits, prompts, rewrite, socratic, store
from engine.tutor.sources import Source
from engine.tutor.turns import (
    GENERAL_OFFLINE_TEXT,
    NO_SENTENCE_TEXT,
    REFUSAL_TEXT,
    SUGGESTIONS,
    Turn,
    TurnContext,
    finish_now,
    tutor_mode,
)

log = logging.getLogger(__name__)


def _templates(session: Session) -> prompts.Templates:
    texts, version = active_templates(session, prompts.TEMPLATE_NAMES, capability="The tutor")
    return prompts.Templates(texts=texts, version=version)


def _history(views: Sequence[store.MessageView]) -> list[prompts.Turn]:
    return [
        prompts.Turn(v.role, v.content)
        for v in views
        if v.status == "complete" and v.kind != "quiz"
    ]


def _rewrite(
    rt: Runtime,
    t: prompts.Templates,
    *,
    user_id: int,
    history: list[dict[str, str]],
    question: str,
    previous_query: str | None,
) -> str:
    fallback = rewrite.heuristic_query(question, previous_query)
    if tutor_mode(rt).offline or not history:
        return fallback
    reservation = limits.reserve_call(rt, user_id=user_id)
    try:
        c = llm.complete(
            prompts.rewrite_messages(t, history=history[-6:], question=question),
            task="tutoring",
            settings=rt.settings,
            temperature=0.0,
            max_tokens=100,
        )
    except EngineError as e:
        limits.settle_call(
            rt, reservation, model=tutor_mode(rt).model or "", outcome=limits.failure_outcome(e)
        )
        log.warning("query rewrite failed; heuristic used", extra={"err": e.user_message})
        return fallback
    limits.settle_call(
        rt,
        reservation,
        model=c.model,
        outcome="ok",
        prompt_version=t.version,
        tokens_in=c.tokens_in,
        tokens_out=c.tokens_out,
        cost_usd=c.cost_usd,
        latency_ms=c.latency_ms,
    )
    return rewrite.clean_model_query(c.text, fallback)


def _load(
    rt: Runtime,
    *,
    user_id: int,
    conversation_id: int,
    user_message_id: int,
    question: str,
    mode: str,
    started: float,
) -> TurnContext:
    with rt.session_factory() as session:
        owned = store.owned(session, user_id, conversation_id)
        limit = rt.settings.tutor.history_max_messages + 1
        earlier = [
            v
            for v in store._messages(session, user_id, conversation_id, limit)
            if v.id < user_message_id
        ]
        ctx = TurnContext(
            user_id=user_id,
            conversation_id=conversation_id,
            user_message_id=user_message_id,
            question=question,
            mode=mode,
            material_ids=owned.material_ids,
            earlier=earlier,
            t=_templates(session),
            marks={},
        )
    ctx.marks["history_ms"] = (time.perf_counter() - started) * 1000
    return ctx


def _trimmed_history(rt: Runtime, ctx: TurnContext, *, needed: bool) -> list[dict[str, str]]:
    if not needed:  # offline, no model reads the history: no token counting
        return []
    settings = rt.settings

    def counter(msgs: list[dict[str, str]]) -> int:
        return llm.count_tokens(msgs, task="tutoring", settings=settings)

    return prompts.trim_history(
        _history(ctx.earlier),
        budget=settings.tutor.history_tokens,
        count=counter,
        max_turns=settings.tutor.history_max_messages,
    )


def _evidence(
    rt: Runtime, session: Session, ctx: TurnContext, query: str, passages: list[Passage]
) -> grounding.Evidence | None:
    if not passages:
        return None
    top = passages[:3]
    in_library, in_passage = query_coverage(
        rt, session, user_id=ctx.user_id, query=query, passages=top
    )
    for shared in shared_libraries(session, ctx.user_id) if ctx.material_ids is None else []:
        theirs = [p for p in top if p.material_id in shared.course_titles]
        if theirs:
            # Only what the course's passages hold counts: the teacher's other materials are
            # not the learner's to probe.
            _, covered = query_coverage(
                rt, session, user_id=shared.teacher_id, query=query, passages=theirs
            )
            in_library, in_passage = max(in_library, covered), max(in_passage, covered)
    cosines = [p.cosine for p in passages if p.cosine is not None]
    return grounding.Evidence(
        cosine=max(cosines) if cosines else passages[0].score,
        library_coverage=in_library,
        passage_coverage=in_passage,
    )


def _search(
    rt: Runtime, ctx: TurnContext, query: str
) -> tuple[list[Passage], grounding.Evidence | None, tuple[dict[int, str], dict[int, str]]]:
    """Store the turn's search query on the learner's message, search their materials and
    weigh the evidence that they cover it; also the text before and after each top passage
    (for whole sentences offline)."""
    with rt.session_factory.begin() as session:
        session.execute(
            update(Message)
            .where(Message.id == ctx.user_message_id, Message.user_id == ctx.user_id)
            .values(search_query=query)
        )
        step = time.perf_counter()
        # Without pseudo-relevance feedback: the tutor answers from the passages that match
        # the question's own words (`bench.tutor`: first citation relevant 42.9 % without it,
        # 37.5 % with it; follow-ups found 12 of 12 without, 11 of 12 with).
        k = rt.settings.tutor.context_passages
        if ctx.material_ids is None:  # the whole library, with the learner's course materials
            passages = search_with_courses(
                rt, session, user_id=ctx.user_id, query=query, k=k, feedback=False
            )
        else:
            passages = search_in(
                rt,
                session,
                user_id=ctx.user_id,
                query=query,
                k=k,
                material_ids=ctx.material_ids,
                feedback=False,
            )
        evidence = _evidence(rt, session, ctx, query, passages)
        top = [p.chunk_id for p in passages[:3]]
        around = (
            store.passage_leads(session, user_id=ctx.user_id, chunk_ids=top),
            store.passage_trails(session, user_id=ctx.user_id, chunk_ids=top),
        )
        ctx.marks["retrieval_ms"] = (time.perf_counter() - step) * 1000
    return passages, evidence, around


def _kind(*, refuse: bool, general: bool, offline: bool, mode: str) -> str:
    if refuse:
        return "refusal" if not general or offline else "general"
    return "quiz" if mode == TutorModeName.QUIZ else "offline" if offline else "answer"


def _build_prompt(
    rt: Runtime, turn: Turn, t: prompts.Templates, history: list[dict[str, str]]
) -> None:
    step = time.perf_counter()
    profile = get_profile(rt, user_id=turn.user_id)
    who = prompts.profile_text(
        level=profile.self_level, goals=profile.learning_goals, subjects=profile.subjects
    )
    if turn.kind in ("answer", "offline"):
        turn.messages = prompts.build_messages(
            t,
            mode=turn.mode,
            profile=who,
            history=history,
            question=turn.question,
            sources=[prompts.Source(s.n, s.title, s.pages, s.text) for s in turn.sources],
        )
    else:
        turn.messages = prompts.general_messages(
            t, profile=who, history=history, question=turn.question
        )
    turn.timings["prompt_ms"] = (time.perf_counter() - step) * 1000


def _offline_answer(rt: Runtime, turn: Turn) -> None:
    """The best whole sentences of the top passages, each citing its passage."""
    sources = turn.sources
    leads, trails = turn.around()
    extract = grounding.extractive_answer(
        turn.query,
        [s.text for s in sources],
        usage.embedder_for(rt, user_id=turn.user_id),
        leads=leads,
        trails=trails,
        question=turn.question,
        focus=turn.question if turn.query != turn.question else "",
        scores=[s.score for s in sources],
    )
    cited = {n for s in extract.sentences for n in s.refs}
    finish_now(
        rt,
        turn,
        content=extract.text or NO_SENTENCE_TEXT,
        sources=[s for s in sources if s.n in cited] or sources[:SUGGESTIONS],
        sentences=extract.sentences,
        cited_share=round(citations.Checked(extract.sentences).cited_share, 4),
    )


def _answer_now(rt: Runtime, turn: Turn, *, general: bool) -> None:
    """A refusal or an offline answer (or hint), stored at once (no model call)."""
    if turn.kind == "refusal":
        finish_now(
            rt,
            turn,
            content=GENERAL_OFFLINE_TEXT if general else REFUSAL_TEXT,
            sources=turn.sources[:SUGGESTIONS],
            sentences=[],
            cited_share=None,
        )
    elif turn.kind == "offline" and turn.mode == TutorModeName.SOCRATIC:
        socratic.first_hint(rt, turn)
    elif turn.kind == "offline":
        _offline_answer(rt, turn)


def _query(rt: Runtime, ctx: TurnContext, history: list[dict[str, str]]) -> tuple[str, float]:
    """The standalone search query and how long the learner waited for a model to write it."""
    previous_query = next(
        (v.search_query for v in reversed(ctx.earlier) if v.role == "user" and v.search_query),
        None,
    )
    before = time.perf_counter()
    query = _rewrite(
        rt,
        ctx.t,
        user_id=ctx.user_id,
        history=history,
        question=ctx.question,
        previous_query=previous_query,
    )
    ctx.marks["rewrite_ms"] = (time.perf_counter() - before) * 1000
    waited = ctx.marks["rewrite_ms"] if history and not tutor_mode(rt).offline else 0.0
    return query, waited


def prepare(
    rt: Runtime, ctx: TurnContext, *, general: bool, started: float, build_prompt: bool = False
) -> Turn:
    """Answer the turn at once or prepare its prompt (see the module docstring)."""
    offline = tutor_mode(rt).offline
    if offline and ctx.mode == TutorModeName.SOCRATIC:
        ladder = socratic.open_ladder(ctx.earlier)
        if ladder is not None:
            return socratic.next_hint(rt, ctx, ladder, started)
    history = _trimmed_history(rt, ctx, needed=not offline or build_prompt)
    query, rewrite_wait = _query(rt, ctx, history)
    passages, evidence, (leads, trails) = _search(rt, ctx, query)
    refuse = grounding.should_refuse(evidence, rt.settings.tutor.refusal_threshold)
    turn = Turn(
        user_id=ctx.user_id,
        conversation_id=ctx.conversation_id,
        question=ctx.question,
        query=query,
        mode=ctx.mode,
        kind=_kind(refuse=refuse, general=general, offline=offline, mode=ctx.mode),
        sources=[Source.from_passage(n, p) for n, p in enumerate(passages, start=1)],
        prompt_version=ctx.t.version,
        timings=ctx.marks,
        evidence=evidence,
        leads=leads,
        trails=trails,
    )
    if turn.kind in ("answer", "general") or (build_prompt and turn.kind == "offline"):
        _build_prompt(rt, turn, ctx.t, history)
    turn.pre_llm_ms = (time.perf_counter() - started) * 1000 - rewrite_wait
    _answer_now(rt, turn, general=general)
    turn.engine_ms = (time.perf_counter() - started) * 1000 - rewrite_wait
    return turn


def load_and_prepare(
    rt: Runtime,
    *,
    user_id: int,
    conversation_id: int,
    user_message_id: int,
    question: str,
    mode: str,
    general: bool,
    started: float,
    build_prompt: bool = False,
) -> Turn:
    """Load the conversation before the learner's message and prepare its answer."""
    ctx = _load(
        rt,
        user_id=user_id,
        conversation_id=conversation_id,
        user_message_id=user_message_id,
        question=question,
        mode=mode,
        started=started,
    )
    return prepare(rt, ctx, general=general, started=started, build_prompt=build_prompt)
