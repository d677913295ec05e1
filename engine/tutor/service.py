"""The tutor services pages call: ask a question in a conversation, stream the answer, retry a
failed one, and turn the current topic into a quiz preview through the generation engine.

A turn runs in two steps so the page can stream: `ask` (or `retry`) stores the learner's message,
rewrites a follow-up into a standalone query, searches the learner's materials and decides how to
answer: a refusal or an offline extractive answer is finished at once, without a model call; a
model answer is prepared (prompt built, nothing sent yet). `stream_answer` then reserves the call
in the learner's limits, streams it, validates the citations and stores the answer, or stores
the interrupted answer as failed and raises.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine import llm, usage
from engine.bank import service as bank
from engine.db.models import Message
from engine.domain.passage import Passage
from engine.domain.vocabulary import TutorMode as TutorModeName
from engine.errors import EngineError, InvalidInput, RateLimited
from engine.generation import service as generation
from engine.generation.drafts import MIX, Draft
from engine.generation.validation import dedupe_key
from engine.practice.grading import (
    QuestionForGrading,
    grade_choice,
    grade_cloze,
    grade_short_offline,
)
from engine.profiles import get_profile
from engine.prompt_templates import active_templates
from engine.retrieval import query_coverage, search_in
from engine.runtime import Runtime
from engine.tutor import (
    citations,
    grounding,
    hints,
    limits,
    prompts,
    rewrite,
    sentences as sentence_units,
    store,
)

log = logging.getLogger(__name__)
REFUSAL_TEXT = (
    "Your material does not cover this, so I will not guess. The closest passages "
    "I found are listed below; try rephrasing with words from your material, "
    "choose other materials, or turn on general knowledge for an answer that is "
    "not from your materials."
)
GENERAL_OFFLINE_TEXT = (
    "Your material does not cover this, and general-knowledge answers need "
    "a language model, which is not configured. The closest passages are "
    "listed below."
)
NO_SENTENCE_TEXT = (
    "These passages of your material are about your question, but none of "
    "their sentences answers it on its own. Open them below."
)
SUGGESTIONS = 3
QUIZ_COUNT = 3


@dataclass(frozen=True)
class TutorMode:
    offline: bool
    model: str | None

    @property
    def label(self) -> str:
        if self.offline:
            return (
                "Offline mode: no language model is configured, so answers are the best "
                "sentences of your material, each with its source."
            )
        return f"Answers by {self.model}, only from your material, with a source per sentence."


def tutor_mode(rt: Runtime) -> TutorMode:
    model = llm.model_for("tutoring", rt.settings)
    return TutorMode(offline=not model, model=model)


@dataclass
class Turn:
    """One question being answered. `message` is set once the answer is stored."""

    user_id: int
    conversation_id: int
    question: str
    query: str
    mode: str
    kind: str  # 'answer', 'general', 'offline', 'refusal' or 'quiz'
    sources: list[dict[str, Any]]
    messages: list[dict[str, str]] | None = None
    prompt_version: str | None = None
    pre_llm_ms: float = 0.0
    engine_ms: float = 0.0
    message: store.MessageView | None = None
    timings: dict[str, float] = field(default_factory=dict)
    evidence: grounding.Evidence | None = None  # what the refusal rule weighed
    leads: dict[int, str] = field(default_factory=dict)  # chunk id -> text before it

    @property
    def needs_model(self) -> bool:
        return self.messages is not None and self.message is None


# --- helpers ----------------------------------------------------------------------------------


def _templates(session: Session) -> prompts.Templates:
    texts, version = active_templates(session, prompts.TEMPLATE_NAMES, capability="The tutor")
    return prompts.Templates(texts=texts, version=version)


def _source(n: int, p: Passage) -> dict[str, Any]:
    return {
        "n": n,
        "chunk_id": p.chunk_id,
        "material_id": p.material_id,
        "title": p.material_title,
        "page_start": p.page_start,
        "page_end": p.page_end,
        "text": p.text,
        "score": p.score,
    }


def _pages(s: dict[str, Any]) -> str:
    return (
        f"p. {s['page_start']}"
        if s["page_start"] == s["page_end"]
        else f"pp. {s['page_start']}-{s['page_end']}"
    )


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


def _history(views: Sequence[store.MessageView]) -> list[prompts.Turn]:
    return [
        prompts.Turn(v.role, v.content)
        for v in views
        if v.status == "complete" and v.kind != "quiz"
    ]


def _finish_now(
    rt: Runtime,
    turn: Turn,
    *,
    content: str,
    sources: list[dict[str, Any]],
    sentences: Sequence[citations.Sentence | dict[str, Any]],
    cited_share: float | None,
) -> None:
    with rt.session_factory.begin() as session:
        conv = store.owned(session, turn.user_id, turn.conversation_id)
        msg = store.add_message(
            session,
            user_id=turn.user_id,
            conversation=conv,
            role="assistant",
            kind=turn.kind,
            mode=turn.mode,
            content=content,
            citations=sources,
            search_query=turn.query,
            sentences=[
                s
                if isinstance(s, dict)
                else {"text": s.text, "refs": list(s.refs), "added": s.added}
                for s in sentences
            ],
            cited_share=cited_share,
        )
        turn.message = store._msg_view(msg)


# --- the offline Socratic hint ladder ---------------------------------------------------------


def _guide(text: str) -> dict[str, Any]:
    """A line of the tutor's own (not a claim from the material)."""
    return {"text": text, "refs": [], "added": False, "guide": True}


