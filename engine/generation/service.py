"""The generation services pages, the CLI and other capabilities call.

- `generate_questions`: a preview batch from chosen materials (LLM or offline), validated,
  grounded and deduplicated; nothing is saved.
- `generate_from_chunk`: replacement drafts from one source chunk (used by practice).
- `reject_draft`, `undo_rejection`: a question rejected on the Generate page is never offered
  again (`rejections`).
- `generation_mode`, `materials_for_generation`: what the Generate page shows (from
  `choices`).

Accepted drafts go into the learner's bank with `engine.bank.service.save_questions`. The
steps live beside this module: passage selection (`passages`), limits and usage (`metering`),
the model run (`model_run`) and the offline run (`offline_run`).

Every query filters by the learner; another learner's row is reported as NotFound.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bank.service import known_questions
from engine.config import Settings
from engine.db.models import Chunk, Material
from engine.domain.language import SUPPORTED, language_name
from engine.domain.passage import Passage
from engine.domain.vocabulary import FLASHCARD_FORM, Generator, QuestionType
from engine.errors import InvalidInput, NotFound, NothingGenerated
from engine.generation import model_run, offline, offline_run, passages
from engine.generation.choices import (
    GenerationMode,
    MaterialChoice,
    generation_mode,
    materials_for_generation,
    mode_for,
)
from engine.generation.drafts import MIX, QUESTION_TYPES, Draft
from engine.generation.metering import Run, flush, log_usage, reserve
from engine.generation.rejections import reject_draft, rejected_questions, undo_rejection
from engine.generation.results import GenerationResult, Progress
from engine.generation.validation import REASONS, Deduper
from engine.runtime import Runtime

log = logging.getLogger(__name__)

__all__ = [
    "GenerationMode",
    "MaterialChoice",
    "generate_from_chunk",
    "generate_questions",
    "generation_mode",
    "materials_for_generation",
    "reject_draft",
    "undo_rejection",
]

TOPIC_MAX = 200


# --- one request ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    user_id: int
    types: list[str]
    difficulty: int
    count: int
    topic: str | None
    on_progress: Callable[[Progress], None] | None
    started: float


# Chooses a request's materials and passages inside the request's session.
_Context = Callable[[Session], tuple[dict[int, Material], list[Passage]]]


def _check_inputs(
    settings: Settings, *, question_type: str, difficulty: int, count: int, topic: str | None
) -> tuple[list[str], str | None]:
    problems = []
    mode = mode_for(settings)
    if question_type not in (*QUESTION_TYPES, MIX, *mode.types):
        problems.append("Choose multiple choice, cloze, short answer or a mix.")
    if isinstance(difficulty, bool) or not isinstance(difficulty, int) or not 1 <= difficulty <= 5:
        problems.append("Difficulty must be between 1 and 5.")
    if (
        isinstance(count, bool)
        or not isinstance(count, int)
        or not (1 <= count <= settings.generation.max_count)
    ):
        problems.append(f"Ask for between 1 and {settings.generation.max_count} questions.")
    topic = (topic or "").strip() or None
    if topic is not None and len(topic) > TOPIC_MAX:
        problems.append(f"Keep the topic under {TOPIC_MAX} characters.")
    if problems:
        raise InvalidInput(" ".join(problems))
    chosen = list(mode.types) if question_type == MIX else [question_type]
    # Offline, flashcards are the 'short' questions made (self-rated, form 'flashcard').
    types = [QuestionType.SHORT if t == FLASHCARD_FORM else t for t in chosen]
    if mode.offline and question_type == QuestionType.SHORT:
        raise InvalidInput(
            "Short-answer questions need a language model. Without one, Groundwork makes "
            "multiple-choice and cloze questions and self-rated flashcards. Configure a model "
            "in the settings (GROUNDWORK_LLM_GENERATION_MODEL) to get short answers."
        )
    return types, topic


def _lint_failures(run: Run) -> int:
    return sum(n for r, n in run.rejections.items() if r.startswith("lint_"))


def _shortfall(run: Run, made: int, count: int, topic: str | None, n_passages: int) -> str | None:
    parts = []
    if run.unsupported_languages:
        names = ", ".join(language_name(c) for c in sorted(run.unsupported_languages))
        parts.append(
            f"Material in {names} was left out: offline questions are made only from "
            f"{', '.join(language_name(c) for c in SUPPORTED)} material."
        )
    if topic:
        parts.append(
            f"Questions come only from the {n_passages} passage"
            f"{'s' if n_passages != 1 else ''} that mention '{topic}'."
        )
    if made < count:
        lint = _lint_failures(run)
        where = f"the passages about '{topic}'" if topic else "the chosen material"
        parts.append(
            f"Only {made} of the {count} questions asked for: only {made} sentence"
            f"{'s' if made != 1 else ''} in {where} passed the checks"
            + (
                f" ({lint} candidate question{'s' if lint != 1 else ''} failed the question lint)"
                if lint
                else ""
            )
            + ". Add more material or widen the topic for more."
        )
    return " ".join(parts) or None


def _nothing_message(run: Run, generator: str) -> str:
    if run.rejections.get("duplicate_of_bank") and len(run.rejections) == 1:
        return (
            "Every question generated is already in your bank. Try another topic, "
            "other materials, or a different question type."
        )
    unsupported = sorted(run.unsupported_languages)
    if generator == Generator.OFFLINE and unsupported:
        names = ", ".join(language_name(code) for code in unsupported)
        supported = ", ".join(language_name(c) for c in SUPPORTED)
        return (
            f"No questions were made offline: the chosen material is in {names} (or its "
            f"language could not be told), and offline questions are made only from "
            f"{supported} material. Choose other materials, or configure a language "
            "model (GROUNDWORK_LLM_GENERATION_MODEL)."
        )
    if generator == Generator.OFFLINE:
        lint = _lint_failures(run)
        return (
            "No usable questions could be made from this material offline: no "
            "sentence passed the checks (too little prose with clear key terms"
            + (f"; {lint} candidates failed the question lint" if lint else "")
            + "). Try other materials or another topic."
        )
    return (
        "The model's questions did not pass the checks (each must quote its "
        "source exactly). Try again, or choose other materials or a topic."
    )


def _finish(
    rt: Runtime,
    run: Run,
    drafts: list[Draft],
    *,
    req: _Request,
    generator: str,
    model: str | None,
    prompt_version: str | None,
) -> GenerationResult:
    if generator == Generator.OFFLINE:
        log_usage(
            run,
            generator=Generator.OFFLINE,
            model=None,
            prompt_version=prompt_version,
            outcome="ok" if drafts else "invalid",
            questions_returned=len(drafts),
        )
        flush(rt, run)
    result = GenerationResult(
        drafts=drafts,
        rejections=dict(run.rejections),
        generator=generator,
        model=model,
        prompt_version=prompt_version,
        requested=req.count,
        tokens_in=run.tokens_in,
        tokens_out=run.tokens_out,
        cost_usd=run.cost_usd,
        llm_calls=run.llm_calls,
        cached_calls=run.cached_calls,
        engine_ms=(time.perf_counter() - req.started) * 1000 - run.llm_ms,
    )
    log.info(
        "generation finished",
        extra={
            "user_id": run.user_id,
            "generator": generator,
            "requested": req.count,
            "kept": len(drafts),
            "rejections": dict(run.rejections),
            "cost_usd": run.cost_usd,
        },
    )
    if not drafts:
        raise NothingGenerated(_nothing_message(run, generator), rejections=dict(run.rejections))
    return result


def _generate_offline(
    rt: Runtime,
    run: Run,
    req: _Request,
    materials: dict[int, Material],
    chosen: list[Passage],
    deduper: Deduper,
    used_sentences: set[str],
) -> GenerationResult:
    drafts = offline_run.generate_offline(
        rt,
        run,
        materials,
        chosen,
        types=req.types,
        difficulty=req.difficulty,
        count=req.count,
        topic=req.topic,
        deduper=deduper,
        used_sentences=used_sentences,
        on_progress=req.on_progress,
    )
    result = _finish(
        rt,
        run,
        drafts,
        req=req,
        generator=Generator.OFFLINE,
        model=None,
        prompt_version=offline.OFFLINE_VERSION,
    )
    result.note = _shortfall(run, len(drafts), req.count, req.topic, len(chosen))
    return result


def _generate(rt: Runtime, req: _Request, context: _Context) -> GenerationResult:
    """One request, offline or with the model: its passages and the bank read in one session,
    then the run, the usage log and the result."""
    run = Run(user_id=req.user_id)
    mode = generation_mode(rt)
    with rt.session_factory() as session:
        materials, chosen = context(session)
        bank_keys, used_sentences = known_questions(session, req.user_id)
        rejected_keys, rejected_sentences = rejected_questions(session, req.user_id)
        used_sentences |= rejected_sentences
        if not mode.offline:
            t = model_run.templates(session)
            calls = model_run.plan(
                rt,
                session,
                run,
                chosen,
                t,
                types=req.types,
                difficulty=req.difficulty,
                count=req.count,
                topic=req.topic,
            )
    deduper = Deduper(bank_keys, rt.settings.generation.dedupe_threshold, rejected=rejected_keys)
    if mode.offline:
        return _generate_offline(rt, run, req, materials, chosen, deduper, used_sentences)
    reserve(rt, run, needs_model=model_run.needs_model(calls), count=req.count)
    drafts = model_run.generate_llm(
        rt,
        run,
        calls,
        types=req.types,
        topic=req.topic,
        deduper=deduper,
        on_progress=req.on_progress,
        t=t,
    )
    return _finish(
        rt,
        run,
        drafts,
        req=req,
        generator=Generator.LLM,
        model=mode.model,
        prompt_version=t.version,
    )


# --- public services --------------------------------------------------------------------------


def _library_context(
    rt: Runtime, *, user_id: int, material_ids: Sequence[int] | None, topic: str | None, count: int
) -> _Context:
    settings, offline_mode = rt.settings, generation_mode(rt).offline

    def choose(session: Session) -> tuple[dict[int, Material], list[Passage]]:
        materials = passages.user_materials(session, user_id, material_ids)
        n = max(settings.generation.context_chunks, count)
        if topic and offline_mode:
            return materials, passages.offline_topic_passages(
                session, user_id, materials, topic, max(n * 2, count * 8)
            )
        if topic:
            found = passages.topic_passages(rt, session, user_id, materials, topic, n)
            if not found:
                # The topic is not repeated: the message is shown as Markdown.
                raise NothingGenerated(
                    "Nothing in the chosen materials matches that topic. "
                    "Try other words or leave the topic empty."
                )
            return materials, found
        return materials, passages.spread_passages(
            session, user_id, materials, max(n * 2, count * 8) if offline_mode else n
        )

    return choose


def generate_questions(
    rt: Runtime,
    *,
    user_id: int,
    material_ids: Sequence[int] | None = None,
    topic: str | None = None,
    question_type: str = MIX,
    difficulty: int = 3,
    count: int = 5,
    on_progress: Callable[[Progress], None] | None = None,
) -> GenerationResult:
    """Generate a preview batch. Nothing is saved to the bank (see
    `engine.bank.service.save_questions`).

    Args:
        rt: the runtime; its settings decide LLM (a generation model is set) or offline.
        user_id: the learner.
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
    types, topic = _check_inputs(
        rt.settings, question_type=question_type, difficulty=difficulty, count=count, topic=topic
    )
    req = _Request(
        user_id=user_id,
        types=types,
        difficulty=difficulty,
        count=count,
        topic=topic,
        on_progress=on_progress,
        started=started,
    )
    return _generate(
        rt,
        req,
        _library_context(rt, user_id=user_id, material_ids=material_ids, topic=topic, count=count),
    )


