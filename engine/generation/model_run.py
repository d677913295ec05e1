"""Generation with the configured language model: the calls a request needs (prompts, cache
look-ups), each call's answer (cached, or asked with one repair attempt) and the drafts kept
from it."""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import llm, usage
from engine.db.models import LLMCache
from engine.domain.passage import Passage
from engine.domain.vocabulary import Generator
from engine.errors import EngineError
from engine.generation import prompting
from engine.generation.drafts import Draft
from engine.generation.metering import Run, flush, log_usage
from engine.generation.results import Progress
from engine.generation.validation import Deduper, ground, validate
from engine.prompt_templates import active_templates
from engine.runtime import Runtime

log = logging.getLogger(__name__)

QUESTIONS_PER_CALL = 3


@dataclass
class Call:
    """One planned model call: its passages, how many questions, the prompt, the cache key."""

    passages: list[Passage]
    wanted: int
    types: list[str]
    messages: list[dict[str, str]]
    key: str
    cached: str | None = None


def templates(session: Session) -> prompting.Templates:
    texts, version = active_templates(
        session, prompting.TEMPLATE_NAMES, capability="Question generation"
    )
    return prompting.Templates(
        system=texts[prompting.SYSTEM],
        user=texts[prompting.USER],
        repair=texts[prompting.REPAIR],
        version=version,
    )


def _groups(
    passages: Sequence[Passage], count: int, max_chars: int
) -> list[tuple[list[Passage], int]]:
    """Split the context into calls of a few questions each (progress per call; smaller
    prompts), every call with its own passages."""
    n_groups = max(1, min(len(passages), math.ceil(count / QUESTIONS_PER_CALL)))
    groups: list[list[Passage]] = [[] for _ in range(n_groups)]
    for i, p in enumerate(passages):
        groups[i % n_groups].append(p)
    out = []
    for i, g in enumerate(groups):
        wanted = count // n_groups + (1 if i < count % n_groups else 0)
        kept: list[Passage] = []
        size = 0
        for p in g:
            if kept and size + len(p.text) > max_chars // n_groups:
                break
            kept.append(p)
            size += len(p.text)
        if wanted:
            out.append((kept, wanted))
    return out


def _model(rt: Runtime) -> str:
    model = llm.model_for("generation", rt.settings)
    assert model is not None
    return model


def plan(
    rt: Runtime,
    session: Session,
    run: Run,
    passages: Sequence[Passage],
    t: prompting.Templates,
    *,
    types: list[str],
    difficulty: int,
    count: int,
    topic: str | None,
) -> list[Call]:
    """The calls a request needs, with cached answers looked up in the caller's session."""
    s = rt.settings
    model = _model(rt)
    calls, start = [], 0
    for group, wanted in _groups(passages, count, s.generation.context_max_chars):
        group_types = (
            types
            if len(types) == 1
            else [types[(start + i) % len(types)] for i in range(min(wanted, len(types)))]
        )
        start += wanted
        messages = prompting.build_messages(
            t, group, count=wanted, types=group_types, difficulty=difficulty, topic=topic
        )
        params = {
            "count": wanted,
            "types": group_types,
            "difficulty": difficulty,
            "topic": topic,
            "temperature": s.llm.temperature,
            "structured": s.llm.structured_output,
        }
        key = prompting.cache_key(
            user_id=run.user_id,
            model=model,
            prompt_version=t.version,
            messages=messages,
            params=params,
        )
        calls.append(Call(group, wanted, group_types, messages, key))
    if s.generation.cache_ttl_h > 0:
        cached = dict(
            session.execute(
                select(LLMCache.key, LLMCache.response_text).where(
                    LLMCache.user_id == run.user_id,
                    LLMCache.key.in_([c.key for c in calls]),
                    LLMCache.created_at > func.now() - dt.timedelta(hours=s.generation.cache_ttl_h),
                )
            ).all()
        )
        for c in calls:
            c.cached = cached.get(c.key)
    return calls


def needs_model(calls: Sequence[Call]) -> bool:
    """Whether any planned call must reach the model (is not answered from the cache)."""
    return not all(c.cached is not None for c in calls)


def _from_cache(
    run: Run, model: str, t: prompting.Templates, call: Call
) -> list[dict[str, Any]] | None:
    if call.cached is None:
        return None
    try:
        items = prompting.items_from(llm.parse_json(call.cached))
    except ValueError:
        return None  # an unreadable cache entry is ignored and replaced
    run.cached_calls += 1
    log_usage(
        run,
        generator=Generator.LLM,
        model=model,
        prompt_version=t.version,
        outcome="cached",
        questions_returned=len(items),
    )
    return items


