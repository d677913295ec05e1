"""The learner's scheduler: SM-2 or FSRS, and personal FSRS parameters fitted to their answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.db.models import Attempt, ReviewState, SchedulerParameters
from engine.db.models.practice import SCHEDULERS
from engine.domain.vocabulary import Scheduler
from engine.errors import InvalidInput, NotEnoughHistory
from engine.practice import store
from engine.practice.params import fsrs_params
from engine.scheduling import fsrs6
from engine.scheduling.optimise import (
    Fitter,
    OptimisationResult,
    choose_parameters,
    fit_parameters,
)
from engine.scheduling.replay import Review

if TYPE_CHECKING:
    from engine.runtime import Runtime


def set_scheduler(rt: Runtime, *, user_id: int, scheduler: str) -> None:
    """Switch between SM-2 and FSRS. Both states are always kept, so every due date moves to
    the chosen scheduler's at once and nothing is lost.

    Raises:
        InvalidInput: an unknown scheduler.
    """
    if scheduler not in SCHEDULERS:
        raise InvalidInput("Choose SM-2 or FSRS.")
    with rt.session_factory.begin() as session:
        profile = store.load_profile(session, user_id, lock=True)
        if profile.scheduler == scheduler:
            return
        profile.scheduler = scheduler
        session.execute(
            update(ReviewState)
            .where(ReviewState.user_id == user_id)
            .values(
                due_at=ReviewState.fsrs_due_at
                if scheduler == Scheduler.FSRS
                else ReviewState.sm2_due_at
            )
        )


# --- personal FSRS parameters ------------------------------------------------------------------


@dataclass(frozen=True)
class SchedulerInfo:
    scheduler: str
    reviews: int
    min_reviews: int
    personal: bool  # personal FSRS parameters are in use
    message: str | None
    fitted_at: dt.datetime | None


def scheduler_info(rt: Runtime, *, user_id: int) -> SchedulerInfo:
    with rt.session_factory() as session:
        profile = store.load_profile(session, user_id)
        reviews = (
            session.scalar(
                select(func.count()).select_from(Attempt).where(Attempt.user_id == user_id)
            )
            or 0
        )
        row = session.get(SchedulerParameters, user_id)
        return SchedulerInfo(
            profile.scheduler,
            reviews,
            rt.settings.scheduling.fsrs_optimise_min_reviews,
            bool(row and row.adopted),
            row.message if row else None,
            row.fitted_at if row else None,
        )


def review_history(session: Session, user_id: int) -> list[Review]:
    """The learner's answers as scheduler reviews, in time order."""
    return [
        Review(card_id=qid, rating=rating, reviewed_at=at, quality=quality)
        for qid, rating, quality, at in session.execute(
            select(Attempt.question_id, Attempt.rating, Attempt.quality, Attempt.answered_at)
            .where(Attempt.user_id == user_id)
            .order_by(Attempt.answered_at, Attempt.id)
        )
    ]


def _save_fit(session: Session, user_id: int, result: OptimisationResult) -> None:
    row = session.get(SchedulerParameters, user_id, with_for_update=True)
    if row is None:
        row = SchedulerParameters(user_id=user_id)
        session.add(row)
    was_personal = bool(row.adopted)
    row.parameters = list(result.parameters)
    row.adopted = result.adopted or was_personal
    row.n_reviews = result.n_reviews
    row.current_log_loss = result.current_log_loss
    row.candidate_log_loss = result.candidate_log_loss
    row.message = result.message
    row.fitted_at = store.utcnow()


def optimise_fsrs(rt: Runtime, *, user_id: int, fit: Fitter = fit_parameters) -> OptimisationResult:
    """Fit FSRS-6 to the learner's own history and adopt the result only if it predicts their
    held-back recent reviews better than the parameters in use (see engine.scheduling.optimise).

    Raises:
        NotEnoughHistory: fewer reviews than `fsrs_optimise_min_reviews`.
    """
    settings = rt.settings
    with rt.session_factory() as session:
        store.load_profile(session, user_id)
        history = review_history(session, user_id)
        current = store.personal_parameters(session, user_id) or fsrs6.DEFAULT_FSRS_PARAMETERS
    if len(history) < settings.scheduling.fsrs_optimise_min_reviews:
        raise NotEnoughHistory(
            "Personal FSRS parameters need at least "
            f"{settings.scheduling.fsrs_optimise_min_reviews} "
            f"answers; you have {len(history)}. Until then FSRS uses its default parameters."
        )
    # Fitting takes seconds to minutes: no transaction is held meanwhile.
    result = choose_parameters(
        history,
        current=current,
        min_reviews=settings.scheduling.fsrs_optimise_min_reviews,
        holdout_fraction=settings.scheduling.fsrs_holdout_fraction,
        fit=fit,
        base=fsrs_params(settings),
    )
    with rt.session_factory.begin() as session:
        _save_fit(session, user_id, result)
    return result
