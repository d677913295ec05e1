"""Reserving, settling and releasing model requests in the usage log (see `engine.usage`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy import delete, func, insert, or_, select, text as sql_text, update
from sqlalchemy.orm import Session

from engine.db.models import AuthSession, LLMUsage, User
from engine.db.session import affected_rows
from engine.domain.vocabulary import Generator
from engine.errors import (
    EngineError,
    LLMAuthFailed,
    LLMBusy,
    LLMUnavailable,
    NotFound,
    RateLimited,
)
from engine.runtime import Runtime
from engine.server_settings import with_usage_overrides
from engine.usage.limits import check_limits, slot_free
from engine.usage.log import (
    RESERVED,
    TASKS,
    WINDOW,
    Reservation,
    account_key,
    address_key,
    fmt_wait,
    mine,
)

# The first keys of the two-key advisory locks (this package's lock spaces; the system-wide
# slots' is in `engine.usage.limits`): a learner's account key, a client address key.
_LOCK_ACCOUNT = 7_301
_LOCK_ADDRESS = 7_302
_BUSY = (
    "Many people are using the language model right now, and no call could start "
    "within {wait}. Try again in a minute."
)


class _Call(Protocol):
    # Read-only (properties), so frozen dataclasses such as llm.Completion match.
    @property
    def model(self) -> str: ...
    @property
    def tokens_in(self) -> int: ...
    @property
    def tokens_out(self) -> int: ...
    @property
    def cost_usd(self) -> float: ...
    @property
    def latency_ms(self) -> int: ...


C = TypeVar("C", bound=_Call)


def _who(rt: Runtime, session: Session, user_id: int) -> tuple[str, str | None]:
    """The learner's account key, and the key of the client address they last signed in
    from (None when unknown: the command line, a local install)."""
    email = session.scalar(select(User.email_normalized).where(User.id == user_id))
    if email is None:
        raise NotFound("That account does not exist (it may have been deleted).")
    address = session.scalar(
        select(AuthSession.client_address)
        .where(AuthSession.user_id == user_id)
        .order_by(AuthSession.created_at.desc(), AuthSession.id.desc())
        .limit(1)
    )
    return account_key(rt, email), address_key(rt, address) if address else None


def _lock_learner(session: Session, key: str, address: str | None) -> None:
    """Take the learner's, then the client address's, reservation lock (until commit).

    One learner's reservations are decided one at a time (by account key, so a deleted
    account's rows and a new account of the same email are one learner), then one address's;
    others are not held up. Always in this order: no two reservations wait in a cycle.
    """
    session.execute(
        sql_text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
        {"space": _LOCK_ACCOUNT, "key": key},
    )
    if address is not None:
        session.execute(
            sql_text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
            {"space": _LOCK_ADDRESS, "key": address},
        )


def _insert_reservation(
    session: Session, draft: Reservation, *, expires_at: dt.datetime
) -> Reservation:
    """Write the draft's 'reserved' row; the reservation with the row's id."""
    row_id = session.execute(
        insert(LLMUsage)
        .values(
            user_id=draft.user_id,
            account_key=draft.account_key,
            address_key=draft.address_key,
            request_id=draft.request_id,
            task=draft.task,
            generator=Generator.LLM,
            outcome=RESERVED,
            units=draft.units,
            expires_at=expires_at,
        )
        .returning(LLMUsage.id)
    ).scalar_one()
    return dataclasses.replace(draft, id=row_id)


def _try_reserve(
    rt: Runtime, session: Session, *, user_id: int, task: str, units: int, limited: bool
) -> Reservation | None:
    """One attempt: the reservation, None when every call slot is taken, or RateLimited."""
    key, address = _who(rt, session, user_id)
    draft = Reservation(
        id=0,
        user_id=user_id,
        task=task,
        units=units,
        request_id=str(uuid.uuid4()),
        account_key=key,
        address_key=address,
    )
    _lock_learner(session, key, address)
    now = session.execute(select(func.now())).scalar_one()
    # Limits an admin changed at run time (globally or for this learner) win.
    settings = with_usage_overrides(session, rt.settings, user_id)
    session.execute(
        delete(LLMUsage).where(
            mine(draft), LLMUsage.outcome == RESERVED, LLMUsage.expires_at <= now
        )
    )
    if limited:
        check_limits(
            session,
            mine(draft),
            task=task,
            units=units,
            address=address,
            now=now,
            settings=settings,
        )
    if not slot_free(session, now, settings):
        return None
    ttl = dt.timedelta(seconds=settings.usage.llm_reservation_ttl_s)
    return _insert_reservation(session, draft, expires_at=now + ttl)


def reserve(
    rt: Runtime, *, user_id: int, task: str, units: int, limited: bool = True
) -> Reservation:
    """Reserve one model request for the learner, or refuse it.

    When the system-wide cap on concurrent calls is reached, waits for a free slot (at most
    `llm_call_wait_s`), holding no lock or connection while it waits.

    Args:
        task: GENERATION, GRADING, TUTOR or EMBEDDING.
        units: generation: the questions asked for; embedding: the texts; other tasks: 1.
        limited: False for work the installation does for the learner (re-embedding after a
            change of model or text pipeline, repairs): logged and under the system-wide cap,
            but never refused by the learner's limits.

    Raises:
        RateLimited: a limit is reached (`retry_after_s` says when it frees up).
        LLMBusy: no call slot came free within `llm_call_wait_s`.
        NotFound: the account no longer exists.
        ValueError: an unknown task or negative units (a programming error).
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; one of {TASKS}")
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        raise ValueError("units must be a non-negative integer")
    wait_s = rt.settings.usage.llm_call_wait_s
    deadline = time.monotonic() + wait_s
    pause = 0.02
    while True:
        with rt.session_factory.begin() as session:
            reservation = _try_reserve(
                rt, session, user_id=user_id, task=task, units=units, limited=limited
            )
        if reservation is not None:
            return reservation
        left = deadline - time.monotonic()
        if left <= 0:
            raise LLMBusy(
                _BUSY.format(wait=fmt_wait(wait_s)),
                detail=f"{rt.settings.usage.llm_max_concurrent_calls} calls in flight",
            )
        # Jittered, growing pauses: waiting callers do not poll in step.
        time.sleep(min(left, pause * (0.5 + random.random())))
        pause = min(pause * 2, 0.25)


