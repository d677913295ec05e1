"""Replay a review history in time order with a scheduler and collect its recall predictions.

A prediction is scored only for a review made at least one whole day after the card's previous
review (same-day repeats say little about memory), as srs-benchmark and the `fsrs` optimiser do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.scheduling import fsrs6, sm2

# Anki-style ratings as SM-2 qualities: Again 1, Hard 3, Good 4, Easy 5.
QUALITY_FOR_RATING = {1: 1, 2: 3, 3: 4, 4: 5}


@dataclass(frozen=True)
class Review:
    card_id: int
    rating: int  # 1 Again .. 4 Easy
    reviewed_at: dt.datetime
    quality: int | None = None  # SM-2 quality when known; else from the rating


@dataclass(frozen=True)
class Predictions:
    predicted: list[float]
    recalled: list[int]


def sorted_reviews(reviews: Iterable[Review]) -> list[Review]:
    return sorted(reviews, key=lambda r: (r.reviewed_at, r.card_id))


def replay_sm2(
    reviews: Sequence[Review],
    *,
    score_from: dt.datetime | None = None,
    params: sm2.SM2Params | None = None,
) -> Predictions:
    """SM-2 predictions 0.9 ** (t / I) for scored reviews at or after `score_from`."""
    states: dict[int, tuple[sm2.SM2State, dt.datetime]] = {}
    out = Predictions([], [])
    for r in sorted_reviews(reviews):
        prev = states.get(r.card_id)
        if (
            prev is not None
            and (r.reviewed_at - prev[1]).days >= 1
            and (score_from is None or r.reviewed_at >= score_from)
        ):
            out.predicted.append(
                sm2.predicted_recall(prev[0], at=r.reviewed_at, last_reviewed_at=prev[1])
            )
            out.recalled.append(int(r.rating > 1))
        quality = r.quality if r.quality is not None else QUALITY_FOR_RATING[r.rating]
        new = sm2.review(
            prev[0] if prev else None, quality, reviewed_at=r.reviewed_at, params=params
        )
        states[r.card_id] = (new, r.reviewed_at)
    return out


def replay_fsrs(
    reviews: Sequence[Review],
    *,
    score_from: dt.datetime | None = None,
    params: fsrs6.FSRSParams | None = None,
) -> Predictions:
    """FSRS retrievability predictions for scored reviews at or after `score_from`."""
    sched = fsrs6.scheduler_for(params or fsrs6.DEFAULT_PARAMS)
    states: dict[int, fsrs6.FSRSState] = {}
    out = Predictions([], [])
    for r in sorted_reviews(reviews):
        prev = states.get(r.card_id)
        if (
            prev is not None
            and prev.last_reviewed_at is not None
            and (r.reviewed_at - prev.last_reviewed_at).days >= 1
            and (score_from is None or r.reviewed_at >= score_from)
        ):
            out.predicted.append(fsrs6.predicted_recall(prev, at=r.reviewed_at, scheduler=sched))
            out.recalled.append(int(r.rating > 1))
        states[r.card_id] = fsrs6.review(prev, r.rating, reviewed_at=r.reviewed_at, scheduler=sched)
    return out
