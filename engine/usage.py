"""Per-learner limits on language-model use, and the usage log they count from.

Every model call is reserved before it is made and settled (or released) after:

    with usage.reserved(rt, user_id=uid, task=usage.GRADING, units=1) as reservation:
        completion = llm.complete(...)
        usage.settle(rt, reservation, model=completion.model, outcome="ok",
                     tokens_in=completion.tokens_in, ...)

`reserve` writes a row to `llm_usage` (outcome 'reserved') while holding a per-learner
transaction lock, after counting what the learner has used and reserved in the limit windows;
so parallel requests are counted one after another and cannot together pass a limit. A
reservation counts against the limits until it is settled (it becomes the usage-log row),
released (the call never happened: the row is deleted) or it expires
(`llm_reservation_ttl_s`, for a process that died mid-call).

Limits (settings):
- per task, requests per hour: `generation_max_per_hour`, `grading_max_per_hour`,
  `tutor_max_per_hour` (one generation request may make several model calls; they share the
  reservation's request id and count once);
- generation, questions per day: `generation_max_questions_per_day` (`units` = questions);
- all tasks together, requests per day: `llm_max_requests_per_day`.
An admin's run-time overrides (engine/server_settings.py; global or per learner) win.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy import and_, case, delete, func, insert, or_, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.db.models import LLMUsage
from engine.domain.vocabulary import Generator
from engine.errors import EngineError, LLMAuthFailed, LLMUnavailable, RateLimited
from engine.runtime import Runtime
from engine.server_settings import with_usage_overrides

GENERATION = "generation"
GRADING = "grading"
TUTOR = "tutor"
TASKS = (GENERATION, GRADING, TUTOR)

RESERVED = "reserved"
# The first key of the two-key advisory lock: this module's lock space, the learner id second.
_LOCK_SPACE = 7_301


class _Call(Protocol):
    model: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_ms: int


C = TypeVar("C", bound=_Call)


@dataclass(frozen=True)
class Reservation:
    """A reserved model request: the `llm_usage` row holding it and the request id that the
    request's usage-log rows share."""

    id: int
    user_id: int
    task: str
    units: int
    request_id: str


def fmt_wait(seconds: float) -> str:
    """'40 seconds', '12 minutes', '3 h 05 min'."""
    seconds = max(1, int(math.ceil(seconds)))
    if seconds < 90:
        return f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _hourly_limit(task: str, settings: Settings) -> int:
    return {GENERATION: settings.usage.generation_max_per_hour,
            GRADING: settings.usage.grading_max_per_hour,
            TUTOR: settings.usage.tutor_max_per_hour}[task]


def _hourly_message(task: str, limit: int, wait: float) -> str:
    when = fmt_wait(wait)
    if task == GENERATION:
        return (f"You have used your {limit} generations for this hour. "
                f"You can generate again in {when}.")
    if task == GRADING:
        return (f"You have used your {limit} model-graded answers for this hour. "
                f"Answers are graded by the language model again in {when}.")
    return f"You have asked the tutor {limit} times this hour. You can ask again in {when}."


def _live(now: dt.datetime) -> Any:
    """Rows that count: model calls that were not answered from the cache, and reservations
    that have not expired."""
    return and_(LLMUsage.generator == Generator.LLM, LLMUsage.outcome != "cached",
                or_(LLMUsage.outcome != RESERVED, LLMUsage.expires_at > now))


def _requests_since(session: Session, user_id: int, since: dt.datetime, now: dt.datetime,
                    task: str | None) -> list[dt.datetime]:
    """When each of the learner's requests in the window started, oldest first."""
    where = [LLMUsage.user_id == user_id, LLMUsage.created_at > since, _live(now)]
    if task is not None:
        where.append(LLMUsage.task == task)
    rows = session.execute(
        select(func.min(LLMUsage.created_at)).where(*where)
        .group_by(LLMUsage.request_id).order_by(func.min(LLMUsage.created_at))).scalars()
    return list(rows)