def _row(reservation: Reservation, call: dict[str, Any]) -> dict[str, Any]:
    cost = call.get("cost_usd", 0.0) or 0.0
    return dict(
        generator=call.get("generator", Generator.LLM),
        model=call.get("model"),
        prompt_version=call.get("prompt_version"),
        outcome=call["outcome"],
        tokens_in=int(call.get("tokens_in", 0)),
        tokens_out=int(call.get("tokens_out", 0)),
        cost_usd=cost if isinstance(cost, Decimal) else Decimal(str(round(float(cost), 6))),
        latency_ms=int(call.get("latency_ms", 0)),
        questions_returned=int(call.get("questions_returned", 0)),
        # Embedding rows keep the texts they sent (the daily text limit counts them).
        units=int(call.get("units", 0)),
    )


def settle_calls(rt: Runtime, reservation: Reservation, calls: Sequence[dict[str, Any]]) -> None:
    """Turn the reservation into the usage-log rows of the calls it covered (one transaction;
    the first call takes over the reservation's row). Each call is a dict with `outcome` and
    optionally model, prompt_version, generator, tokens_in, tokens_out, cost_usd, latency_ms,
    questions_returned. No calls: the reservation is released."""
    if not calls:
        release(rt, reservation)
        return
    rows = [_row(reservation, c) for c in calls]
    with rt.session_factory.begin() as session:
        updated = affected_rows(
            session.execute(
                update(LLMUsage)
                .where(
                    LLMUsage.id == reservation.id,
                    LLMUsage.account_key == reservation.account_key,
                    LLMUsage.outcome == RESERVED,
                )
                .values(**rows[0], expires_at=None)
            )
        )
        # An expired reservation may have been swept already: the calls are still logged
        # (without the user id when the account was deleted meanwhile: the keys count them).
        rest = rows[1:] if updated else rows
        if rest:
            owner = session.scalar(
                select(User.id)
                .where(User.id == reservation.user_id)
                .with_for_update(key_share=True)
            )
            session.execute(
                insert(LLMUsage),
                [
                    dict(
                        r,
                        user_id=owner,
                        account_key=reservation.account_key,
                        address_key=reservation.address_key,
                        request_id=reservation.request_id,
                        task=reservation.task,
                    )
                    for r in rest
                ],
            )


