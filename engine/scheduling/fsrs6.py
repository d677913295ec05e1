"""FSRS-6 through the maintained `fsrs` package, behind the same interface as `sm2.review`.

`review(state, rating, *, reviewed_at, params=None) -> FSRSState`: `state` is None for a new
card; the rating is FSRS's 1 Again, 2 Hard, 3 Good, 4 Easy. The package does the arithmetic;
this module only converts our frozen state to its `Card` and back, so FSRS results here are
the package's results.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fsrs import Card, Rating, Scheduler, State
from fsrs.scheduler import DEFAULT_PARAMETERS

DEFAULT_FSRS_PARAMETERS: tuple[float, ...] = tuple(DEFAULT_PARAMETERS)


@dataclass(frozen=True)
class FSRSParams:
    parameters: tuple[float, ...] = DEFAULT_FSRS_PARAMETERS
    desired_retention: float = 0.9
    learning_steps_min: tuple[float, ...] = (1.0, 10.0)
    relearning_steps_min: tuple[float, ...] = (10.0,)
    maximum_interval_days: int = 36500
    # Off by default so the same history always gives the same schedule.
    enable_fuzzing: bool = False

    def problems(self) -> list[str]:
        out: list[str] = []
        if len(self.parameters) != len(DEFAULT_FSRS_PARAMETERS):
            out.append(
                f"FSRS-6 needs {len(DEFAULT_FSRS_PARAMETERS)} parameters, got "
                f"{len(self.parameters)}"
            )
        if not 0.5 <= self.desired_retention < 1:
            out.append(f"desired_retention must be in [0.5, 1), got {self.desired_retention}")
        if any(s <= 0 for s in (*self.learning_steps_min, *self.relearning_steps_min)):
            out.append("learning and relearning steps must be positive minutes")
        if self.maximum_interval_days < 1:
            out.append(f"maximum_interval_days must be >= 1, got {self.maximum_interval_days}")
        return out


DEFAULT_PARAMS = FSRSParams()


@dataclass(frozen=True)
class FSRSState:
    """A card's FSRS state: the package's Card fields we keep."""

    state: int  # fsrs.State: 1 Learning, 2 Review, 3 Relearning
    step: int | None
    stability: float | None
    difficulty: float | None
    due_at: dt.datetime
    last_reviewed_at: dt.datetime | None = field(default=None)


def scheduler_for(params: FSRSParams) -> Scheduler:
    """The package's scheduler for these parameters.

    Raises:
        ValueError: every problem with the parameters, in one message.
    """
    problems = params.problems()
    if problems:
        raise ValueError("; ".join(problems))
    return Scheduler(
        parameters=params.parameters,
        desired_retention=params.desired_retention,
        learning_steps=tuple(dt.timedelta(minutes=m) for m in params.learning_steps_min),
        relearning_steps=tuple(dt.timedelta(minutes=m) for m in params.relearning_steps_min),
        maximum_interval=params.maximum_interval_days,
        enable_fuzzing=params.enable_fuzzing,
    )


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def to_card(state: FSRSState | None, *, now: dt.datetime) -> Card:
    if state is None:
        return Card(card_id=0, state=State.Learning, due=_utc(now))
    return Card(
        card_id=0,
        state=State(state.state),
        step=state.step,
        stability=state.stability,
        difficulty=state.difficulty,
        due=_utc(state.due_at),
        last_review=_utc(state.last_reviewed_at) if state.last_reviewed_at else None,
    )


def from_card(card: Card) -> FSRSState:
    return FSRSState(
        state=int(card.state),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due_at=card.due,
        last_reviewed_at=card.last_review,
    )


def _validate(state: FSRSState | None, rating: object, reviewed_at: object) -> list[str]:
    problems: list[str] = []
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 4:
        problems.append(f"rating must be an integer 1-4, got {rating!r}")
    if (
        not isinstance(reviewed_at, dt.datetime)
        or reviewed_at.tzinfo is None
        or reviewed_at.utcoffset() is None
    ):
        problems.append("reviewed_at must be a timezone-aware datetime")
    if state is not None:
        if state.state not in (1, 2, 3):
            problems.append(f"state must be 1, 2 or 3, got {state.state!r}")
        if state.state in (2, 3) and (state.stability is None or state.difficulty is None):
            problems.append("a reviewed card needs stability and difficulty")
    return problems


def review(
    state: FSRSState | None,
    rating: int,
    *,
    reviewed_at: dt.datetime,
    params: FSRSParams | None = None,
    scheduler: Scheduler | None = None,
) -> FSRSState:
    """Apply one review with the `fsrs` package and return the new state.

    Args:
        state: the card's state, or None for a new card.
        rating: 1 Again, 2 Hard, 3 Good, 4 Easy.
        reviewed_at: when the review happened; timezone-aware (converted to UTC).
        params: parameters; the package defaults when None.
        scheduler: a prebuilt `scheduler_for(params)` to reuse across many reviews.

    Raises:
        ValueError: every problem with the input, in one message.
    """
    problems = _validate(state, rating, reviewed_at)
    if problems:
        raise ValueError("; ".join(problems))
    sched = scheduler or scheduler_for(params or DEFAULT_PARAMS)
    card, _log = sched.review_card(
        to_card(state, now=reviewed_at), Rating(rating), _utc(reviewed_at)
    )
    return from_card(card)


def predicted_recall(
    state: FSRSState,
    *,
    at: dt.datetime,
    params: FSRSParams | None = None,
    scheduler: Scheduler | None = None,
) -> float:
    """FSRS retrievability of the card at `at` (the package's own formula)."""
    sched = scheduler or scheduler_for(params or DEFAULT_PARAMS)
    return float(sched.get_card_retrievability(to_card(state, now=at), _utc(at)))
