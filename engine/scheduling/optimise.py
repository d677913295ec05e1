"""Per-learner FSRS-6 parameters, adopted only when they predict that learner better.

The rule: with at least `min_reviews` reviews (default 400, see `Settings`), the history is
split by time; FSRS-6 parameters are fitted with the `fsrs` package's optimiser on the earlier
part and compared with the learner's current parameters on the held-back later part (log loss
of predicted recall, both replayed over the whole history). The fitted parameters are adopted
only when they are better there. Optimising does not always help one learner (on a real Anki
log the default and optimised parameters score the same), so "optimise" never means "replace".
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.scheduling import fsrs6
from engine.scheduling.evaluate import log_loss
from engine.scheduling.replay import Review, replay_fsrs, sorted_reviews

# Fewer scored reviews than this in the held-back part cannot tell two parameter sets apart.
MIN_HOLDOUT_SCORED = 30

Fitter = Callable[[Sequence[Review]], Sequence[float]]


@dataclass(frozen=True)
class OptimisationResult:
    adopted: bool
    parameters: tuple[float, ...]  # what to use from now on
    candidate: tuple[float, ...] | None
    current_log_loss: float | None
    candidate_log_loss: float | None
    n_reviews: int
    n_holdout_scored: int
    message: str


def fit_parameters(reviews: Sequence[Review]) -> tuple[float, ...]:
    """FSRS-6 parameters fitted to `reviews` by the `fsrs` package's optimiser (needs torch)."""
    from fsrs import Rating, ReviewLog
    from fsrs.optimizer import Optimizer

    logs = [
        ReviewLog(
            card_id=r.card_id,
            rating=Rating(r.rating),
            review_datetime=r.reviewed_at.astimezone(dt.UTC),
            review_duration=None,
        )
        for r in reviews
    ]
    return tuple(float(p) for p in Optimizer(logs).compute_optimal_parameters())


def choose_parameters(
    history: Sequence[Review],
    *,
    current: Sequence[float] = fsrs6.DEFAULT_FSRS_PARAMETERS,
    min_reviews: int = 400,
    holdout_fraction: float = 0.2,
    fit: Fitter = fit_parameters,
    base: fsrs6.FSRSParams | None = None,
) -> OptimisationResult:
    """Fit FSRS-6 to the earlier part of `history` and adopt it only if it wins on the rest.

    Args:
        history: the learner's reviews (any order).
        current: the parameters in use now.
        min_reviews: below this many reviews nothing is fitted.
        holdout_fraction: the later share of reviews (by time) held back for the comparison.
        fit: the fitting function (the `fsrs` optimiser by default).
        base: the other scheduler settings (retention, steps) to replay with.

    Raises:
        ValueError: bad arguments.
    """
    if not 0 < holdout_fraction < 1:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {holdout_fraction}")
    if min_reviews < 1:
        raise ValueError(f"min_reviews must be >= 1, got {min_reviews}")
    current = tuple(float(p) for p in current)
    reviews = sorted_reviews(history)
    n = len(reviews)
    if n < min_reviews:
        return OptimisationResult(
            False,
            current,
            None,
            None,
            None,
            n,
            0,
            f"{n} reviews so far; personal FSRS parameters are fitted "
            f"from {min_reviews} reviews on.",
        )
    cut = int(n * (1 - holdout_fraction))
    score = _scorer(reviews, reviews[cut].reviewed_at, base or fsrs6.DEFAULT_PARAMS)
    current_loss, scored = score(current)
    if scored < MIN_HOLDOUT_SCORED:
        return OptimisationResult(
            False,
            current,
            None,
            current_loss if scored else None,
            None,
            n,
            scored,
            f"Only {scored} held-back reviews came a day or more after "
            "the previous one; keeping the current parameters.",
        )
    candidate = tuple(float(p) for p in fit(reviews[:cut]))
    candidate_loss, _ = score(candidate)
    return _decide(current, candidate, current_loss, candidate_loss, n=n, cut=cut, scored=scored)


def _scorer(
    reviews: Sequence[Review], score_from: dt.datetime, base: fsrs6.FSRSParams
) -> Callable[[tuple[float, ...]], tuple[float, int]]:
    """Log loss of FSRS with given weights on the reviews from `score_from` on (replayed over
    the whole history), and how many reviews were scored."""

    def score(params: tuple[float, ...]) -> tuple[float, int]:
        p = replay_fsrs(
            reviews,
            score_from=score_from,
            params=fsrs6.FSRSParams(**{**base.__dict__, "parameters": params}),
        )
        if not p.predicted:
            return math.nan, 0
        return log_loss(p.predicted, p.recalled), len(p.predicted)

    return score


def _decide(
    current: tuple[float, ...],
    candidate: tuple[float, ...],
    current_loss: float,
    candidate_loss: float,
    *,
    n: int,
    cut: int,
    scored: int,
) -> OptimisationResult:
    """Adopt the candidate only when its held-back log loss is lower."""
    adopted = candidate_loss < current_loss
    verdict = (
        "adopted: they predict your recent reviews better"
        if adopted
        else "kept the current parameters: the fitted ones were no better"
    )
    return OptimisationResult(
        adopted=adopted,
        parameters=candidate if adopted else current,
        candidate=candidate,
        current_log_loss=current_loss,
        candidate_log_loss=candidate_loss,
        n_reviews=n,
        n_holdout_scored=scored,
        message=f"Fitted on {cut} reviews, compared on {scored} later ones (log loss "
        f"{candidate_loss:.3f} fitted vs {current_loss:.3f} current); {verdict}.",
    )