class _Asker:
    """Model calls of one planned call, each timed, counted and logged."""

    def __init__(self, rt: Runtime, run: Run, model: str, t: prompting.Templates) -> None:
        self.rt, self.run, self.model, self.t = rt, run, model, t

    def ask(self, msgs: list[dict[str, str]]) -> llm.Completion:
        run, started = self.run, time.perf_counter()
        try:
            return llm.complete(
                msgs,
                task="generation",
                settings=self.rt.settings,
                json_schema=prompting.RESPONSE_SCHEMA,
                schema_name="questions",
            )
        except EngineError as e:
            log_usage(
                run,
                generator=Generator.LLM,
                model=self.model,
                prompt_version=self.t.version,
                outcome=usage.outcome_of(e),
                latency_ms=int((time.perf_counter() - started) * 1000),
            )
            raise
        finally:
            run.llm_ms += (time.perf_counter() - started) * 1000
            run.llm_calls += 1

    def account(self, c: llm.Completion, outcome: str, n: int) -> None:
        run = self.run
        run.tokens_in += c.tokens_in
        run.tokens_out += c.tokens_out
        run.cost_usd += c.cost_usd
        log_usage(
            run,
            generator=Generator.LLM,
            model=self.model,
            prompt_version=self.t.version,
            outcome=outcome,
            tokens_in=c.tokens_in,
            tokens_out=c.tokens_out,
            cost_usd=c.cost_usd,
            latency_ms=c.latency_ms,
            questions_returned=n,
        )


def answer(
    rt: Runtime, run: Run, model: str, t: prompting.Templates, call: Call
) -> list[dict[str, Any]] | None:
    """The parsed question objects for one planned call: from the cache, or from the model
    with one repair attempt; None when the answer stayed malformed (counted)."""
    items = _from_cache(run, model, t, call)
    if items is not None:
        return items
    asker = _Asker(rt, run, model, t)
    completion = asker.ask(call.messages)
    text = completion.text
    try:
        items = prompting.items_from(llm.parse_json(text))
    except ValueError as first_error:
        asker.account(completion, "malformed", 0)
        log.info("malformed generation answer; repairing", extra={"err": str(first_error)})
        completion = asker.ask(prompting.repair_messages(t, call.messages, text, str(first_error)))
        text = completion.text
        try:
            items = prompting.items_from(llm.parse_json(text))
        except ValueError:
            asker.account(completion, "malformed", 0)
            run.rejections["malformed_output"] += call.wanted
            return None
    asker.account(completion, "ok", len(items))
    run.cache.append(
        dict(
            key=call.key,
            user_id=run.user_id,
            model=model,
            prompt_version=t.version,
            response_text=text,
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
            cost_usd=Decimal(str(round(completion.cost_usd, 6))),
        )
    )
    return items


def _keep(
    run: Run, items: list[dict[str, Any]], call: Call, *, types: list[str], deduper: Deduper
) -> list[Draft]:
    """The drafts of one answer that pass validation, grounding and deduplication."""
    if len(items) > call.wanted:
        run.rejections["over_count"] += len(items) - call.wanted
        items = items[: call.wanted]
    kept = []
    for item in items:
        draft = prompting.to_draft(item)
        if draft is None:
            run.rejections["bad_shape"] += 1
            continue
        reason = (
            validate(draft, wanted_types=types)
            or ground(draft, call.passages)
            or deduper.check(draft)
        )
        if reason:
            run.rejections[reason] += 1
            log.info("draft rejected", extra={"reason": reason})
            continue
        kept.append(draft)
    return kept


def generate_llm(
    rt: Runtime,
    run: Run,
    calls: Sequence[Call],
    *,
    types: list[str],
    topic: str | None,
    deduper: Deduper,
    on_progress: Callable[[Progress], None] | None,
    t: prompting.Templates,
) -> list[Draft]:
    model = _model(rt)
    drafts: list[Draft] = []
    try:
        for done, call in enumerate(calls, start=1):
            items = answer(rt, run, model, t, call)
            for draft in _keep(run, items or [], call, types=types, deduper=deduper):
                draft.topic, draft.model, draft.prompt_version = topic, model, t.version
                drafts.append(draft)
            if on_progress is not None:
                on_progress(
                    Progress(done, len(calls), list(drafts), f"{len(drafts)} question(s) ready")
                )
    finally:
        flush(rt, run)
    # Per-question provenance: the request's usage shared over what it produced.
    if drafts:
        share = len(drafts)
        for d in drafts:
            d.tokens_in = run.tokens_in // share
            d.tokens_out = run.tokens_out // share
            d.cost_usd = round(run.cost_usd / share, 6)
            d.latency_ms = int(run.llm_ms / share)
    return drafts
