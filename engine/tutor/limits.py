"""The learner's limits and usage log for tutor model calls, through `engine.usage`: a call is
reserved before it is made (so concurrent turns cannot overrun the limit), then settled with
what it cost, or released when no call was made. Every tutor call site goes through these
three functions."""

from __future__ import annotations

from engine import usage
from engine.errors import EngineError
from engine.runtime import Runtime
from engine.usage import Reservation

TASK = usage.TUTOR


def reserve_call(rt: Runtime, *, user_id: int) -> Reservation:
    """Reserve one tutor model call for the learner.

    Raises:
        RateLimited: a limit is used up (`retry_after_s` set); nothing may be sent.
    """
    return usage.reserve(rt, user_id=user_id, task=TASK, units=1)


def settle_call(
    rt: Runtime,
    reservation: Reservation,
    *,
    model: str,
    outcome: str,
    prompt_version: str | None = None,
    tokens_in: int = 0,
    tokens_out: int = 0,
    cost_usd: float = 0.0,
    latency_ms: int = 0,
) -> None:
    """Record what the reserved call cost and how it ended ('ok', 'unavailable', ...)."""
    usage.settle_calls(
        rt,
        reservation,
        [
            {
                "model": model or None,
                "outcome": outcome,
                "prompt_version": prompt_version,
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "cost_usd": cost_usd,
                "latency_ms": latency_ms,
            }
        ],
    )


def failure_outcome(e: BaseException) -> str:
    """The usage-log outcome of a call that failed (or was abandoned) with `e`."""
    if isinstance(e, EngineError):
        return usage.outcome_of(e)
    return "aborted" if isinstance(e, GeneratorExit) else "invalid"
