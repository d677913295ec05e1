"""The generation services pages, the CLI and other capabilities call.

- `generate_questions`: a preview batch from chosen materials (LLM or offline), validated,
  grounded and deduplicated; nothing is saved.
- `generate_from_chunk`: replacement drafts from one source chunk (used by practice).
- `save_questions`: accepted drafts into the learner's bank.
- the question bank: `list_questions`, `get_question`, `update_question`, `delete_question`.

Every query filters by the learner; another learner's row is reported as NotFound.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, sessionmaker

from engine import llm, usage
from engine.config import Settings
from engine.db.models import (
    Chunk,
    LLMCache,
    LLMUsage,
    Material,
    MaterialPage,
    Question,
)
from engine.errors import (
    EngineError,
    InvalidInput,
    LLMAuthFailed,
    LLMUnavailable,
    NoMaterials,
    NotFound,
    NothingGenerated,
    RateLimited,
)
from engine.generation import offline, prompting
from engine.prompt_templates import active_templates
from engine.generation.drafts import QUESTION_TYPES, TYPE_LABELS, Draft, Passage
from engine.generation.validation import REASONS, Deduper, dedupe_key, ground, normalise, validate

log = logging.getLogger(__name__)

QUESTIONS_PER_CALL = 3
MIN_CHUNK_CHARS = 120
TOPIC_MAX = 200
# With a topic, passages scoring under this share of the best match are left out.
TOPIC_RELATIVE_SCORE = 0.3
_TERMS_CACHE: OrderedDict[tuple[int, str, str], offline.TermSpace] = OrderedDict()
_TERMS_CACHE_SIZE = 64
TERMS_SAMPLE_CHARS = 40_000
_TERMS_LOCK = threading.Lock()  # the app serves several sessions from threads

SessionFactory = sessionmaker[Session]


# --- mode and choices -------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationMode:
    offline: bool
    model: str | None
    types: tuple[str, ...]

    @property
    def label(self) -> str:
        if self.offline:
            return "Offline mode: no language model configured (extractive questions)"
        return f"Questions by {self.model}"


def generation_mode(settings: Settings) -> GenerationMode:
    """Whether generation uses a model (and which) or the offline generator."""
    model = llm.model_for("generation", settings)
    if not model:
        return GenerationMode(offline=True, model=None, types=offline.OFFLINE_TYPES)
    return GenerationMode(offline=False, model=model, types=QUESTION_TYPES)


@dataclass(frozen=True)
class MaterialChoice:
    id: int
    title: str
    page_count: int
    chunk_count: int


def materials_for_generation(session_factory: SessionFactory, *,
                             user_id: int) -> list[MaterialChoice]:
    """The learner's materials that are ready to generate from, newest first."""
    with session_factory() as session:
        rows = session.execute(
            select(Material.id, Material.title, Material.page_count, Material.chunk_count)
            .where(Material.user_id == user_id, Material.status == "ready",
                   Material.chunk_count > 0)
            .order_by(Material.created_at.desc(), Material.id.desc())
        ).all()
    return [MaterialChoice(*r) for r in rows]


# --- results ----------------------------------------------------------------------------------


@dataclass
class Progress:
    """Reported after each step: `done` of `total` steps, drafts kept so far."""

    done: int
    total: int
    drafts: list[Draft]
    message: str


@dataclass
class GenerationResult:
    drafts: list[Draft]
    rejections: dict[str, int]
    generator: str  # 'llm' or 'offline'
    model: str | None
    prompt_version: str | None
    requested: int
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    llm_calls: int = 0
    cached_calls: int = 0
    engine_ms: float = 0.0  # our own time, excluding waiting for the model
    note: str | None = None  # why fewer were made than asked for, or how a topic narrowed it

    def rejection_summary(self) -> list[str]:
        return [f"{n} × {REASONS.get(reason, reason)}"
                for reason, n in sorted(self.rejections.items(), key=lambda kv: -kv[1])]


@dataclass
class _Run:
    """State of one generation request."""

    user_id: int
    settings: Settings
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    rejections: Counter[str] = field(default_factory=Counter)
    usage: list[dict[str, Any]] = field(default_factory=list)
    cache: list[dict[str, Any]] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    llm_calls: int = 0
    cached_calls: int = 0
    llm_ms: float = 0.0
    reservation: usage.Reservation | None = None


# --- inputs -----------------------------------------------------------------------------------


def _check_inputs(settings: Settings, *, question_type: str, difficulty: int, count: int,
                  topic: str | None) -> tuple[list[str], str | None]:
    problems = []
    if question_type not in (*QUESTION_TYPES, "mix"):
        problems.append("Choose multiple choice, cloze, short answer or a mix.")
    if isinstance(difficulty, bool) or not isinstance(difficulty, int) or not 1 <= difficulty <= 5:
        problems.append("Difficulty must be between 1 and 5.")
    if isinstance(count, bool) or not isinstance(count, int) or not (
            1 <= count <= settings.generation.max_count):
        problems.append(f"Ask for between 1 and {settings.generation.max_count} questions.")
    topic = (topic or "").strip() or None
    if topic is not None and len(topic) > TOPIC_MAX:
        problems.append(f"Keep the topic under {TOPIC_MAX} characters.")
    if problems:
        raise InvalidInput(" ".join(problems))
    mode = generation_mode(settings)
    if question_type == "mix":
        types = list(mode.types)
    else:
        types = [question_type]
    if mode.offline and question_type == "short":
        raise InvalidInput(
            "Short-answer questions need a language model. Without one, Groundwork makes "
            "multiple-choice and cloze questions. Configure a model in the settings "
            "(GROUNDWORK_LLM_GENERATION_MODEL) to get short answers.")
    return types, topic


