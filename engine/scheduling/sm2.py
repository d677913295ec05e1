"""SM-2 exactly as published (Wozniak 1990; Wikipedia "SuperMemo", algorithm SM-2).

For a review with quality q (0-5):

* q >= 3 (a pass): the interval is 1 day if n = 0, 6 days if n = 1, else round(I x EF) with
  the easiness factor from *before* this review's update and halves rounded up; then n += 1.
* q < 3 (a lapse): n = 0 and the interval is 1 day.
* Always: EF += 0.1 - (5 - q)(0.08 + (5 - q) 0.02), clamped to at least 1.3 (and at most an
  optional maximum, off by default). A new card starts at EF 2.5.

Every constant is a field of `SM2Params`, so they are settings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# Easiness values are sums of multiples of 0.02; rounding each one to this many places keeps
# them exact in binary floating point, so `round(I x EF)` never lands on x.4999999.
_EF_PLACES = 6


@dataclass(frozen=True)
class SM2Params:
    initial_easiness: float = 2.5
    min_easiness: float = 1.3
    max_easiness: float | None = None
    first_interval_days: int = 1
    second_interval_days: int = 6
    pass_quality: int = 3
    # Longest interval ever scheduled (Anki's default maximum interval); without a cap, a
    # question answered correctly many times in a row grows past any representable date.
    max_interval_days: int = 36500

    def problems(self) -> list[str]:
        out: list[str] = []
        if self.min_easiness <= 0:
            out.append(f"min_easiness must be positive, got {self.min_easiness}")
        if self.max_easiness is not None and self.max_easiness < self.min_easiness:
            out.append(
                f"max_easiness {self.max_easiness} is below min_easiness {self.min_easiness}"
            )
        if self.initial_easiness < self.min_easiness or (
            self.max_easiness is not None and self.initial_easiness > self.max_easiness
        ):
            out.append(f"initial_easiness {self.initial_easiness} is outside the easiness range")
        if self.first_interval_days < 1:
            out.append(f"first_interval_days must be >= 1, got {self.first_interval_days}")
        if self.second_interval_days < 1:
            out.append(f"second_interval_days must be >= 1, got {self.second_interval_days}")
        if self.max_interval_days < max(self.first_interval_days, self.second_interval_days):
            out.append(f"max_interval_days {self.max_interval_days} is below the first intervals")
        if not 1 <= self.pass_quality <= 5:
            out.append(f"pass_quality must be 1-5, got {self.pass_quality}")
        return out


DEFAULT_PARAMS = SM2Params()


@dataclass(frozen=True)
class SM2State:
    """A card's SM-2 state after its latest review."""

    repetitions: int
    interval_days: int
    easiness: float
    due_at: dt.datetime


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def next_interval(
    repetitions: int, interval_days: int, easiness: float, params: SM2Params = DEFAULT_PARAMS
) -> int:
    """The interval after a passing review of a card with `repetitions` passes in a row."""
    if repetitions == 0:
        return params.first_interval_days
    if repetitions == 1:
        return params.second_interval_days
    product = Decimal(str(interval_days)) * Decimal(repr(easiness))
    return max(1, int(product.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def next_easiness(easiness: float, quality: int, params: SM2Params = DEFAULT_PARAMS) -> float:
    """EF' = EF + 0.1 - (5-q)(0.08 + (5-q) 0.02), clamped to [min, max]."""
    d = 5 - quality
    ef = round(easiness + 0.1 - d * (0.08 + d * 0.02), _EF_PLACES)
    ef = max(params.min_easiness, ef)
    if params.max_easiness is not None:
        ef = min(params.max_easiness, ef)
    return ef


def _review_problems(
    state: SM2State | None, quality: int, reviewed_at: dt.datetime, params: SM2Params
) -> list[str]:
    """Everything wrong with a review's input (empty when it is fine)."""
    problems = params.problems()
    if not _is_int(quality) or not 0 <= quality <= 5:
        problems.append(f"quality must be an integer 0-5, got {quality!r}")
    if (
        not isinstance(reviewed_at, dt.datetime)
        or reviewed_at.tzinfo is None
        or reviewed_at.utcoffset() is None
    ):
        problems.append("reviewed_at must be a timezone-aware datetime")
    if state is not None:
        if not _is_int(state.repetitions) or state.repetitions < 0:
            problems.append(
                f"repetitions must be a non-negative integer, got {state.repetitions!r}"
            )
        if not _is_int(state.interval_days) or state.interval_days < 0:
            problems.append(
                f"interval_days must be a non-negative integer, got {state.interval_days!r}"
            )
        if (
            not isinstance(state.easiness, (int, float))
            or isinstance(state.easiness, bool)
            or not state.easiness >= params.min_easiness
        ):
            problems.append(
                f"easiness must be a number >= {params.min_easiness}, got {state.easiness!r}"
            )
    return problems


def review(
    state: SM2State | None,
    quality: int,
    *,
    reviewed_at: dt.datetime,
    params: SM2Params | None = None,
) -> SM2State:
    """Apply one review and return the new state (the input is not changed).

    Args:
        state: the card's state, or None for a card never reviewed.
        quality: SM-2 response quality, an int 0-5.
        reviewed_at: when the review happened; must be timezone-aware.
        params: constants; `SM2Params()` (the published values) when None.

    Returns:
        The new state; `due_at` is `reviewed_at` plus the new interval in days.

    Raises:
        ValueError: every problem with the input, in one message.
    """
    params = params or DEFAULT_PARAMS
    problems = _review_problems(state, quality, reviewed_at, params)
    if problems:
        raise ValueError("; ".join(problems))

    if state is None:
        repetitions, interval, easiness = 0, 0, params.initial_easiness
    else:
        repetitions, interval, easiness = (
            state.repetitions,
            state.interval_days,
            float(state.easiness),
        )

    if quality >= params.pass_quality:
        interval = min(
            next_interval(repetitions, interval, easiness, params), params.max_interval_days
        )
        repetitions += 1
    else:
        repetitions = 0
        interval = params.first_interval_days
    easiness = next_easiness(easiness, quality, params)
    return SM2State(
        repetitions=repetitions,
        interval_days=interval,
        easiness=easiness,
        due_at=reviewed_at + dt.timedelta(days=interval),
    )


def predicted_recall(state: SM2State, *, at: dt.datetime, last_reviewed_at: dt.datetime) -> float:
    """Probability of recall at `at`, as srs-benchmark adapts SM-2: 0.9 ** (t / I).

    t is the time since the last review in (fractional) days and I the scheduled interval:
    recall is 90% when the card is reviewed exactly when due, as SM-2's schedule intends.
    """
    t = max(0.0, (at - last_reviewed_at).total_seconds() / 86400)
    return 0.9 ** (t / max(1, state.interval_days))
