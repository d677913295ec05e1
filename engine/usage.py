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
- generation, grading and tutor together, requests per day: `llm_max_requests_per_day`;
- hosted embeddings, texts per day: `hosted_embedding_max_texts_per_day` (`units` = texts);
- every learner signed in from one client address together, requests per hour:
  `llm_max_requests_per_address_per_hour`;
- the whole installation, model calls in flight at once: `llm_max_concurrent_calls`. A call
  that finds every slot taken waits (up to `llm_call_wait_s`, then LLMBusy); the slots are the
  live reservations, counted under one transaction lock, so app replicas and workers share them.

A learner's usage is counted by user id or by `account_key`, a keyed hash (HMAC-SHA256 with a
key derived from the server's cookie key) of the normalised email without a "+tag". Deleting
the account (`forget_account`) keeps the rows of the last day without the user id, so signing
up again with the same email starts from the same counts; the email itself is never stored
here. The client address is likewise stored only as a keyed hash (`address_key`).

An admin's run-time overrides (engine/server_settings.py; global or per learner) win.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from sqlalchemy import and_, case, delete, func, insert, or_, select, text as sql_text, update
from sqlalchemy.orm import Session

from engine.config import Settings
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

if TYPE_CHECKING:
    import numpy as np

    from engine.llm import Embeddings
    from engine.retrieval.embeddings import Embedder

GENERATION = "generation"
GRADING = "grading"
TUTOR = "tutor"
EMBEDDING = "embedding"
TASKS = (GENERATION, GRADING, TUTOR, EMBEDDING)
# The tasks whose requests the hourly, daily and per-address request limits count.
CHAT_TASKS = (GENERATION, GRADING, TUTOR)

RESERVED = "reserved"
# The longest limit window: older rows of a deleted account no longer count for anything.
WINDOW = dt.timedelta(days=1)
# The first keys of the two-key advisory locks (this module's lock spaces): a learner's
# account key, a client address key, the system-wide slots.
_LOCK_ACCOUNT = 7_301
_LOCK_ADDRESS = 7_302
_LOCK_SLOTS = 7_303
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


@dataclass(frozen=True)
class Reservation:
    """A reserved model request: the `llm_usage` row holding it and the request id that the
    request's usage-log rows share."""

    id: int
    user_id: int
    task: str
    units: int
    request_id: str
    # Whose limits it counts against (see `account_key`, `address_key`).
    account_key: str
    address_key: str | None


def _server_key(rt: Runtime) -> bytes:
    if not rt.cookie_key:
        raise ValueError("the runtime has no server key (cookie_key) to key usage with")
    return hmac.new(
        rt.cookie_key.encode(), b"groundwork llm-usage keys v1", hashlib.sha256
    ).digest()


def account_key(rt: Runtime, email_normalized: str) -> str:
    """The keyed hash that counts a learner's usage across accounts of one mailbox: the
    normalised email without a "+tag" in its local part."""
    local, at, domain = email_normalized.rpartition("@")
    mailbox = f"{local.split('+', 1)[0]}{at}{domain}" if at else email_normalized
    return hmac.new(_server_key(rt), f"email:{mailbox}".encode(), hashlib.sha256).hexdigest()


def address_key(rt: Runtime, address: str) -> str:
    """The keyed hash of a client address (the address itself is never stored here)."""
    return hmac.new(_server_key(rt), f"address:{address}".encode(), hashlib.sha256).hexdigest()


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


def _live(now: dt.datetime) -> Any:
    """Rows that count: model calls that were not answered from the cache, and reservations
    that have not expired."""
    return and_(
        LLMUsage.generator == Generator.LLM,
        LLMUsage.outcome != "cached",
        or_(LLMUsage.outcome != RESERVED, LLMUsage.expires_at > now),
    )


def _mine(reservation: Reservation) -> Any:
    """The learner's rows: by account, and by key for rows kept from a deleted account."""
    return or_(
        LLMUsage.user_id == reservation.user_id, LLMUsage.account_key == reservation.account_key
    )


def _requests_since(
    session: Session, who: Any, since: dt.datetime, now: dt.datetime, task: str | None
) -> list[dt.datetime]:
    """When each request of `who` in the window started, oldest first (`task` None: every
    chat task)."""
    where = [who, LLMUsage.created_at > since, _live(now)]
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
            .where(who, LLMUsage.task == task, LLMUsage.created_at > now - WINDOW, _live(now))
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


def _slot_free(session: Session, now: dt.datetime, settings: Settings) -> bool:
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