def _open_ladder(
    earlier: Sequence[store.MessageView],
) -> tuple[store.MessageView, dict[str, Any]] | None:
    """The hint step the learner is answering: the conversation's last message is an offline
    Socratic hint before the ladder's last step."""
    last = earlier[-1] if earlier else None
    if (
        last is None
        or last.role != "assistant"
        or last.status != "complete"
        or last.mode != TutorModeName.SOCRATIC
        or last.kind != "offline"
    ):
        return None
    step = next((s for s in last.sentences if s.get("hint")), None)
    if step is None or step["hint"] >= hints.STEPS or not last.citations:
        return None
    return last, step


def _hint_message(
    step: int, hint: dict[str, Any], source: dict[str, Any], *, right: bool
) -> list[dict[str, Any]]:
    n = source["n"]
    data = {"hint": step, "term": hint["term"], "key": hint["key"]}
    if step == 1:
        return [
            _guide("Can you find the missing word in this sentence from your material?"),
            {"text": hint["text"], "refs": [n], "added": False, **data},
            _guide("Which word fills the gap?"),
        ]
    if step == 2:
        return [
            _guide("Not quite."),
            {
                "text": f"The missing word is \u201c{hint['term']}\u201d: {hint['key']}",
                "refs": [n],
                "added": False,
                **data,
            },
            _guide("How does that sentence answer your question?"),
        ]
    whole = [u.text for u in sentence_units.split(source["text"], lead=None) if u.usable]
    return [
        _guide("Right!" if right else "Here is the passage it comes from:"),
        *({"text": t, "refs": [n], "added": False, **data} for t in whole or [hint["key"]]),
    ]


def _first_hint(rt: Runtime, turn: Turn) -> None:
    """Step 1 for a new question: a gap in the key sentence of the best passage."""
    extract = grounding.extractive_answer(
        turn.query,
        [s["text"] for s in turn.sources],
        usage.embedder_for(rt, user_id=turn.user_id),
        leads=[turn.leads.get(s["chunk_id"]) for s in turn.sources],
        question=turn.question,
        max_sentences=1,
    )
    cloze = (
        hints.make_cloze(extract.sentences[0].text, turn.question) if extract.sentences else None
    )
    if cloze is None:
        _finish_now(
            rt,
            turn,
            content=NO_SENTENCE_TEXT,
            sources=turn.sources[:SUGGESTIONS],
            sentences=[],
            cited_share=None,
        )
        return
    source = next(s for s in turn.sources if s["n"] == extract.sentences[0].refs[0])
    sentences = _hint_message(
        1, {"text": cloze.text, "term": cloze.term, "key": cloze.key}, source, right=False
    )
    _finish_now(
        rt,
        turn,
        content=" ".join(s["text"] for s in sentences),
        sources=[source],
        sentences=sentences,
        cited_share=1.0,
    )


