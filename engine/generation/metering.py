"""A generation request's state, and its limits and usage: the reservation against the
learner's limits, the usage-log rows and model-answer cache entries it writes."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, text as sql_text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from engine import usage
from engine.db.models import LLMCache, LLMUsage
from engine.runtime import Runtime
from engine.usage import Reservation


@dataclass
class Run:
    """State of one generation request."""

    user_id: int
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
    reservation: Reservation | None = None
    # Languages of chosen materials the offline generator cannot handle (ISO 639-1 codes).
    unsupported_languages: set[str] = field(default_factory=set)


def log_usage(
    run: Run,
    *,
    generator: str,
    model: str | None,
    prompt_version: str | None,
    outcome: str,
    tokens_in: int = 0,
    tokens_out: int = 0,
    cost_usd: float = 0.0,
    latency_ms: int = 0,
    questions_returned: int = 0,
) -> None:
    """Queue one usage-log row; `flush` writes the request's rows in one transaction."""
    run.usage.append(
        dict(
            user_id=run.user_id,
            request_id=run.request_id,
            task=usage.GENERATION,
            generator=generator,
            model=model,
            prompt_version=prompt_version,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost_usd=Decimal(str(round(cost_usd, 6))),
            latency_ms=latency_ms,
            outcome=outcome,
            questions_returned=questions_returned,
        )
    )


def reserve(rt: Runtime, run: Run, *, needs_model: bool, count: int) -> None:
    """When any call must reach the model, reserve the request against the learner's limits
    (raises RateLimited); its calls are logged under the reservation's request id."""
    if not needs_model:
        return
    run.reservation = usage.reserve(rt, user_id=run.user_id, task=usage.GENERATION, units=count)
    run.request_id = run.reservation.request_id


def flush(rt: Runtime, run: Run) -> None:
    """Write the queued usage rows and cache entries (also after a failed call): a request's
    reservation becomes its usage-log rows; rows without one (cached answers, offline) are
    written as they are."""
    if run.reservation is not None:
        reservation, run.reservation = run.reservation, None
        usage.settle_calls(rt, reservation, run.usage)
        run.usage = []
    if not run.usage and not run.cache:
        return
    with rt.session_factory.begin() as session:
        # Losing the last instant of the cache in a crash is harmless: no wait for the disk.
        session.execute(sql_text("SET LOCAL synchronous_commit = off"))
        if run.usage:
            session.execute(insert(LLMUsage), run.usage)
        if run.cache:
            unique = list({entry["key"]: entry for entry in run.cache}.values())
            stmt = pg_insert(LLMCache).values(unique)
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[LLMCache.key],
                    set_={
                        "response_text": stmt.excluded.response_text,
                        "tokens_in": stmt.excluded.tokens_in,
                        "tokens_out": stmt.excluded.tokens_out,
                        "cost_usd": stmt.excluded.cost_usd,
                        "created_at": func.now(),
                    },
                )
            )
    run.usage, run.cache = [], []
