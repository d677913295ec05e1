"""The learner's limits and usage log for tutor model calls: a call is reserved before it is
made (so concurrent turns cannot overrun the limit), then settled with what it cost, or
released when no call was made.

Every tutor call site goes through `reserve_call` / `settle_call` / `release_call`, so the
accounting lives in this one module.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings
from engine.db.models import LLMUsage
from engine.errors import RateLimited

TASK = "tutor"
SessionFactory = sessionmaker[Session]


@dataclass(frozen=True)
class Reservation:
    id: int
    user_id: int
    request_id: str


def _wait_text(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}" if minutes < 90 else (
        f"{minutes // 60} h {minutes % 60:02d} min")


def reserve_call(session_factory: SessionFactory, *, user_id: int,
                 settings: Settings) -> Reservation:
    """Reserve one tutor model call for the learner.

    Raises:
        RateLimited: the hourly or daily tutor limit is used up (`retry_after_s` set).
    """
    with session_factory.begin() as session:
        # One learner's reservations are serialised, so two tabs cannot both take the last one.
        session.execute(select(func.pg_advisory_xact_lock(7_000_000 + user_id)))
        now = session.execute(select(func.now())).scalar_one()
        rows = session.execute(
            select(LLMUsage.created_at).where(
                LLMUsage.user_id == user_id, LLMUsage.task == TASK,
                LLMUsage.generator == "llm",
                LLMUsage.created_at > now - dt.timedelta(days=1))
            .order_by(LLMUsage.created_at)).scalars().all()
        hour = [t for t in rows if t > now - dt.timedelta(hours=1)]
        for used, limit, window, period in (
                (hour, settings.tutor_max_per_hour, dt.timedelta(hours=1), "hour"),
                (rows, settings.tutor_max_per_day, dt.timedelta(days=1), "day")):
            if len(used) >= limit:
                wait = (used[len(used) - limit] + window - now).total_seconds()
                raise RateLimited(
                    f"You have asked the tutor's model {limit} times this {period}, the limit. "
                    f"You can ask again in {_wait_text(wait)}.",
                    retry_after_s=int(math.ceil(wait)))
        row = LLMUsage(user_id=user_id, request_id=str(uuid.uuid4()), task=TASK,
                       generator="llm", outcome="reserved")
        session.add(row)
        session.flush()
        return Reservation(id=row.id, user_id=user_id, request_id=row.request_id)


def settle_call(session_factory: SessionFactory, reservation: Reservation, *, model: str,
                outcome: str, prompt_version: str | None = None, tokens_in: int = 0,
                tokens_out: int = 0, cost_usd: float = 0.0, latency_ms: int = 0) -> None:
    """Record what the reserved call cost and how it ended ('ok', 'failed', ...)."""
    with session_factory.begin() as session:
        session.execute(update(LLMUsage).where(
            LLMUsage.id == reservation.id, LLMUsage.user_id == reservation.user_id).values(
            model=model, outcome=outcome[:20], prompt_version=prompt_version,
            tokens_in=max(0, tokens_in), tokens_out=max(0, tokens_out),
            cost_usd=Decimal(str(round(max(0.0, cost_usd), 6))),
            latency_ms=max(0, latency_ms)))


def release_call(session_factory: SessionFactory, reservation: Reservation) -> None:
    """Give back a reservation whose call was never made."""
    with session_factory.begin() as session:
        session.execute(delete(LLMUsage).where(
            LLMUsage.id == reservation.id, LLMUsage.user_id == reservation.user_id))