def _check_requests(session: Session, user_id: int, task: str, now: dt.datetime,
                    settings: Settings) -> None:
    limit = _hourly_limit(task, settings)
    started = _requests_since(session, user_id, now - dt.timedelta(hours=1), now, task)
    if len(started) >= limit:
        wait = (started[len(started) - limit] + dt.timedelta(hours=1) - now).total_seconds()
        raise RateLimited(_hourly_message(task, limit, wait), retry_after_s=int(math.ceil(wait)))
    day_limit = settings.usage.llm_max_requests_per_day
    started = _requests_since(session, user_id, now - dt.timedelta(days=1), now, None)
    if len(started) >= day_limit:
        wait = (started[len(started) - day_limit] + dt.timedelta(days=1) - now).total_seconds()
        raise RateLimited(
            f"You have used your {day_limit} language-model requests for today. More become "
            f"available in {fmt_wait(wait)}.", retry_after_s=int(math.ceil(wait)))


def _check_questions(session: Session, user_id: int, units: int, now: dt.datetime,
                     settings: Settings) -> None:
    """Generation: questions returned plus questions reserved in the last 24 hours."""
    limit = settings.usage.generation_max_questions_per_day
    held = case((LLMUsage.outcome == RESERVED, LLMUsage.units),
                else_=LLMUsage.questions_returned)
    rows = session.execute(
        select(LLMUsage.created_at, held)
        .where(LLMUsage.user_id == user_id, LLMUsage.task == GENERATION,
               LLMUsage.created_at > now - dt.timedelta(days=1), _live(now))
        .order_by(LLMUsage.created_at)).all()
    left = limit - sum(n for _, n in rows)
    if units <= left:
        return
    # The allowance comes back as old calls leave the 24-hour window.
    freed, wait = left, 0.0
    for created, n in rows:
        freed += n
        wait = (created + dt.timedelta(days=1) - now).total_seconds()
        if freed >= units:
            break
    what = f"You have {left} left" if left > 0 else "You have none left"
    raise RateLimited(
        f"You can generate up to {limit} questions a day with the language model. {what}; "
        f"more become available in {fmt_wait(wait)}.", retry_after_s=int(math.ceil(wait)))