def _chunk_context(user_id: int, chunk_id: int) -> _Context:
    def choose(session: Session) -> tuple[dict[int, Material], list[Passage]]:
        row = session.execute(
            select(Chunk, Material)
            .join(Material, Material.id == Chunk.material_id)
            .where(Chunk.id == chunk_id, Chunk.user_id == user_id, Material.user_id == user_id)
        ).one_or_none()
        if row is None:
            raise NotFound("The source passage of this question is no longer in your library.")
        chunk, material = row
        return {material.id: material}, [passages.chunk_passage(chunk, material.title)]

    return choose


def generate_from_chunk(
    rt: Runtime,
    *,
    user_id: int,
    chunk_id: int,
    question_type: str,
    difficulty: int,
    count: int = 1,
) -> list[Draft]:
    """Drafts of new questions from one source chunk (e.g. to replace a retired question).

    Uses the configured model, or the offline generator when none is configured; offline,
    a 'short' request yields a cloze question instead. Drafts are validated, grounded in the
    chunk and deduplicated against the learner's bank; nothing is saved (pass the chosen
    draft to `engine.bank.service.save_questions(..., replaces_question_id=...)`).

    Raises:
        NotFound: the chunk is not the learner's (or no longer exists).
        InvalidInput: bad type, difficulty or count.
        RateLimited, ProviderRateLimited, LLMAuthFailed, LLMUnavailable: as for
            `generate_questions`.
        NothingGenerated: nothing usable could be made from the chunk.
    """
    started = time.perf_counter()
    if generation_mode(rt).offline and question_type == QuestionType.SHORT:
        question_type = QuestionType.CLOZE
    types, _ = _check_inputs(
        rt.settings, question_type=question_type, difficulty=difficulty, count=count, topic=None
    )
    req = _Request(
        user_id=user_id,
        types=types,
        difficulty=difficulty,
        count=count,
        topic=None,
        on_progress=None,
        started=started,
    )
    return _generate(rt, req, _chunk_context(user_id, chunk_id)).drafts


__all__ = [
    "REASONS",
    "Draft",
    "GenerationMode",
    "GenerationResult",
    "MaterialChoice",
    "Progress",
    "generate_from_chunk",
    "generate_questions",
    "generation_mode",
    "materials_for_generation",
    "reject_draft",
    "undo_rejection",
]