# --- context selection ------------------------------------------------------------------------


def _user_materials(session: Session, user_id: int,
                    material_ids: Sequence[int] | None) -> dict[int, Material]:
    q = select(Material).where(Material.user_id == user_id, Material.status == "ready")
    if material_ids:
        q = q.where(Material.id.in_(list(material_ids)))
    materials = {m.id: m for m in session.scalars(q)}
    if material_ids:
        missing = set(material_ids) - set(materials)
        if missing:
            raise NotFound("One of the chosen materials is not in your library (it may have "
                           "been deleted). Reload the page and choose again.")
    if not any(m.chunk_count > 0 for m in materials.values()):
        raise NoMaterials("There is no material to generate from yet. Upload a PDF in the "
                          "Library first." if not material_ids else
                          "The chosen materials have no readable text to generate from.")
    return materials


def _passage(chunk: Chunk, title: str) -> Passage:
    return Passage(chunk_id=chunk.id, material_id=chunk.material_id, material_title=title,
                   text=chunk.text, page_start=chunk.page_start, page_end=chunk.page_end)


def _spread_passages(session: Session, user_id: int, materials: dict[int, Material],
                     n: int) -> list[Passage]:
    """No topic: chunks spread evenly over the chosen materials, least-questioned first, so a
    repeated request moves on to new material rather than repeating itself."""
    used = dict(session.execute(
        select(Question.source_chunk_id, func.count())
        .where(Question.user_id == user_id, Question.source_chunk_id.is_not(None))
        .group_by(Question.source_chunk_id)).all())
    rows = session.execute(
        select(Chunk.id, Chunk.material_id, Chunk.ordinal, func.length(Chunk.text))
        .where(Chunk.user_id == user_id, Chunk.material_id.in_(list(materials)))
        .order_by(Chunk.material_id, Chunk.ordinal)).all()
    by_material: dict[int, list[tuple[int, int]]] = {}
    for cid, mid, _ordinal, length in rows:
        if length >= MIN_CHUNK_CHARS:
            by_material.setdefault(mid, []).append((cid, used.get(cid, 0)))
    if not by_material:  # only short chunks: use them anyway
        for cid, mid, _ordinal, _length in rows:
            by_material.setdefault(mid, []).append((cid, used.get(cid, 0)))
    # Per material: the least-used chunks, taken evenly from across the document.
    picks: list[list[int]] = []
    share = max(1, math.ceil(n / max(1, len(by_material))))
    for mid in sorted(by_material):
        chunks = by_material[mid]
        least = min(u for _, u in chunks)
        fresh = [cid for cid, u in chunks if u == least] or [cid for cid, _ in chunks]
        step = max(1, len(fresh) / share)
        picks.append([fresh[int(i * step)] for i in range(min(share, len(fresh)))])
    chosen: list[int] = []
    for i in range(max(len(p) for p in picks)):  # interleave materials
        chosen.extend(p[i] for p in picks if i < len(p))
    chosen = chosen[:n]
    chunks = {c.id: c for c in session.scalars(
        select(Chunk).where(Chunk.user_id == user_id, Chunk.id.in_(chosen)))}
    return [_passage(chunks[cid], materials[chunks[cid].material_id].title)
            for cid in chosen if cid in chunks]


def _topic_passages(session: Session, user_id: int, materials: dict[int, Material],
                    topic: str, n: int, settings: Settings) -> list[Passage]:
    from engine.retrieval import search  # the library's hybrid search

    hits = search(session, user_id=user_id, query=topic, k=n, material_ids=list(materials),
                  settings=settings)
    # Focus: keep the passages that match the topic well, not the whole ranked library.
    floor = TOPIC_RELATIVE_SCORE * max((h.score for h in hits), default=0.0)
    hits = [h for h in hits if h.score >= floor]
    return [Passage(chunk_id=h.chunk_id, material_id=h.material_id,
                    material_title=h.material_title, text=h.text, page_start=h.page_start,
                    page_end=h.page_end) for h in hits]


def _bank(session: Session, user_id: int) -> tuple[list[str], set[str]]:
    rows = session.execute(select(Question.stem, Question.answer, Question.excerpt)
                           .where(Question.user_id == user_id)).all()
    return [dedupe_key(s, a) for s, a, _ in rows], {normalise(e) for _, _, e in rows}


# --- limits, usage log, cache -----------------------------------------------------------------


def _log_usage(run: _Run, *, generator: str, model: str | None, prompt_version: str | None,
               outcome: str, tokens_in: int = 0, tokens_out: int = 0, cost_usd: float = 0.0,
               latency_ms: int = 0, questions_returned: int = 0) -> None:
    """Queue one usage-log row; `_flush` writes the request's rows in one transaction."""
    run.usage.append(dict(
        user_id=run.user_id, request_id=run.request_id, task=usage.GENERATION,
        generator=generator, model=model, prompt_version=prompt_version,
        tokens_in=tokens_in, tokens_out=tokens_out,
        cost_usd=Decimal(str(round(cost_usd, 6))), latency_ms=latency_ms,
        outcome=outcome, questions_returned=questions_returned))