def _next_hint(
    rt: Runtime,
    conv: _Conversation,
    ladder: tuple[store.MessageView, dict[str, Any]],
    started: float,
) -> Turn:
    """The learner answered a hint: one step further (straight to the passage when right)."""
    view, hint = ladder
    right = hints.is_right(conv.question, hint["term"])
    step = hints.STEPS if right else hint["hint"] + 1
    source = view.citations[0]
    query = view.search_query or conv.question
    with rt.session_factory.begin() as session:
        session.execute(
            update(Message)
            .where(Message.id == conv.user_message_id, Message.user_id == conv.user_id)
            .values(search_query=query)
        )
    turn = Turn(
        user_id=conv.user_id,
        conversation_id=conv.conversation_id,
        question=conv.question,
        query=query,
        mode=conv.mode,
        kind="offline",
        sources=[source],
        prompt_version=conv.t.version,
        timings=conv.marks,
    )
    sentences = _hint_message(step, hint, source, right=right)
    _finish_now(
        rt,
        turn,
        content=" ".join(s["text"] for s in sentences),
        sources=[source],
        sentences=sentences,
        cited_share=1.0,
    )
    turn.pre_llm_ms = turn.engine_ms = (time.perf_counter() - started) * 1000
    return turn


# --- preparing a turn -------------------------------------------------------------------------