def settle(
    rt: Runtime,
    reservation: Reservation,
    *,
    model: str | None,
    outcome: str,
    tokens_in: int = 0,
    tokens_out: int = 0,
    cost_usd: float = 0.0,
    latency_ms: int = 0,
    questions_returned: int = 0,
) -> None:
    """Turn the reservation into the usage-log row of the call it covered."""
    settle_calls(
        rt,
        reservation,
        [
            dict(
                model=model,
                outcome=outcome,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                cost_usd=cost_usd,
                latency_ms=latency_ms,
                questions_returned=questions_returned,
            )
        ],
    )


def release(rt: Runtime, reservation: Reservation) -> None:
    """Free a reservation whose call never happened."""
    with rt.session_factory.begin() as session:
        session.execute(
            delete(LLMUsage).where(
                LLMUsage.id == reservation.id,
                LLMUsage.account_key == reservation.account_key,
                LLMUsage.outcome == RESERVED,
            )
        )


def is_settled(rt: Runtime, reservation: Reservation) -> bool:
    """Whether the reservation's row was settled or released (no longer 'reserved')."""
    with rt.session_factory() as session:
        outcome = session.scalar(
            select(LLMUsage.outcome).where(
                LLMUsage.id == reservation.id, LLMUsage.account_key == reservation.account_key
            )
        )
    return outcome != RESERVED


@contextmanager
def reserved(
    rt: Runtime, *, user_id: int, task: str, units: int, limited: bool = True
) -> Iterator[Reservation]:
    """`reserve`, then release the reservation if the block raises before settling it."""
    reservation = reserve(rt, user_id=user_id, task=task, units=units, limited=limited)
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


def metered(rt: Runtime, *, user_id: int, task: str, call: Callable[[], C], units: int = 1) -> C:
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
            settle(
                rt,
                reservation,
                model=None,
                outcome=outcome_of(e),
                latency_ms=int((time.perf_counter() - started) * 1000),
            )
            raise
        settle(
            rt,
            reservation,
            model=result.model,
            outcome="ok",
            tokens_in=result.tokens_in,
            tokens_out=result.tokens_out,
            cost_usd=result.cost_usd,
            latency_ms=result.latency_ms,
        )
        return result


def forget_account(rt: Runtime, session: Session, *, user_id: int, email_normalized: str) -> None:
    """In the account's deletion transaction: delete its usage rows that no limit counts any
    more (older than a day, answered from the cache, offline) and keep the rest without the
    user id, under the account key (so a new account of the same email inherits the counts)."""
    now = session.execute(select(func.now())).scalar_one()
    session.execute(
        delete(LLMUsage).where(
            LLMUsage.user_id == user_id,
            or_(
                LLMUsage.created_at <= now - WINDOW,
                LLMUsage.generator != Generator.LLM,
                LLMUsage.outcome == "cached",
            ),
        )
    )
    session.execute(
        update(LLMUsage)
        .where(LLMUsage.user_id == user_id)
        .values(
            user_id=None,
            account_key=func.coalesce(LLMUsage.account_key, account_key(rt, email_normalized)),
        )
    )


def prune_forgotten(rt: Runtime) -> int:
    """Delete the kept rows of deleted accounts that no limit counts any more (older than a
    day); the nightly check calls it. Returns the number of rows deleted."""
    with rt.session_factory.begin() as session:
        return affected_rows(
            session.execute(
                delete(LLMUsage).where(
                    LLMUsage.user_id.is_(None), LLMUsage.created_at <= func.now() - WINDOW
                )
            )
        )