def _flush(session_factory: SessionFactory, run: _Run) -> None:
    """Write the queued usage rows and cache entries (also after a failed call): a request's
    reservation becomes its usage-log rows; rows without one (cached answers, offline) are
    written as they are."""
    if run.reservation is not None:
        reservation, run.reservation = run.reservation, None
        usage.settle_calls(session_factory, reservation, run.usage)
        run.usage = []
    if not run.usage and not run.cache:
        return
    with session_factory.begin() as session:
        # Losing the last instant of the cache in a crash is harmless: no wait for the disk.
        session.execute(sql_text("SET LOCAL synchronous_commit = off"))
        if run.usage:
            session.execute(insert(LLMUsage), run.usage)
        if run.cache:
            unique = list({entry["key"]: entry for entry in run.cache}.values())
            stmt = pg_insert(LLMCache).values(unique)
            session.execute(stmt.on_conflict_do_update(
                index_elements=[LLMCache.key],
                set_={"response_text": stmt.excluded.response_text,
                      "tokens_in": stmt.excluded.tokens_in,
                      "tokens_out": stmt.excluded.tokens_out,
                      "cost_usd": stmt.excluded.cost_usd, "created_at": func.now()}))
    run.usage, run.cache = [], []


def _templates(session: Session) -> prompting.Templates:
    texts, version = active_templates(session, prompting.TEMPLATE_NAMES,
                                      capability="Question generation")
    return prompting.Templates(system=texts[prompting.SYSTEM], user=texts[prompting.USER],
                               repair=texts[prompting.REPAIR], version=version)


# --- the LLM path -----------------------------------------------------------------------------


@dataclass
class _Call:
    """One planned model call: its passages, how many questions, the prompt, the cache key."""

    passages: list[Passage]
    wanted: int
    types: list[str]
    messages: list[dict[str, str]]
    key: str
    cached: str | None = None


def _groups(passages: Sequence[Passage], count: int, max_chars: int) -> list[
        tuple[list[Passage], int]]:
    """Split the context into calls of a few questions each (progress per call; smaller
    prompts), every call with its own passages."""
    n_groups = max(1, min(len(passages), math.ceil(count / QUESTIONS_PER_CALL)))
    groups: list[list[Passage]] = [[] for _ in range(n_groups)]
    for i, p in enumerate(passages):
        groups[i % n_groups].append(p)
    out = []
    for i, g in enumerate(groups):
        wanted = count // n_groups + (1 if i < count % n_groups else 0)
        kept, size = [], 0
        for p in g:
            if kept and size + len(p.text) > max_chars // n_groups:
                break
            kept.append(p)
            size += len(p.text)
        if wanted:
            out.append((kept, wanted))
    return out


def _plan_llm(session: Session, run: _Run, passages: Sequence[Passage], t: prompting.Templates,
              *, types: list[str], difficulty: int, count: int,
              topic: str | None) -> list[_Call]:
    """The calls a request needs, with cached answers looked up in the caller's session."""
    s = run.settings
    model = llm.model_for("generation", s)
    assert model is not None
    calls, start = [], 0
    for group, wanted in _groups(passages, count, s.generation.context_max_chars):
        group_types = types if len(types) == 1 else [
            types[(start + i) % len(types)] for i in range(min(wanted, len(types)))]
        start += wanted
        messages = prompting.build_messages(t, group, count=wanted, types=group_types,
                                            difficulty=difficulty, topic=topic)
        params = {"count": wanted, "types": group_types, "difficulty": difficulty,
                  "topic": topic, "temperature": s.llm.temperature,
                  "structured": s.llm.structured_output}
        key = prompting.cache_key(user_id=run.user_id, model=model, prompt_version=t.version,
                                  messages=messages, params=params)
        calls.append(_Call(group, wanted, group_types, messages, key))
    if s.generation.cache_ttl_h > 0:
        cached = dict(session.execute(
            select(LLMCache.key, LLMCache.response_text).where(
                LLMCache.user_id == run.user_id, LLMCache.key.in_([c.key for c in calls]),
                LLMCache.created_at > func.now() - dt.timedelta(hours=s.generation.cache_ttl_h))
        ).all())
        for c in calls:
            c.cached = cached.get(c.key)
    return calls


def _reserve(session_factory: SessionFactory, run: _Run, calls: Sequence[_Call],
             count: int) -> None:
    """When any call must reach the model, reserve the request against the learner's limits
    (raises RateLimited); its calls are logged under the reservation's request id."""
    if all(c.cached is not None for c in calls):
        return
    run.reservation = usage.reserve(session_factory, user_id=run.user_id,
                                    task=usage.GENERATION, units=count, settings=run.settings)
    run.request_id = run.reservation.request_id