def _rewrite(
    rt: Runtime,
    t: prompts.Templates,
    *,
    user_id: int,
    history: list[dict[str, str]],
    question: str,
    previous_query: str | None,
) -> str:
    settings = rt.settings
    fallback = rewrite.heuristic_query(question, previous_query)
    if tutor_mode(rt).offline or not history:
        return fallback
    reservation = limits.reserve_call(rt, user_id=user_id)
    try:
        c = llm.complete(
            prompts.rewrite_messages(t, history=history[-6:], question=question),
            task="tutoring",
            settings=settings,
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


@dataclass
class _Conversation:
    """What a turn is prepared from: the conversation's history, materials and templates."""

    user_id: int
    conversation_id: int
    user_message_id: int
    question: str
    mode: str
    material_ids: list[int] | None
    earlier: list[store.MessageView]
    t: prompts.Templates
    marks: dict[str, float]


def _load(
    rt: Runtime,
    *,
    user_id: int,
    conversation_id: int,
    user_message_id: int,
    question: str,
    mode: str,
    started: float,
) -> _Conversation:
    with rt.session_factory() as session:
        owned = store.owned(session, user_id, conversation_id)
        earlier = [
            v
            for v in store._messages(
                session, user_id, conversation_id, rt.settings.tutor.history_max_messages + 1
            )
            if v.id < user_message_id
        ]
        conv = _Conversation(
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
    conv.marks["history_ms"] = (time.perf_counter() - started) * 1000
    return conv


def _trimmed_history(rt: Runtime, conv: _Conversation, *, needed: bool) -> list[dict[str, str]]:
    if not needed:  # offline, no model reads the history: no token counting
        return []
    settings = rt.settings
    counter = lambda msgs: llm.count_tokens(msgs, task="tutoring", settings=settings)  # noqa: E731
    return prompts.trim_history(
        _history(conv.earlier),
        budget=settings.tutor.history_tokens,
        count=counter,
        max_turns=settings.tutor.history_max_messages,
    )


def _search(
    rt: Runtime, conv: _Conversation, query: str
) -> tuple[list[Passage], grounding.Evidence | None, dict[int, str]]:
    """Store the turn's search query on the learner's message, search their materials and
    weigh the evidence that they cover it; also the text before each top passage (for whole
    sentences offline)."""
    with rt.session_factory.begin() as session:
        session.execute(
            update(Message)
            .where(Message.id == conv.user_message_id, Message.user_id == conv.user_id)
            .values(search_query=query)
        )
        step = time.perf_counter()
        # Without pseudo-relevance feedback: the tutor answers from the passages that match
        # the question's own words (`bench.tutor`: first citation relevant 42.9 % without it,
        # 37.5 % with it; follow-ups found 12 of 12 without, 11 of 12 with).
        passages = search_in(
            rt,
            session,
            user_id=conv.user_id,
            query=query,
            k=rt.settings.tutor.context_passages,
            material_ids=conv.material_ids,
            feedback=False,
        )
        evidence = None
        if passages:
            in_library, in_passage = query_coverage(
                rt, session, user_id=conv.user_id, query=query, passages=passages[:3]
            )
            cosines = [p.cosine for p in passages if p.cosine is not None]
            evidence = grounding.Evidence(
                cosine=max(cosines) if cosines else passages[0].score,
                library_coverage=in_library,
                passage_coverage=in_passage,
            )
        leads = store.passage_leads(
            session, user_id=conv.user_id, chunk_ids=[p.chunk_id for p in passages[:3]]
        )
        conv.marks["retrieval_ms"] = (time.perf_counter() - step) * 1000
    return passages, evidence, leads


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
            sources=[
                prompts.Source(s["n"], s["title"], _pages(s), s["text"]) for s in turn.sources
            ],
        )
    else:
        turn.messages = prompts.general_messages(
            t, profile=who, history=history, question=turn.question
        )
    turn.timings["prompt_ms"] = (time.perf_counter() - step) * 1000


def _answer_now(rt: Runtime, turn: Turn, *, general: bool) -> None:
    """A refusal or an offline extractive answer, stored at once (no model call)."""
    sources = turn.sources
    if turn.kind == "refusal":
        _finish_now(
            rt,
            turn,
            content=GENERAL_OFFLINE_TEXT if general else REFUSAL_TEXT,
            sources=sources[:SUGGESTIONS],
            sentences=[],
            cited_share=None,
        )
    elif turn.kind == "offline" and turn.mode == TutorModeName.SOCRATIC:
        _first_hint(rt, turn)
    elif turn.kind == "offline":
        focus = turn.question if turn.query != turn.question else ""
        extract = grounding.extractive_answer(
            turn.query,
            [s["text"] for s in sources],
            usage.embedder_for(rt, user_id=turn.user_id),
            leads=[turn.leads.get(s["chunk_id"]) for s in sources],
            question=turn.question,
            focus=focus,
        )
        cited = sorted({n for s in extract.sentences for n in s.refs})
        content = extract.text or NO_SENTENCE_TEXT
        _finish_now(
            rt,
            turn,
            content=content,
            sources=[s for s in sources if s["n"] in cited] or sources[:SUGGESTIONS],
            sentences=extract.sentences,
            cited_share=round(citations.Checked(extract.sentences).cited_share, 4),
        )


def _prepare(
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
    conv = _load(
        rt,
        user_id=user_id,
        conversation_id=conversation_id,
        user_message_id=user_message_id,
        question=question,
        mode=mode,
        started=started,
    )
    previous_query = next(
        (v.search_query for v in reversed(conv.earlier) if v.role == "user" and v.search_query),
        None,
    )
    offline = tutor_mode(rt).offline
    if offline and mode == TutorModeName.SOCRATIC:
        ladder = _open_ladder(conv.earlier)
        if ladder is not None:
            return _next_hint(rt, conv, ladder, started)
    history = _trimmed_history(rt, conv, needed=not offline or build_prompt)
    llm_before = time.perf_counter()
    query = _rewrite(
        rt,
        conv.t,
        user_id=user_id,
        history=history,
        question=question,
        previous_query=previous_query,
    )
    rewrite_wait = (time.perf_counter() - llm_before) * 1000 if history and not offline else 0.0
    conv.marks["rewrite_ms"] = (time.perf_counter() - llm_before) * 1000
    passages, evidence, leads = _search(rt, conv, query)
    sources = [_source(n, p) for n, p in enumerate(passages, start=1)]
    refuse = grounding.should_refuse(evidence, rt.settings.tutor.refusal_threshold)
    kind = _kind(refuse=refuse, general=general, offline=offline, mode=mode)
    turn = Turn(
        user_id=user_id,
        conversation_id=conversation_id,
        question=question,
        query=query,
        mode=mode,
        kind=kind,
        sources=sources,
        prompt_version=conv.t.version,
        timings=conv.marks,
        evidence=evidence,
        leads=leads,
    )
    if kind in ("answer", "general") or (build_prompt and kind == "offline"):
        _build_prompt(rt, turn, conv.t, history)
    turn.pre_llm_ms = (time.perf_counter() - started) * 1000 - rewrite_wait
    _answer_now(rt, turn, general=general)
    turn.engine_ms = (time.perf_counter() - started) * 1000 - rewrite_wait
    return turn


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
    return _prepare(
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
    return _prepare(
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
    valid = [s["n"] for s in turn.sources]
    scores = (
        grounding.support_scores(
            [s.text for s in parsed],
            [s["text"] for s in turn.sources],
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
    model = tutor_mode(rt).model or ""
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
        limits.settle_call(
            rt,
            reservation,
            model=model,
            outcome=limits.failure_outcome(e),
            prompt_version=turn.prompt_version,
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
    text = "".join(received).strip()
    if turn.kind == "general":
        _finish_now(
            rt,
            turn,
            content=citations.strip_markers(text),
            sources=[],
            sentences=[],
            cited_share=None,
        )
        return
    content, checked = _validated(rt, turn, text)
    cited = {n for s in checked.sentences for n in s.refs}
    _finish_now(
        rt,
        turn,
        content=content,
        sources=[s for s in turn.sources if s["n"] in cited],
        sentences=checked.sentences,
        cited_share=round(checked.cited_share, 4),
    )


# --- quiz me ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuizCheck:
    """The learner's answer to a quiz question, graded offline."""

    correct: bool
    reason: str


def quiz_preview(
    rt: Runtime, turn: Turn, *, count: int = QUIZ_COUNT
) -> generation.GenerationResult:
    """Questions on the turn's topic from its passages, through the generation engine, never
    one the learner rejected in an earlier quiz. They are stored on the quiz message (answers
    are shown once the learner has answered: `answer_quiz`); accept them with
    `accept_quiz_question`, reject them with `reject_quiz_question`.

    Raises:
        The errors of `generate_questions` (limits, provider, NothingGenerated).
    """
    if turn.kind != "quiz":
        raise ValueError("not a quiz turn")
    material_ids = sorted({s["material_id"] for s in turn.sources})
    with rt.session_factory() as session:
        rejected = store.rejected_quiz_keys(session, turn.user_id)
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
        _finish_now(
            rt,
            turn,
            content=f"No quiz this time: {e.user_message}",
            sources=turn.sources[:SUGGESTIONS],
            sentences=[],
            cited_share=None,
        )
        raise
    drafts = [d for d in result.drafts if dedupe_key(d.stem, d.answer) not in rejected][:count]
    result = dataclasses.replace(result, drafts=drafts)
    n = len(drafts)
    content = (
        f"{n} question{'s' if n != 1 else ''} on this topic. Answer each one here; then "
        "accept the ones you want in your bank and your review schedule."
        if n
        else "No new questions on this topic: the ones I could make from your "
        "material are ones you rejected before."
    )
    _finish_now(
        rt,
        turn,
        content=content,
        sources=turn.sources[:SUGGESTIONS],
        sentences=[
            {
                "text": d.stem,
                "refs": [],
                "added": False,
                "quiz": d.to_dict(),
                "key": dedupe_key(d.stem, d.answer),
                "state": "pending",
            }
            for d in drafts
        ],
        cited_share=None,
    )
    return result


def generation_count_max(count: int) -> int:
    """How many questions a quiz asks the generator for at most (extra ones replace
    questions the learner rejected before)."""
    return count + 5


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
    if draft.type == "mcq":
        verdict = grade_choice(q, int(response))
    elif draft.type == "cloze":
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


__all__ = [
    "QuizCheck",
    "RateLimited",
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