def reserve(rt: Runtime, *, user_id: int, task: str, units: int) -> Reservation:
    """Reserve one model request for the learner, or refuse it.

    Args:
        task: GENERATION, GRADING or TUTOR.
        units: generation: the questions asked for; other tasks: 1.

    Raises:
        RateLimited: a limit is reached (`retry_after_s` says when it frees up).
        ValueError: an unknown task or negative units (a programming error).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; one of {TASKS}")
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        raise ValueError("units must be a non-negative integer")
    settings = rt.settings
    request_id = str(uuid.uuid4())
    with rt.session_factory.begin() as session:
        # One learner's reservations are decided one at a time; other learners are not held up.
        session.execute(sql_text("SELECT pg_advisory_xact_lock(:space, :uid)"),
                        {"space": _LOCK_SPACE, "uid": user_id})
        now = session.execute(select(func.now())).scalar_one()
        # Limits an admin changed at run time (globally or for this learner) win.
        settings = with_usage_overrides(session, settings, user_id)
        session.execute(delete(LLMUsage).where(
            LLMUsage.user_id == user_id, LLMUsage.outcome == RESERVED,
            LLMUsage.expires_at <= now))
        _check_requests(session, user_id, task, now, settings)
        if task == GENERATION:
            _check_questions(session, user_id, units, now, settings)
        row_id = session.execute(insert(LLMUsage).values(
            user_id=user_id, request_id=request_id, task=task, generator=Generator.LLM,
            outcome=RESERVED, units=units,
            expires_at=now + dt.timedelta(seconds=settings.usage.llm_reservation_ttl_s),
        ).returning(LLMUsage.id)).scalar_one()
    return Reservation(id=row_id, user_id=user_id, task=task, units=units,
                       request_id=request_id)


def _row(reservation: Reservation, call: dict[str, Any]) -> dict[str, Any]:
    cost = call.get("cost_usd", 0.0) or 0.0
    return dict(
        generator=call.get("generator", Generator.LLM), model=call.get("model"),
        prompt_version=call.get("prompt_version"), outcome=call["outcome"],
        tokens_in=int(call.get("tokens_in", 0)), tokens_out=int(call.get("tokens_out", 0)),
        cost_usd=cost if isinstance(cost, Decimal) else Decimal(str(round(float(cost), 6))),
        latency_ms=int(call.get("latency_ms", 0)),
        questions_returned=int(call.get("questions_returned", 0)))


def settle_calls(rt: Runtime, reservation: Reservation,
                 calls: Sequence[dict[str, Any]]) -> None:
    """Turn the reservation into the usage-log rows of the calls it covered (one transaction;
    the first call takes over the reservation's row). Each call is a dict with `outcome` and
    optionally model, prompt_version, generator, tokens_in, tokens_out, cost_usd, latency_ms,
    questions_returned. No calls: the reservation is released."""
    if not calls:
        release(rt, reservation)
        return
    rows = [_row(reservation, c) for c in calls]
    with rt.session_factory.begin() as session:
        updated = session.execute(
            update(LLMUsage).where(LLMUsage.id == reservation.id,
                                   LLMUsage.user_id == reservation.user_id,
                                   LLMUsage.outcome == RESERVED)
            .values(**rows[0], units=0, expires_at=None)).rowcount
        # An expired reservation may have been swept already: the calls are still logged.
        rest = rows[1:] if updated else rows
        if rest:
            session.execute(insert(LLMUsage), [
                dict(r, user_id=reservation.user_id, request_id=reservation.request_id,
                     task=reservation.task) for r in rest])


def settle(rt: Runtime, reservation: Reservation, *, model: str | None,
           outcome: str, tokens_in: int = 0, tokens_out: int = 0, cost_usd: float = 0.0,
           latency_ms: int = 0, questions_returned: int = 0) -> None:
    """Turn the reservation into the usage-log row of the call it covered."""
    settle_calls(rt, reservation, [dict(
        model=model, outcome=outcome, tokens_in=tokens_in, tokens_out=tokens_out,
        cost_usd=cost_usd, latency_ms=latency_ms, questions_returned=questions_returned)])


def release(rt: Runtime, reservation: Reservation) -> None:
    """Free a reservation whose call never happened."""
    with rt.session_factory.begin() as session:
        session.execute(delete(LLMUsage).where(
            LLMUsage.id == reservation.id, LLMUsage.user_id == reservation.user_id,
            LLMUsage.outcome == RESERVED))


def is_settled(rt: Runtime, reservation: Reservation) -> bool:
    """Whether the reservation's row was settled or released (no longer 'reserved')."""
    with rt.session_factory() as session:
        outcome = session.scalar(select(LLMUsage.outcome).where(
            LLMUsage.id == reservation.id, LLMUsage.user_id == reservation.user_id))
    return outcome != RESERVED


@contextmanager
def reserved(rt: Runtime, *, user_id: int, task: str, units: int) -> Iterator[Reservation]:
    """`reserve`, then release the reservation if the block raises before settling it."""
    reservation = reserve(rt, user_id=user_id, task=task, units=units)
    try:
        yield reservation
    except BaseException:
        if not is_settled(rt, reservation):
            release(rt, reservation)
        raise


def outcome_of(e: EngineError) -> str:
    """The usage-log outcome of a failed model call."""
    if isinstance(e, LLMAuthFailed):
        return "auth_failed"
    if isinstance(e, RateLimited):
        return "rate_limited"
    if isinstance(e, LLMUnavailable):
        return "unavailable"
    return "invalid"


def metered(rt: Runtime, *, user_id: int, task: str, call: Callable[[], C],
            units: int = 1) -> C:
    """Make one model call under a reservation and log it: `call` returns an
    `llm.Completion`; a failed call is logged with its outcome and its error re-raised.

    Raises:
        RateLimited: the learner's limit is reached (the call is not made).
    """
    with reserved(rt, user_id=user_id, task=task, units=units) as reservation:
        started = time.perf_counter()
        try:
            result = call()
        except EngineError as e:
            settle(rt, reservation, model=None, outcome=outcome_of(e),
                   latency_ms=int((time.perf_counter() - started) * 1000))
            raise
        settle(rt, reservation, model=result.model, outcome="ok",
               tokens_in=result.tokens_in, tokens_out=result.tokens_out,
               cost_usd=result.cost_usd, latency_ms=result.latency_ms)
        return result


__all__ = [
    "GENERATION", "GRADING", "TASKS", "TUTOR", "Reservation", "fmt_wait", "is_settled",
    "metered", "outcome_of", "release", "reserve", "reserved", "settle", "settle_calls",
]