def _answer(run: _Run, model: str, t: prompting.Templates,
            call: _Call) -> list[dict[str, Any]] | None:
    """The parsed question objects for one planned call: from the cache, or from the model
    with one repair attempt; None when the answer stayed malformed (counted)."""
    s = run.settings
    if call.cached is not None:
        try:
            items = prompting.items_from(llm.parse_json(call.cached))
        except ValueError:
            items = None  # an unreadable cache entry is ignored and replaced
        if items is not None:
            run.cached_calls += 1
            _log_usage(run, generator="llm", model=model, prompt_version=t.version,
                       outcome="cached", questions_returned=len(items))
            return items

    def ask(msgs: list[dict[str, str]]) -> llm.Completion:
        started = time.perf_counter()
        try:
            return llm.complete(msgs, task="generation", settings=s,
                                json_schema=prompting.RESPONSE_SCHEMA, schema_name="questions")
        except EngineError as e:
            _log_usage(run, generator="llm", model=model, prompt_version=t.version,
                       outcome=usage.outcome_of(e),
                       latency_ms=int((time.perf_counter() - started) * 1000))
            raise
        finally:
            run.llm_ms += (time.perf_counter() - started) * 1000
            run.llm_calls += 1

    def account(c: llm.Completion, outcome: str, n: int) -> None:
        run.tokens_in += c.tokens_in
        run.tokens_out += c.tokens_out
        run.cost_usd += c.cost_usd
        _log_usage(run, generator="llm", model=model, prompt_version=t.version,
                   outcome=outcome, tokens_in=c.tokens_in, tokens_out=c.tokens_out,
                   cost_usd=c.cost_usd, latency_ms=c.latency_ms, questions_returned=n)

    completion = ask(call.messages)
    text = completion.text
    try:
        items = prompting.items_from(llm.parse_json(text))
    except ValueError as first_error:
        account(completion, "malformed", 0)
        log.info("malformed generation answer; repairing", extra={"err": str(first_error)})
        completion = ask(prompting.repair_messages(t, call.messages, text, str(first_error)))
        text = completion.text
        try:
            items = prompting.items_from(llm.parse_json(text))
        except ValueError:
            account(completion, "malformed", 0)
            run.rejections["malformed_output"] += call.wanted
            return None
    account(completion, "ok", len(items))
    run.cache.append(dict(key=call.key, user_id=run.user_id, model=model,
                          prompt_version=t.version, response_text=text,
                          tokens_in=completion.tokens_in, tokens_out=completion.tokens_out,
                          cost_usd=Decimal(str(round(completion.cost_usd, 6)))))
    return items


def _generate_llm(session_factory: SessionFactory, run: _Run, calls: Sequence[_Call], *,
                  types: list[str], topic: str | None, deduper: Deduper,
                  on_progress: Callable[[Progress], None] | None,
                  t: prompting.Templates) -> list[Draft]:
    model = llm.model_for("generation", run.settings)
    assert model is not None
    drafts: list[Draft] = []
    try:
        for done, call in enumerate(calls, start=1):
            items = _answer(run, model, t, call)
            if items is not None:
                if len(items) > call.wanted:
                    run.rejections["over_count"] += len(items) - call.wanted
                    items = items[:call.wanted]
                for item in items:
                    draft = prompting.to_draft(item)
                    if draft is None:
                        run.rejections["bad_shape"] += 1
                        continue
                    reason = (validate(draft, wanted_types=types) or ground(draft, call.passages)
                              or deduper.check(draft))
                    if reason:
                        run.rejections[reason] += 1
                        log.info("draft rejected", extra={"reason": reason})
                        continue
                    draft.topic, draft.model, draft.prompt_version = topic, model, t.version
                    drafts.append(draft)
            if on_progress is not None:
                on_progress(Progress(done, len(calls), list(drafts),
                                     f"{len(drafts)} question(s) ready"))
    finally:
        _flush(session_factory, run)
    # Per-question provenance: the request's usage shared over what it produced.
    if drafts:
        share = len(drafts)
        for d in drafts:
            d.tokens_in = run.tokens_in // share
            d.tokens_out = run.tokens_out // share
            d.cost_usd = round(run.cost_usd / share, 6)
            d.latency_ms = int(run.llm_ms / share)
    return drafts


# --- the offline path -------------------------------------------------------------------------


def _terms_for(session: Session, user_id: int, material: Material,
               settings: Settings) -> offline.TermSpace:
    """The material's key terms in embedding space (cached per material and model)."""
    from engine.retrieval.embeddings import get_embedder, model_label

    key = (material.id, material.sha256, model_label(settings))
    with _TERMS_LOCK:
        if key in _TERMS_CACHE:
            _TERMS_CACHE.move_to_end(key)
            return _TERMS_CACHE[key]
    texts = session.scalars(
        select(Chunk.text).where(Chunk.user_id == user_id, Chunk.material_id == material.id)
        .order_by(Chunk.ordinal)).all()
    first_page = session.scalar(select(MaterialPage.text).where(
        MaterialPage.material_id == material.id, MaterialPage.user_id == user_id)
        .order_by(MaterialPage.number).limit(1)) or ""
    # Key terms of the whole document: an even spread of chunks up to the sample size.
    total = sum(len(t) for t in texts) or 1
    step = max(1, math.ceil(total / TERMS_SAMPLE_CHARS))
    embedder = get_embedder(settings)
    space = offline.build_space("\n\n".join(texts[::step]),
                                names=offline.author_names(first_page),
                                embed=embedder.embed_documents)
    with _TERMS_LOCK:
        _TERMS_CACHE[key] = space
        if len(_TERMS_CACHE) > _TERMS_CACHE_SIZE:
            _TERMS_CACHE.popitem(last=False)
    return space


