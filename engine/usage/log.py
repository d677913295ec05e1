"""The usage log's vocabulary: task names, reservations, and the keyed hashes that count a
learner's (and a client address's) rows; the row filters every limit counts with."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_

from engine.db.models import LLMUsage
from engine.domain.vocabulary import Generator
from engine.runtime import Runtime

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


def live(now: dt.datetime) -> Any:
    """Rows that count: model calls that were not answered from the cache, and reservations
    that have not expired."""
    return and_(
        LLMUsage.generator == Generator.LLM,
        LLMUsage.outcome != "cached",
        or_(LLMUsage.outcome != RESERVED, LLMUsage.expires_at > now),
    )


def mine(reservation: Reservation) -> Any:
    """The learner's rows: by account, and by key for rows kept from a deleted account."""
    return or_(
        LLMUsage.user_id == reservation.user_id, LLMUsage.account_key == reservation.account_key
    )
