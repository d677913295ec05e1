"""FSRS-6 wiring: our interface gives exactly the `fsrs` package's results; evaluation metrics;
per-learner optimisation is adopted only when it wins on held-back history."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from fsrs import Card, Rating, Scheduler

from engine.scheduling import evaluate, fsrs6
from engine.scheduling.optimise import choose_parameters
from engine.scheduling.replay import Review, replay_fsrs, replay_sm2

T0 = dt.datetime(2026, 2, 1, 8, 0, tzinfo=dt.UTC)


def package_sequence(ratings, gaps_h):
    sched = Scheduler(enable_fuzzing=False)
    card, at, out = Card(), T0, []
    for rating, gap in zip(ratings, gaps_h, strict=True):
        at = at + dt.timedelta(hours=gap)
        card, _ = sched.review_card(card, Rating(rating), at)
        out.append((int(card.state), card.step, card.stability, card.difficulty, card.due))
    return out


def our_sequence(ratings, gaps_h, params=None):
    state, at, out = None, T0, []
    for rating, gap in zip(ratings, gaps_h, strict=True):
        at = at + dt.timedelta(hours=gap)
        state = fsrs6.review(state, rating, reviewed_at=at, params=params)
        out.append((state.state, state.step, state.stability, state.difficulty, state.due_at))
    return out


@pytest.mark.parametrize(
    ("ratings", "gaps_h"),
    [
        ([3, 3, 3, 3, 3, 3], [0, 0.2, 24, 72, 240, 600]),
        ([1, 3, 3, 1, 3, 4, 2], [0, 0.1, 0.3, 48, 0.2, 30, 200]),
        ([4, 4, 4, 4], [0, 100, 400, 1500]),
        ([2, 2, 1, 1, 3], [0, 0.05, 0.5, 24, 24]),
    ],
)
def test_matches_the_fsrs_package_review_by_review(ratings, gaps_h):
    assert our_sequence(ratings, gaps_h) == package_sequence(ratings, gaps_h)


def test_package_reference_intervals_for_all_good():
    # py-fsrs's own test: a new card rated Good repeatedly, each review on its due date.
    state, at, intervals = None, dt.datetime(2022, 11, 29, 12, 30, tzinfo=dt.UTC), []
    for rating in [3, 3, 3, 3, 3, 3, 1, 1, 3, 3, 3, 3, 3]:
        state = fsrs6.review(state, rating, reviewed_at=at)
        intervals.append((state.due_at - at).days)
        at = state.due_at
    assert intervals == package_intervals()


def package_intervals():
    sched = Scheduler(enable_fuzzing=False)
    card, at, out = Card(), dt.datetime(2022, 11, 29, 12, 30, tzinfo=dt.UTC), []
    for r in [3, 3, 3, 3, 3, 3, 1, 1, 3, 3, 3, 3, 3]:
        card, _ = sched.review_card(card, Rating(r), at)
        out.append((card.due - at).days)
        at = card.due
    return out


def test_non_utc_time_zones_are_converted():
    tz = dt.timezone(dt.timedelta(hours=-5))
    a = fsrs6.review(None, 3, reviewed_at=T0.astimezone(tz))
    b = fsrs6.review(None, 3, reviewed_at=T0)
    assert a == b


def test_custom_parameters_change_the_schedule():
    params = fsrs6.FSRSParams(
        parameters=(5.0, *fsrs6.DEFAULT_FSRS_PARAMETERS[1:]), learning_steps_min=()
    )
    state = fsrs6.review(None, 1, reviewed_at=T0, params=params)
    default = fsrs6.review(None, 1, reviewed_at=T0, params=fsrs6.FSRSParams(learning_steps_min=()))
    assert state.stability == 5.0 and default.stability == pytest.approx(0.212)


@pytest.mark.parametrize(
    ("state", "rating", "at", "fragment"),
    [
        (None, 0, T0, "rating"),
        (None, 5, T0, "rating"),
        (None, 3, dt.datetime(2026, 1, 1), "timezone-aware"),
        (fsrs6.FSRSState(2, None, None, None, T0), 3, T0, "stability"),
    ],
)
def test_invalid_input_raises_value_error(state, rating, at, fragment):
    with pytest.raises(ValueError, match=fragment):
        fsrs6.review(state, rating, reviewed_at=at)


def test_invalid_parameters_are_reported_together():
    with pytest.raises(ValueError) as e:
        fsrs6.scheduler_for(fsrs6.FSRSParams(parameters=(1.0,), desired_retention=1.5))
    assert "21 parameters" in str(e.value) and "desired_retention" in str(e.value)


def test_retrievability_is_the_package_value():
    state = fsrs6.review(None, 4, reviewed_at=T0)
    later = T0 + dt.timedelta(days=10)
    expected = Scheduler().get_card_retrievability(fsrs6.to_card(state, now=later), later)
    assert fsrs6.predicted_recall(state, at=later) == pytest.approx(expected)
    assert 0 < expected < 1


# --- evaluation -------------------------------------------------------------------------------


def test_metrics_on_known_values():
    assert evaluate.log_loss([0.9, 0.2], [1, 0]) == pytest.approx(
        -(__import__("math").log(0.9) + __import__("math").log(0.8)) / 2
    )
    assert evaluate.auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert evaluate.auc([0.5, 0.5], [0, 1]) == pytest.approx(0.5)
    # One bin per prediction here: RMSE is the root mean squared miss.
    assert evaluate.rmse_bins([0.05, 0.95], [0, 1], bins=20) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        evaluate.log_loss([], [])


def synthetic_history(n_cards=60, days=120, seed=7, stability_scale=1.0):
    """Reviews of a learner whose true forgetting is exponential with known stability."""
    rng = random.Random(seed)
    reviews = []
    for card in range(n_cards):
        at = T0 + dt.timedelta(hours=rng.uniform(0, 48))
        stability = stability_scale * rng.uniform(1, 4)
        last = None
        while at < T0 + dt.timedelta(days=days):
            recalled = last is None or rng.random() < 0.9 ** ((at - last).days / stability)
            rating = 3 if recalled else 1
            reviews.append(Review(card_id=card, rating=rating, reviewed_at=at))
            stability = stability * 2.2 if recalled else max(1, stability / 2)
            last = at
            at = at + dt.timedelta(
                days=max(1, round(stability * rng.uniform(0.5, 1.5))), hours=rng.uniform(-3, 3)
            )
    return reviews


def test_replays_predict_only_reviews_a_day_or_more_apart():
    day = dt.timedelta(days=1)
    reviews = [
        Review(1, 3, T0),
        Review(1, 3, T0 + dt.timedelta(hours=2)),
        Review(1, 1, T0 + 3 * day),
        Review(2, 3, T0 + day),
    ]
    assert replay_sm2(reviews).recalled == [0]
    assert replay_fsrs(reviews).recalled == [0]
    assert replay_sm2(reviews, score_from=T0 + 4 * day).predicted == []


def test_too_little_history_keeps_current_parameters_without_fitting():
    calls = []
    result = choose_parameters(
        synthetic_history(n_cards=5, days=20),
        min_reviews=400,
        fit=lambda r: calls.append(r) or fsrs6.DEFAULT_FSRS_PARAMETERS,
    )
    assert not result.adopted and calls == []
    assert result.parameters == fsrs6.DEFAULT_FSRS_PARAMETERS
    assert "400 reviews" in result.message


def test_fitted_parameters_are_adopted_only_when_they_win_on_held_back_reviews():
    history = synthetic_history()
    assert len(history) >= 300
    seen = []

    def good_fit(train):
        seen.append(max(r.reviewed_at for r in train))
        return fsrs6.DEFAULT_FSRS_PARAMETERS

    # Current parameters far from the truth; the "fitted" ones (the defaults) beat them.
    bad = (0.01, 0.01, 0.01, 0.01, *fsrs6.DEFAULT_FSRS_PARAMETERS[4:])
    won = choose_parameters(history, current=bad, min_reviews=100, fit=good_fit)
    assert won.adopted and won.parameters == fsrs6.DEFAULT_FSRS_PARAMETERS
    assert won.candidate_log_loss < won.current_log_loss
    # The fit only ever saw the earlier part of the history.
    cut = sorted(r.reviewed_at for r in history)[int(len(history) * 0.8)]
    assert seen[0] < cut

    lost = choose_parameters(
        history, current=fsrs6.DEFAULT_FSRS_PARAMETERS, min_reviews=100, fit=lambda train: bad
    )
    assert not lost.adopted and lost.parameters == fsrs6.DEFAULT_FSRS_PARAMETERS
    assert lost.candidate_log_loss > lost.current_log_loss


@pytest.mark.slow
def test_the_packages_optimiser_fits_a_learners_history():
    history = synthetic_history(n_cards=40, days=90)
    result = choose_parameters(history, min_reviews=100)
    assert result.candidate is not None and len(result.candidate) == 21
    assert result.adopted == (result.candidate_log_loss < result.current_log_loss)
    fsrs6.scheduler_for(fsrs6.FSRSParams(parameters=result.parameters))  # within bounds