def _generate_offline(session_factory: SessionFactory, run: _Run,
                      materials: dict[int, Material], passages: Sequence[Passage], *,
                      types: list[str], difficulty: int, count: int, topic: str | None,
                      deduper: Deduper, used_sentences: set[str],
                      on_progress: Callable[[Progress], None] | None) -> list[Draft]:
    with session_factory() as session:
        spaces = {mid: _terms_for(session, run.user_id, materials[mid], run.settings)
                  for mid in {p.material_id for p in passages} if mid in materials}

    def rejected(reason: str) -> None:
        run.rejections[reason] += 1

    drafts: list[Draft] = []
    for draft in offline.generate(passages, spaces, count=count * 3, types=types,
                                  difficulty=difficulty, topic=topic,
                                  used_sentences=used_sentences, on_reject=rejected):
        reason = (validate(draft, wanted_types=types) or ground(draft, passages)
                  or deduper.check(draft))
        if reason:
            rejected(reason)
            continue
        drafts.append(draft)
        if on_progress is not None:
            on_progress(Progress(len(drafts), count, list(drafts),
                                 f"{len(drafts)} of {count} question(s) ready"))
        if len(drafts) >= count:
            break
    return drafts


def _topic_words(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[^\W\d_]{3,}", text.casefold())} - _TOPIC_STOP


_TOPIC_STOP = frozenset("the and for with from that this what how are was".split())


def _offline_topic_passages(session: Session, user_id: int, materials: dict[int, Material],
                            topic: str, n: int) -> list[Passage]:
    """Offline: the passages that mention the topic's words (stems compared), those that
    mention most of them first. Raises NothingGenerated when none does."""
    wanted = _topic_words(topic)
    scored = []
    for chunk in session.scalars(select(Chunk).where(
            Chunk.user_id == user_id, Chunk.material_id.in_(list(materials)))
            .order_by(Chunk.material_id, Chunk.ordinal)):
        hits = len(wanted & _topic_words(chunk.text))
        if hits:
            scored.append((-hits, chunk.material_id, chunk.ordinal, chunk))
    if not scored:
        raise NothingGenerated(f"Nothing in the chosen materials mentions '{topic}'. "
                               "Try other words or leave the topic empty.")
    best = scored and min(s[0] for s in scored)
    # Keep the passages that mention as many topic words as the best ones do.
    chosen = sorted(s for s in scored if s[0] == best)[:n]
    return [_passage(c, materials[c.material_id].title) for *_, c in chosen]


def _shortfall(run: _Run, made: int, count: int, topic: str | None,
               n_passages: int) -> str | None:
    parts = []
    if topic:
        parts.append(f"Questions come only from the {n_passages} passage"
                     f"{'s' if n_passages != 1 else ''} that mention '{topic}'.")
    if made < count:
        lint = sum(n for r, n in run.rejections.items() if r.startswith("lint_"))
        where = f"the passages about '{topic}'" if topic else "the chosen material"
        parts.append(f"Only {made} of the {count} questions asked for: only {made} sentence"
                     f"{'s' if made != 1 else ''} in {where} passed the checks"
                     + (f" ({lint} candidate question{'s' if lint != 1 else ''} failed the "
                        "question lint)" if lint else "")
                     + ". Add more material or widen the topic for more.")
    return " ".join(parts) or None


# --- public services --------------------------------------------------------------------------


def _finish(session_factory: SessionFactory, run: _Run, drafts: list[Draft], *, count: int,
            generator: str, model: str | None, prompt_version: str | None,
            started: float) -> GenerationResult:
    if generator == "offline":
        _log_usage(run, generator="offline", model=None,
                   prompt_version=prompt_version, outcome="ok" if drafts else "invalid",
                   questions_returned=len(drafts))
        _flush(session_factory, run)
    result = GenerationResult(
        drafts=drafts, rejections=dict(run.rejections), generator=generator, model=model,
        prompt_version=prompt_version, requested=count, tokens_in=run.tokens_in,
        tokens_out=run.tokens_out, cost_usd=run.cost_usd, llm_calls=run.llm_calls,
        cached_calls=run.cached_calls,
        engine_ms=(time.perf_counter() - started) * 1000 - run.llm_ms)
    log.info("generation finished", extra={
        "user_id": run.user_id, "generator": generator, "requested": count,
        "kept": len(drafts), "rejections": dict(run.rejections), "cost_usd": run.cost_usd})
    if not drafts:
        if run.rejections.get("duplicate_of_bank") and len(run.rejections) == 1:
            message = ("Every question generated is already in your bank. Try another topic, "
                       "other materials, or a different question type.")
        elif generator == "offline":
            lint = sum(n for r, n in run.rejections.items() if r.startswith("lint_"))
            message = ("No usable questions could be made from this material offline: no "
                       "sentence passed the checks (too little prose with clear key terms"
                       + (f"; {lint} candidates failed the question lint" if lint else "")
                       + "). Try other materials or another topic.")
        else:
            message = ("The model's questions did not pass the checks (each must quote its "
                       "source exactly). Try again, or choose other materials or a topic.")
        raise NothingGenerated(message, rejections=dict(run.rejections))
    return result


def generate_questions(
    session_factory: SessionFactory,
    *,
    user_id: int,
    settings: Settings,
    material_ids: Sequence[int] | None = None,
    topic: str | None = None,
    question_type: str = "mix",
    difficulty: int = 3,
    count: int = 5,
    on_progress: Callable[[Progress], None] | None = None,
) -> GenerationResult:
    """Generate a preview batch. Nothing is saved to the bank (see `save_questions`).

    Args:
        session_factory: the database session factory.
        user_id: the learner.
        settings: decides LLM (a generation model is set) or offline generation.
        material_ids: the learner's materials to use (None or empty: all of them).
        topic: optional retrieval query to focus the questions.
        question_type: 'mcq', 'cloze', 'short' or 'mix'.
        difficulty: 1-5.
        count: 1 to `generation_max_count`.
        on_progress: called after each step with the drafts so far.

    Returns:
        The drafts that passed validation, grounding and deduplication, with rejection
        counts by reason and usage.

    Raises:
        InvalidInput: bad parameters (or short answers asked for offline).
        NotFound: a chosen material is not the learner's.
        NoMaterials: nothing to generate from.
        RateLimited: the learner's own limit (with `retry_after_s`).
        ProviderRateLimited, LLMAuthFailed, LLMUnavailable: from the provider.
        NothingGenerated: every candidate was rejected (`rejections` by reason).
    """
    started = time.perf_counter()
    types, topic = _check_inputs(settings, question_type=question_type, difficulty=difficulty,
                                 count=count, topic=topic)
    run = _Run(user_id=user_id, settings=settings)
    mode = generation_mode(settings)
    with session_factory() as session:
        materials = _user_materials(session, user_id, material_ids)
        n = max(settings.generation.context_chunks, count)
        if topic and mode.offline:
            passages = _offline_topic_passages(session, user_id, materials, topic,
                                               max(n * 2, count * 8))
        elif topic:
            passages = _topic_passages(session, user_id, materials, topic, n, settings)
            if not passages:
                # The topic is not repeated: the message is shown as Markdown.
                raise NothingGenerated("Nothing in the chosen materials matches that topic. "
                                       "Try other words or leave the topic empty.")
        else:
            passages = _spread_passages(session, user_id, materials,
                                        max(n * 2, count * 8) if mode.offline else n)

        bank_keys, used_sentences = _bank(session, user_id)
        if not mode.offline:
            templates = _templates(session)
            calls = _plan_llm(session, run, passages, templates, types=types,
                              difficulty=difficulty, count=count, topic=topic)
    deduper = Deduper(bank_keys, settings.generation.dedupe_threshold)
    if not mode.offline:
        _reserve(session_factory, run, calls, count)
    if mode.offline:
        drafts = _generate_offline(session_factory, run, materials, passages, types=types,
                                   difficulty=difficulty, count=count, topic=topic,
                                   deduper=deduper, used_sentences=used_sentences,
                                   on_progress=on_progress)
        result = _finish(session_factory, run, drafts, count=count, generator="offline",
                         model=None, prompt_version=offline.OFFLINE_VERSION, started=started)
        result.note = _shortfall(run, len(drafts), count, topic, len(passages))
        return result
    drafts = _generate_llm(session_factory, run, calls, types=types, topic=topic,
                           deduper=deduper, on_progress=on_progress, t=templates)
    return _finish(session_factory, run, drafts, count=count, generator="llm",
                   model=mode.model, prompt_version=templates.version, started=started)


def generate_from_chunk(
    session_factory: SessionFactory,
    *,
    user_id: int,
    chunk_id: int,
    question_type: str,
    difficulty: int,
    settings: Settings,
    count: int = 1,
) -> list[Draft]:
    """Drafts of new questions from one source chunk (e.g. to replace a retired question).

    Uses the configured model, or the offline generator when none is configured; offline,
    a 'short' request yields a cloze question instead. Drafts are validated, grounded in the
    chunk and deduplicated against the learner's bank; nothing is saved (pass the chosen
    draft to `save_questions(..., replaces_question_id=...)`).

    Raises:
        NotFound: the chunk is not the learner's (or no longer exists).
        InvalidInput: bad type, difficulty or count.
        RateLimited, ProviderRateLimited, LLMAuthFailed, LLMUnavailable: as for
            `generate_questions`.
        NothingGenerated: nothing usable could be made from the chunk.
    """
    started = time.perf_counter()
    mode = generation_mode(settings)
    if mode.offline and question_type == "short":
        question_type = "cloze"
    types, _ = _check_inputs(settings, question_type=question_type, difficulty=difficulty,
                             count=count, topic=None)
    run = _Run(user_id=user_id, settings=settings)
    with session_factory() as session:
        row = session.execute(
            select(Chunk, Material).join(Material, Material.id == Chunk.material_id)
            .where(Chunk.id == chunk_id, Chunk.user_id == user_id,
                   Material.user_id == user_id)).one_or_none()
        if row is None:
            raise NotFound("The source passage of this question is no longer in your library.")
        chunk, material = row
        passages = [_passage(chunk, material.title)]
        bank_keys, used_sentences = _bank(session, user_id)
        if not mode.offline:
            templates = _templates(session)
            calls = _plan_llm(session, run, passages, templates, types=types,
                              difficulty=difficulty, count=count, topic=None)
    deduper = Deduper(bank_keys, settings.generation.dedupe_threshold)
    if not mode.offline:
        _reserve(session_factory, run, calls, count)
    if mode.offline:
        drafts = _generate_offline(session_factory, run, {material.id: material}, passages,
                                   types=types, difficulty=difficulty, count=count, topic=None,
                                   deduper=deduper, used_sentences=used_sentences,
                                   on_progress=None)
        return _finish(session_factory, run, drafts, count=count, generator="offline",
                       model=None, prompt_version=offline.OFFLINE_VERSION,
                       started=started).drafts
    drafts = _generate_llm(session_factory, run, calls, types=types, topic=None,
                           deduper=deduper, on_progress=None, t=templates)
    return _finish(session_factory, run, drafts, count=count, generator="llm",
                   model=mode.model, prompt_version=templates.version, started=started).drafts


def _reason_message(reason: str) -> str:
    return f"This question cannot be saved: {REASONS.get(reason, reason)}."


def save_questions(
    session_factory: SessionFactory,
    *,
    user_id: int,
    drafts: Sequence[Draft],
    replaces_question_id: int | None = None,
) -> list[int]:
    """Save accepted drafts to the learner's bank, all or none, and return the new ids.

    Each draft is validated again and, when its source chunk still exists, its excerpt must
    still occur in it (so an edited or forged draft cannot lose its grounding).

    Args:
        session_factory: the database session factory.
        user_id: the learner.
        drafts: drafts from `generate_questions` / `generate_from_chunk` (possibly edited).
        replaces_question_id: the learner's question these replace (recorded on each).

    Raises:
        InvalidInput: a draft fails validation or lost its grounding.
        NotFound: the replaced question, or a draft's source, is not the learner's.
    """
    if not drafts:
        return []
    for d in drafts:
        reason = validate(d)
        if reason:
            raise InvalidInput(_reason_message(reason))
    with session_factory.begin() as session:
        if replaces_question_id is not None and session.scalar(
                select(Question.id).where(Question.id == replaces_question_id,
                                          Question.user_id == user_id)) is None:
            raise NotFound("The question being replaced is not in your bank.")
        material_ids = {d.material_id for d in drafts if d.material_id is not None}
        chunk_ids = {d.source_chunk_id for d in drafts if d.source_chunk_id is not None}
        own_materials = set(session.scalars(select(Material.id).where(
            Material.user_id == user_id, Material.id.in_(material_ids))))
        own_chunks = dict(session.execute(select(Chunk.id, Chunk.text).where(
            Chunk.user_id == user_id, Chunk.id.in_(chunk_ids))).all())
        added: list[Question] = []
        for d in drafts:
            material_id, source_chunk_id = d.material_id, d.source_chunk_id
            if (material_id is not None and material_id not in own_materials) or (
                    source_chunk_id is not None and source_chunk_id not in own_chunks):
                raise NotFound("The source of this question is no longer in your library. "
                               "Generate it again.")
            if source_chunk_id is not None and normalise(d.excerpt) not in normalise(
                    own_chunks[source_chunk_id]):
                raise InvalidInput(_reason_message("excerpt_not_in_source"))
            q = Question(
                user_id=user_id, material_id=material_id, source_chunk_id=source_chunk_id,
                chunk_ids=[int(c) for c in d.chunk_ids], type=d.type, form=d.form,
                stem=d.stem.strip(),
                options=[o.strip() for o in d.options] if d.options is not None else None,
                correct_index=d.correct_index, answer=d.answer.strip(),
                key_points=[k.strip() for k in d.key_points], explanation=d.explanation.strip(),
                difficulty=d.difficulty, topic=(d.topic or None), status="active",
                excerpt=d.excerpt.strip(), page_start=d.page_start, page_end=d.page_end,
                material_title=(d.material_title or "Untitled")[:300],
                generator=d.generator, model=d.model, prompt_version=d.prompt_version,
                tokens_in=d.tokens_in, tokens_out=d.tokens_out,
                cost_usd=Decimal(str(d.cost_usd)) if d.cost_usd is not None else None,
                latency_ms=d.latency_ms, replaces_question_id=replaces_question_id,
            )
            session.add(q)
            added.append(q)
        session.flush()
        ids = [q.id for q in added]
    return ids


# --- the question bank ------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionView:
    id: int
    type: str
    stem: str
    options: list[str] | None
    correct_index: int | None
    answer: str
    key_points: list[str]
    explanation: str
    difficulty: int
    status: str
    quality_score: float | None
    excerpt: str
    page_start: int
    page_end: int
    material_id: int | None
    material_title: str
    topic: str | None
    generator: str
    model: str | None
    created_at: dt.datetime

    @property
    def type_label(self) -> str:
        return TYPE_LABELS.get(self.type, self.type)

    @property
    def pages(self) -> str:
        if self.page_start == self.page_end:
            return f"p. {self.page_start}"
        return f"pp. {self.page_start}\u2013{self.page_end}"


def _view(q: Question) -> QuestionView:
    return QuestionView(
        id=q.id, type=q.type, stem=q.stem, options=q.options, correct_index=q.correct_index,
        answer=q.answer, key_points=list(q.key_points or []), explanation=q.explanation,
        difficulty=q.difficulty, status=q.status, quality_score=q.quality_score,
        excerpt=q.excerpt, page_start=q.page_start, page_end=q.page_end,
        material_id=q.material_id, material_title=q.material_title, topic=q.topic,
        generator=q.generator, model=q.model, created_at=q.created_at)


@dataclass(frozen=True)
class BankPage:
    questions: list[QuestionView]
    total: int


def list_questions(
    session_factory: SessionFactory,
    *,
    user_id: int,
    material_id: int | None = None,
    question_type: str | None = None,
    difficulty: int | None = None,
    status: str | None = None,
    text: str | None = None,
    limit: int = 25,
    offset: int = 0,
) -> BankPage:
    """A page of the learner's bank, newest first, with the total matching the filters."""
    where = [Question.user_id == user_id]
    if material_id is not None:
        where.append(Question.material_id == material_id)
    if question_type:
        where.append(Question.type == question_type)
    if difficulty is not None:
        where.append(Question.difficulty == difficulty)
    if status:
        where.append(Question.status == status)
    if text and text.strip():
        pattern = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        where.append(or_(Question.stem.ilike(pattern, escape="\\"),
                         Question.answer.ilike(pattern, escape="\\")))
    with session_factory() as session:
        total = session.scalar(select(func.count()).select_from(Question).where(*where)) or 0
        rows = session.scalars(select(Question).where(*where)
                               .order_by(Question.created_at.desc(), Question.id.desc())
                               .limit(max(1, min(limit, 200))).offset(max(0, offset))).all()
        return BankPage([_view(q) for q in rows], int(total))


def bank_materials(session_factory: SessionFactory, *, user_id: int) -> list[tuple[int, str]]:
    """(material id, title) of the materials the learner's questions come from."""
    with session_factory() as session:
        rows = session.execute(
            select(Question.material_id, func.max(Question.material_title))
            .where(Question.user_id == user_id, Question.material_id.is_not(None))
            .group_by(Question.material_id).order_by(func.max(Question.material_title))).all()
    return [(int(m), t) for m, t in rows]


def get_question(session_factory: SessionFactory, *, user_id: int,
                 question_id: int) -> QuestionView:
    """Raises NotFound when the question is not the learner's."""
    with session_factory() as session:
        q = session.scalar(select(Question).where(Question.id == question_id,
                                                  Question.user_id == user_id))
        if q is None:
            raise NotFound("That question is not in your bank.")
        return _view(q)


def update_question(
    session_factory: SessionFactory,
    *,
    user_id: int,
    question_id: int,
    stem: str,
    answer: str,
    explanation: str,
    difficulty: int,
    options: list[str] | None = None,
    correct_index: int | None = None,
    key_points: list[str] | None = None,
    status: str | None = None,
) -> QuestionView:
    """Edit a question of the learner's bank. The source excerpt and page are kept.

    Raises:
        NotFound: not the learner's question.
        InvalidInput: the edit breaks the rules a question must follow.
    """
    with session_factory.begin() as session:
        q = session.scalar(select(Question).where(Question.id == question_id,
                                                  Question.user_id == user_id)
                           .with_for_update())
        if q is None:
            raise NotFound("That question is not in your bank.")
        if status is not None and status not in ("active", "flagged", "retired"):
            raise InvalidInput("Status must be active, flagged or retired.")
        if q.type == "mcq" and options is not None and correct_index is not None and (
                0 <= correct_index < len(options)):
            answer = options[correct_index]
        draft = Draft(type=q.type, stem=stem, answer=answer, explanation=explanation,
                      difficulty=difficulty, excerpt=q.excerpt, chunk_ids=list(q.chunk_ids),
                      options=options if q.type == "mcq" else None,
                      correct_index=correct_index if q.type == "mcq" else None,
                      key_points=key_points if key_points is not None else list(q.key_points))
        reason = validate(draft)
        if reason:
            raise InvalidInput(f"This edit cannot be saved: {REASONS.get(reason, reason)}.")
        q.stem, q.answer, q.explanation = draft.stem.strip(), draft.answer.strip(), \
            draft.explanation.strip()
        q.difficulty = draft.difficulty
        q.options = [o.strip() for o in draft.options] if draft.options is not None else None
        q.correct_index = draft.correct_index
        q.key_points = [k.strip() for k in draft.key_points]
        if status is not None:
            q.status = status
        session.flush()
        return _view(q)


def delete_question(session_factory: SessionFactory, *, user_id: int, question_id: int) -> None:
    """Delete one of the learner's questions (and, by cascade, its practice history).

    Raises:
        NotFound: not the learner's question.
    """
    with session_factory.begin() as session:
        q = session.scalar(select(Question).where(Question.id == question_id,
                                                  Question.user_id == user_id))
        if q is None:
            raise NotFound("That question is not in your bank.")
        session.delete(q)


def usage_summary(session_factory: SessionFactory, *, user_id: int) -> dict[str, Any]:
    """The learner's model use over the last 24 hours, all tasks (for the Generate page):
    finished calls, not cached answers or calls still in progress."""
    with session_factory() as session:
        row = session.execute(
            select(func.count(), func.coalesce(func.sum(LLMUsage.tokens_in), 0),
                   func.coalesce(func.sum(LLMUsage.tokens_out), 0),
                   func.coalesce(func.sum(LLMUsage.cost_usd), 0),
                   func.coalesce(func.sum(LLMUsage.questions_returned), 0))
            .where(LLMUsage.user_id == user_id, LLMUsage.generator == "llm",
                   LLMUsage.outcome.not_in(("cached", usage.RESERVED)),
                   LLMUsage.created_at > func.now() - dt.timedelta(days=1))).one()
    return {"calls": int(row[0]), "tokens_in": int(row[1]), "tokens_out": int(row[2]),
            "cost_usd": float(row[3]), "questions": int(row[4])}


__all__ = [
    "BankPage", "GenerationMode", "GenerationResult", "MaterialChoice", "Progress",
    "QuestionView", "bank_materials", "delete_question", "generate_from_chunk",
    "generate_questions", "generation_mode", "get_question", "list_questions",
    "materials_for_generation", "save_questions", "update_question", "usage_summary",
    "Draft",
]
