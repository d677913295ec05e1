"""The offline Socratic mode: the hint ladder (`engine.tutor.hints`) over a conversation, one
step per learner turn, each step stored on the assistant message's sentences (`hint`: the
step, `term`, `key`: the whole sentence) so the next turn continues it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import update

from engine import usage
from engine.db.models import Message
from engine.domain.vocabulary import TutorMode as TutorModeName
from engine.runtime import Runtime
from engine.tutor import grounding, hints, sentences as sentence_units, store
from engine.tutor.sources import Source
from engine.tutor.turns import NO_SENTENCE_TEXT, SUGGESTIONS, Turn, TurnContext, finish_now

Ladder = tuple[store.MessageView, dict[str, Any]]


def _guide(text: str) -> dict[str, Any]:
    """A line of the tutor's own (not a claim from the material)."""
    return {"text": text, "refs": [], "added": False, "guide": True}


def open_ladder(earlier: Sequence[store.MessageView]) -> Ladder | None:
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
    step: int, hint: dict[str, Any], source: Source, *, right: bool
) -> list[dict[str, Any]]:
    n = source.n
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
    whole = [u.text for u in sentence_units.split(source.text, lead=None) if u.usable]
    return [
        _guide("Right!" if right else "Here is the passage it comes from:"),
        *({"text": t, "refs": [n], "added": False, **data} for t in whole or [hint["key"]]),
    ]


def _finish_step(rt: Runtime, turn: Turn, sentences: list[dict[str, Any]], source: Source) -> None:
    finish_now(
        rt,
        turn,
        content=" ".join(s["text"] for s in sentences),
        sources=[source],
        sentences=sentences,
        cited_share=1.0,
    )


def first_hint(rt: Runtime, turn: Turn) -> None:
    """Step 1 for a new question: a gap in the key sentence of the best passage."""
    leads, trails = turn.around()
    extract = grounding.extractive_answer(
        turn.query,
        [s.text for s in turn.sources],
        usage.embedder_for(rt, user_id=turn.user_id),
        leads=leads,
        trails=trails,
        question=turn.question,
        max_sentences=1,
    )
    cloze = (
        hints.make_cloze(extract.sentences[0].text, turn.question) if extract.sentences else None
    )
    if cloze is None:
        finish_now(
            rt,
            turn,
            content=NO_SENTENCE_TEXT,
            sources=turn.sources[:SUGGESTIONS],
            sentences=[],
            cited_share=None,
        )
        return
    source = turn.source(extract.sentences[0].refs[0])
    hint = {"text": cloze.text, "term": cloze.term, "key": cloze.key}
    _finish_step(rt, turn, _hint_message(1, hint, source, right=False), source)


def next_hint(rt: Runtime, ctx: TurnContext, ladder: Ladder, started: float) -> Turn:
    """The learner answered a hint: one step further (straight to the passage when right)."""
    view, hint = ladder
    right = hints.is_right(ctx.question, hint["term"])
    step = hints.STEPS if right else hint["hint"] + 1
    source = view.citations[0]
    query = view.search_query or ctx.question
    with rt.session_factory.begin() as session:
        session.execute(
            update(Message)
            .where(Message.id == ctx.user_message_id, Message.user_id == ctx.user_id)
            .values(search_query=query)
        )
    turn = Turn(
        user_id=ctx.user_id,
        conversation_id=ctx.conversation_id,
        question=ctx.question,
        query=query,
        mode=ctx.mode,
        kind="offline",
        sources=[source],
        prompt_version=ctx.t.version,
        timings=ctx.marks,
    )
    _finish_step(rt, turn, _hint_message(step, hint, source, right=right), source)
    turn.pre_llm_ms = turn.engine_ms = (time.perf_counter() - started) * 1000
    return turn