def _try_reserve(
    rt: Runtime, session: Session, *, user_id: int, task: str, units: int, limited: bool
) -> Reservation | None:
    """One attempt: the reservation, None when every call slot is taken, or RateLimited."""
    settings = rt.settings
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
    # One learner's reservations are decided one at a time (by account key, so a deleted
    # account's rows and a new account of the same email are one learner), then one address's;
    # others are not held up. Always in this order: no two reservations wait in a cycle.
    session.execute(
        sql_text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
        {"space": _LOCK_ACCOUNT, "key": key},
    )
    if address is not None:
        session.execute(
            sql_text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
            {"space": _LOCK_ADDRESS, "key": address},
        )
    now = session.execute(select(func.now())).scalar_one()
    # Limits an admin changed at run time (globally or for this learner) win.
    settings = with_usage_overrides(session, settings, user_id)
    session.execute(
        delete(LLMUsage).where(
            _mine(draft), LLMUsage.outcome == RESERVED, LLMUsage.expires_at <= now
        )
    )
    if limited and task == EMBEDDING:
        _check_texts(session, _mine(draft), units, now, settings)
    elif limited:
        _check_requests(session, _mine(draft), task, now, settings)
        if task == GENERATION:
            _check_questions(session, _mine(draft), units, now, settings)
        _check_address(session, address, now, settings)
    if not _slot_free(session, now, settings):
        return None
    row_id = session.execute(
        insert(LLMUsage)
        .values(
            user_id=user_id,
            account_key=key,
            address_key=address,
            request_id=draft.request_id,
            task=task,
            generator=Generator.LLM,
            outcome=RESERVED,
            units=units,
            expires_at=now + dt.timedelta(seconds=settings.usage.llm_reservation_ttl_s),
        )
        .returning(LLMUsage.id)
    ).scalar_one()
    return Reservation(
        id=row_id,
        user_id=user_id,
        task=task,
        units=units,
        request_id=draft.request_id,
        account_key=key,
        address_key=address,
    )


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


class _HostedEmbedder(Protocol):
    """An embedder that reports each provider call's usage (`HostedEmbedder`)."""

    model_name: str

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_with_usage(self, texts: list[str]) -> tuple[np.ndarray, Embeddings | None]: ...


class MeteredEmbedder:
    """A hosted embedding model used for one learner: every call is reserved against their
    limits (and the system-wide cap) and logged in `llm_usage` as task 'embedding'. Not
    `limited`: logged with its tokens and cost, but its texts do not count (see `reserve`)."""

    def __init__(
        self, rt: Runtime, hosted: _HostedEmbedder, *, user_id: int, limited: bool = True
    ) -> None:
        self._rt, self._hosted, self._user_id = rt, hosted, user_id
        self._limited = limited
        self.model_name = hosted.model_name

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return self._hosted.embed_documents(texts)
        rt = self._rt
        units = len(texts) if self._limited else 0
        with reserved(
            rt, user_id=self._user_id, task=EMBEDDING, units=units, limited=self._limited
        ) as reservation:
            started = time.perf_counter()
            try:
                vectors, used = self._hosted.embed_with_usage(texts)
            except EngineError as e:
                settle_calls(
                    rt,
                    reservation,
                    [
                        dict(
                            model=self.model_name,
                            outcome=outcome_of(e),
                            units=units,
                            latency_ms=int((time.perf_counter() - started) * 1000),
                        )
                    ],
                )
                raise
            settle_calls(
                rt,
                reservation,
                [
                    dict(
                        model=used.model if used else self.model_name,
                        outcome="ok",
                        units=units,
                        tokens_in=used.tokens_in if used else 0,
                        cost_usd=used.cost_usd if used else 0.0,
                        latency_ms=used.latency_ms if used else 0,
                    )
                ],
            )
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def embedder_for(rt: Runtime, *, user_id: int, limited: bool = True) -> Embedder:
    """The runtime's embedder for work done for this learner: a hosted model (one that
    reports its calls' usage) is metered against the learner's limits (`limited` False: see
    `reserve`); the bundled local model is used as it is."""
    embedder = rt.embedder
    if hasattr(embedder, "embed_with_usage"):
        hosted = cast(_HostedEmbedder, embedder)  # what the check above established
        return MeteredEmbedder(rt, hosted, user_id=user_id, limited=limited)
    return embedder


__all__ = [
    "CHAT_TASKS",
    "EMBEDDING",
    "GENERATION",
    "GRADING",
    "TASKS",
    "TUTOR",
    "MeteredEmbedder",
    "Reservation",
    "account_key",
    "address_key",
    "embedder_for",
    "fmt_wait",
    "forget_account",
    "is_settled",
    "metered",
    "outcome_of",
    "prune_forgotten",
    "release",
    "reserve",
    "reserved",
    "settle",
    "settle_calls",
]
