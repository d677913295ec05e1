"""The limits a model request is checked against before it is reserved: per task and per day
for a learner, per hour for a client address, texts and questions per day, and the
installation's cap on calls in flight."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import case, func, select, text as sql_text
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.db.models import LLMUsage
from engine.errors import RateLimited
from engine.usage.log import (
    CHAT_TASKS,
    EMBEDDING,
    GENERATION,
    GRADING,
    RESERVED,
    TUTOR,
    WINDOW,
    fmt_wait,
    live,
)

# The first key of the two-key advisory lock that counts the system-wide slots (this
# package's lock spaces: see also `engine.usage.metering`).
_LOCK_SLOTS = 7_303


def _hourly_limit(task: str, settings: Settings) -> int:
    return {
        GENERATION: settings.usage.generation_max_per_hour,
        GRADING: settings.usage.grading_max_per_hour,
        TUTOR: settings.usage.tutor_max_per_hour,
    }[task]


def _hourly_message(task: str, limit: int, wait: float) -> str:
    when = fmt_wait(wait)
    if task == GENERATION:
        return (
            f"You have used your {limit} generations for this hour. "
            f"You can generate again in {when}."
        )
    if task == GRADING:
        return (
            f"You have used your {limit} model-graded answers for this hour. "
            f"Answers are graded by the language model again in {when}."
        )
    return f"You have asked the tutor {limit} times this hour. You can ask again in {when}."


def _requests_since(
    session: Session, who: Any, since: dt.datetime, now: dt.datetime, task: str | None
) -> list[dt.datetime]:
    """When each request of `who` in the window started, oldest first (`task` None: every
    chat task)."""
    where = [who, LLMUsage.created_at > since, live(now)]
    if task is not None:
        where.append(LLMUsage.task == task)
    else:
        where.append(LLMUsage.task.in_(CHAT_TASKS))
    rows = session.execute(
        select(func.min(LLMUsage.created_at))
        .where(*where)
        .group_by(LLMUsage.request_id)
        .order_by(func.min(LLMUsage.created_at))
    ).scalars()
    return list(rows)


def _check_requests(
    session: Session, who: Any, task: str, now: dt.datetime, settings: Settings
) -> None:
    limit = _hourly_limit(task, settings)
    started = _requests_since(session, who, now - dt.timedelta(hours=1), now, task)
    if len(started) >= limit:
        wait = (started[len(started) - limit] + dt.timedelta(hours=1) - now).total_seconds()
        raise RateLimited(_hourly_message(task, limit, wait), retry_after_s=int(math.ceil(wait)))
    day_limit = settings.usage.llm_max_requests_per_day
    started = _requests_since(session, who, now - dt.timedelta(days=1), now, None)
    if len(started) >= day_limit:
        wait = (started[len(started) - day_limit] + dt.timedelta(days=1) - now).total_seconds()
        raise RateLimited(
            f"You have used your {day_limit} language-model requests for today. More become "
            f"available in {fmt_wait(wait)}.",
            retry_after_s=int(math.ceil(wait)),
        )


def _check_address(session: Session, key: str | None, now: dt.datetime, settings: Settings) -> None:
    """Everyone signed in from one client address together: requests in the last hour."""
    limit = settings.usage.llm_max_requests_per_address_per_hour
    if key is None or limit <= 0:
        return
    started = _requests_since(
        session, LLMUsage.address_key == key, now - dt.timedelta(hours=1), now, None
    )
    if len(started) >= limit:
        wait = (started[len(started) - limit] + dt.timedelta(hours=1) - now).total_seconds()
        raise RateLimited(
            f"Your network address has made its {limit} language-model requests for this hour "
            f"(all accounts signed in from it together). More become available in "
            f"{fmt_wait(wait)}.",
            retry_after_s=int(math.ceil(wait)),
        )


def _units_held(
    session: Session, who: Any, task: str, held: Any, now: dt.datetime
) -> list[tuple[dt.datetime, int]]:
    return [
        (c, int(n))
        for c, n in session.execute(
            select(LLMUsage.created_at, held)
            .where(who, LLMUsage.task == task, LLMUsage.created_at > now - WINDOW, live(now))
            .order_by(LLMUsage.created_at)
        ).all()
    ]


def _wait_for(
    rows: list[tuple[dt.datetime, int]], left: int, units: int, now: dt.datetime
) -> float:
    """Seconds until enough of the allowance comes back as old calls leave the window."""
    freed, wait = left, 0.0
    for created, n in rows:
        freed += n
        wait = (created + WINDOW - now).total_seconds()
        if freed >= units:
            break
    return wait


def _check_texts(
    session: Session, who: Any, units: int, now: dt.datetime, settings: Settings
) -> None:
    """Hosted embeddings: texts embedded and reserved in the last 24 hours."""
    limit = settings.usage.hosted_embedding_max_texts_per_day
    rows = _units_held(session, who, EMBEDDING, LLMUsage.units, now)
    left = limit - sum(n for _, n in rows)
    if units <= left:
        return
    wait = _wait_for(rows, left, units, now)
    raise RateLimited(
        f"You can send up to {limit} passages and searches a day to the hosted embedding "
        f"model; this needs {units} and {max(left, 0)} are left. More become available in "
        f"{fmt_wait(wait)}.",
        retry_after_s=int(math.ceil(wait)),
    )


def _check_questions(
    session: Session, who: Any, units: int, now: dt.datetime, settings: Settings
) -> None:
    """Generation: questions returned plus questions reserved in the last 24 hours."""
    limit = settings.usage.generation_max_questions_per_day
    held = case((LLMUsage.outcome == RESERVED, LLMUsage.units), else_=LLMUsage.questions_returned)
    rows = _units_held(session, who, GENERATION, held, now)
    left = limit - sum(n for _, n in rows)
    if units <= left:
        return
    wait = _wait_for(rows, left, units, now)
    what = f"You have {left} left" if left > 0 else "You have none left"
    raise RateLimited(
        f"You can generate up to {limit} questions a day with the language model. {what}; "
        f"more become available in {fmt_wait(wait)}.",
        retry_after_s=int(math.ceil(wait)),
    )


def slot_free(session: Session, now: dt.datetime, settings: Settings) -> bool:
    """Whether a model call may start under the system-wide cap (the live reservations of
    every learner are the calls in flight). Decided one at a time across all processes."""
    cap = settings.usage.llm_max_concurrent_calls
    if cap <= 0:
        return True
    session.execute(sql_text("SELECT pg_advisory_xact_lock(:space, 0)"), {"space": _LOCK_SLOTS})
    in_flight = session.scalar(
        select(func.count())
        .select_from(LLMUsage)
        .where(LLMUsage.outcome == RESERVED, LLMUsage.expires_at > now)
    )
    return int(in_flight or 0) < cap


def check_limits(
    session: Session,
    who: Any,
    *,
    task: str,
    units: int,
    address: str | None,
    now: dt.datetime,
    settings: Settings,
) -> None:
    """Refuse the request (RateLimited) when it would pass one of the learner's limits; `who`
    selects the learner's rows, `address` is their client address key (None: unknown)."""
    if task == EMBEDDING:
        _check_texts(session, who, units, now, settings)
        return
    _check_requests(session, who, task, now, settings)
    if task == GENERATION:
        _check_questions(session, who, units, now, settings)
    _check_address(session, address, now, settings)
