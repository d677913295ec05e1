"""Today's queue, one question as the learner sees it before answering, and review counts."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ARRAY, BigInteger, and_, bindparam, exists, func, literal, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by, array_agg
from sqlalchemy.orm import Session

from engine.db.models import (
    Attempt,
    CourseQuestion,
    Profile,
    Question,
    QuestionImage,
    ReviewState,
)
from engine.domain.vocabulary import FLASHCARD_FORM, QuestionStatus
from engine.errors import NotFound, QuestionUnavailable
from engine.practice.store import aware, load_profile, local_midnight

if TYPE_CHECKING:
    from engine.runtime import Runtime

QUEUE_LIMIT = 200


@dataclass(frozen=True)
class QueueEntry:
    question_id: int
    kind: str  # 'review' (due) or 'new'
    due_at: dt.datetime | None
    reviews: int  # the question's review count when queued: pass it back when answering


@dataclass(frozen=True)
class TodayQueue:
    entries: list[QueueEntry]
    due_now: int
    new_allowed: int
    answered_today: int
    daily_target: int
    active_questions: int
    next_due_at: dt.datetime | None  # the next review after now, for the empty state
    xp: int = 0  # the learner's XP and level, read with the counts (after any answer)
    level: int = 1


_RS = ReviewState.__table__
# Bound once; the statement is compiled once per process and reused from SQLAlchemy's cache.
DUE_QUERY = (
    select(_RS.c.question_id, _RS.c.due_at, _RS.c.reviews)
    .where(
        _RS.c.user_id == bindparam("user_id"), ~_RS.c.suspended, _RS.c.due_at <= bindparam("now")
    )
    .order_by(_RS.c.due_at, _RS.c.question_id)
    .limit(bindparam("limit"))
)


def _new_questions(user_id: int) -> Any:
    """Active questions never answered; a teacher's master questions of a course bank are
    left out (the course's learners practise copies; the teacher edits the master)."""
    return and_(
        Question.user_id == user_id,
        Question.status == QuestionStatus.ACTIVE,
        ~exists().where(ReviewState.question_id == Question.id),
        ~exists().where(CourseQuestion.question_id == Question.id),
    )


_P = Profile.__table__
_DUE = DUE_QUERY.subquery("due")
# The learner's profile and their due reviews in one round trip: a row per due review with the
# profile's columns on each (one row without a review when none is due; none without a profile).
PROFILE_AND_DUE = (
    select(
        _P.c.timezone,
        _P.c.daily_target,
        _P.c.xp,
        _P.c.level,
        _DUE.c.question_id,
        _DUE.c.due_at,
        _DUE.c.reviews,
    )
    .select_from(_P.outerjoin(_DUE, true()))
    .where(_P.c.user_id == bindparam("user_id"))
    .order_by(_DUE.c.due_at, _DUE.c.question_id)
)


def build_queue(
    rt: Runtime,
    *,
    user_id: int,
    now: dt.datetime | None = None,
    extra_new: int = 0,
    limit: int = QUEUE_LIMIT,
) -> TodayQueue:
    """Today's session: due reviews first (most overdue first), then new questions up to the
    learner's daily target (counting what they answered today, in their time zone), plus
    `extra_new` when they ask for more. Two round trips: the profile with the due reviews,
    then the day's counts with the new questions (the Today card reads them after every
    answer).

    Raises:
        NotFound: the account is gone.
    """
    now = aware(now)
    if extra_new < 0:
        raise ValueError("extra_new must be >= 0")
    with rt.read_session_factory() as session:
        rows = (
            session.connection()
            .execute(PROFILE_AND_DUE, {"user_id": user_id, "now": now, "limit": limit})
            .all()
        )
        if not rows:
            raise NotFound("Your account could not be found. Please log in again.")
        timezone, daily_target, xp, level = rows[0][:4]
        due = [QueueEntry(r[4], "review", r[5], r[6]) for r in rows if r[4] is not None]
        day = _day_counts(
            session,
            user_id,
            now=now,
            since=local_midnight(now, timezone),
            due_listed=len(due) if len(due) < limit else None,
            new_wanted=(daily_target, extra_new, limit),
        )
    entries = due + [QueueEntry(qid, "new", None, 0) for qid in day.new_ids]
    return TodayQueue(
        entries=entries[:limit],
        due_now=day.due_now,
        new_allowed=len(day.new_ids),
        answered_today=day.answered,
        daily_target=daily_target,
        active_questions=day.active,
        next_due_at=day.next_due,
        xp=xp,
        level=level,
    )


@dataclass(frozen=True)
class _DayCounts:
    answered: int
    active: int
    next_due: dt.datetime | None
    due_now: int
    new_ids: list[int]


def _day_counts(
    session: Session,
    user_id: int,
    *,
    now: dt.datetime,
    since: dt.datetime,
    due_listed: int | None,
    new_wanted: tuple[int, int, int],
) -> _DayCounts:
    """In one round trip: answers since `since`, active questions, the next review after
    `now`, the reviews due by `now` (`due_listed` when the queue listed them all, else
    counted), and the oldest questions never answered, as many as the day allows:
    `new_wanted` = (daily target, extra new, limit) gives
    min(limit, max(0, target - answered - due) + extra)."""
    answered = (
        select(func.count())
        .select_from(Attempt)
        .where(Attempt.user_id == user_id, Attempt.answered_at >= since)
        .scalar_subquery()
    )
    active = (
        select(func.count())
        .select_from(Question)
        .where(Question.user_id == user_id, Question.status == QuestionStatus.ACTIVE)
        .scalar_subquery()
    )
    live = and_(ReviewState.user_id == user_id, ~ReviewState.suspended)
    next_due = (
        select(func.min(ReviewState.due_at)).where(live, ReviewState.due_at > now).scalar_subquery()
    )
    due_now: Any = (
        literal(due_listed)
        if due_listed is not None
        else select(func.count())
        .select_from(ReviewState)
        .where(live, ReviewState.due_at <= now)
        .scalar_subquery()
    )
    target, extra, limit = new_wanted
    new = (
        select(Question.id, Question.created_at)
        .where(_new_questions(user_id))
        .order_by(Question.created_at, Question.id)
        .limit(func.least(limit, func.greatest(0, target - answered - due_now) + extra))
        .subquery()
    )
    new_ids = (
        select(
            func.coalesce(
                array_agg(aggregate_order_by(new.c.id, new.c.created_at, new.c.id)),
                literal([], ARRAY(BigInteger)),
            )
        )
        .select_from(new)
        .scalar_subquery()
    )
    row = session.execute(select(answered, active, next_due, due_now, new_ids)).one()
    return _DayCounts(int(row[0] or 0), int(row[1] or 0), row[2], int(row[3] or 0), list(row[4]))


# --- showing a question ------------------------------------------------------------------------


def option_order(question_id: int, reviews: int, n: int) -> list[int]:
    """The order a question's `n` options are shown in on its answer number `reviews` + 1:
    stored indexes by shown position. The same for the same answer (a rerun of the page does
    not reshuffle under the learner), and another order each time the question is asked
    again (so the right answer is not remembered by its place)."""
    order = list(range(n))
    random.Random(f"options:{question_id}:{reviews}").shuffle(order)
    return order


@dataclass(frozen=True)
class PracticeQuestion:
    """What the learner sees before answering: no answer, key points or explanation (a
    flashcard's `back` excepted: the learner turns the card over, then rates themselves). The
    options are in the order shown; `option_index(shown)` is the stored index to submit."""

    id: int
    type: str
    stem: str
    options: list[str] | None
    difficulty: int
    material_title: str
    page_start: int
    page_end: int
    reviews: int
    order: tuple[int, ...] = ()  # stored option index by shown position
    form: str | None = None
    back: str | None = None  # a flashcard's answer side; None for every other question
    has_images: bool = False  # whether `engine.bank.images.images_for` has any to show

    def option_index(self, shown: int) -> int:
        """The stored index of the option shown at position `shown` (what `submit_answer`
        takes)."""
        return self.order[shown] if self.order else shown


def get_practice_question(rt: Runtime, *, user_id: int, question_id: int) -> PracticeQuestion:
    """Raises NotFound (also for another learner's question), QuestionUnavailable."""
    with rt.read_session_factory() as session:
        # The question, its review count and whether it has pictures in one round trip (a
        # card reads its pictures only when there are some).
        pictured = exists().where(
            QuestionImage.user_id == user_id, QuestionImage.question_id == Question.id
        )
        found = session.execute(
            select(Question, ReviewState.reviews, pictured)
            .outerjoin(ReviewState, ReviewState.question_id == Question.id)
            .where(Question.id == question_id, Question.user_id == user_id)
        ).first()
        if found is None:
            raise NotFound("That question was not found.")
        q, reviews = found[0], found[1] or 0
        if q.status != QuestionStatus.ACTIVE:
            raise QuestionUnavailable(
                "That question was flagged or retired and is no longer in your queue."
            )
        stored = list(q.options) if q.options else None
        order = option_order(q.id, reviews, len(stored)) if stored else []
        return PracticeQuestion(
            q.id,
            q.type,
            q.stem,
            [stored[i] for i in order] if stored else None,
            q.difficulty,
            q.material_title,
            q.page_start,
            q.page_end,
            reviews,
            tuple(order),
            form=q.form,
            back=q.answer if q.form == FLASHCARD_FORM else None,
            has_images=bool(found[2]),
        )


# --- counts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaterialCounts:
    material_title: str
    due_now: int
    due_week: int
    scheduled: int


@dataclass(frozen=True)
class ReviewCounts:
    due_now: int
    due_today: int
    due_week: int
    scheduled: int
    new_available: int
    next_due_at: dt.datetime | None
    scheduler: str
    by_material: list[MaterialCounts]


def review_counts(rt: Runtime, *, user_id: int, now: dt.datetime | None = None) -> ReviewCounts:
    """Due now / by the end of the learner's day / within 7 days, per material too."""
    now = aware(now)
    with rt.session_factory() as session:
        profile = load_profile(session, user_id)
        end_of_day = local_midnight(now, profile.timezone) + dt.timedelta(days=1)
        week = now + dt.timedelta(days=7)
        live = and_(ReviewState.user_id == user_id, ~ReviewState.suspended)
        totals = session.execute(
            select(
                func.count().filter(ReviewState.due_at <= now),
                func.count().filter(ReviewState.due_at < end_of_day),
                func.count().filter(ReviewState.due_at < week),
                func.count(),
                func.min(ReviewState.due_at).filter(ReviewState.due_at > now),
            ).where(live)
        ).one()
        per_material = session.execute(
            select(
                Question.material_title,
                func.count().filter(ReviewState.due_at <= now),
                func.count().filter(ReviewState.due_at < week),
                func.count(),
            )
            .join(Question, Question.id == ReviewState.question_id)
            .where(live)
            .group_by(Question.material_title)
            .order_by(
                func.count().filter(ReviewState.due_at <= now).desc(), Question.material_title
            )
        ).all()
        new_available = (
            session.scalar(
                select(func.count()).select_from(Question).where(_new_questions(user_id))
            )
            or 0
        )
    return ReviewCounts(
        due_now=totals[0],
        due_today=totals[1],
        due_week=totals[2],
        scheduled=totals[3],
        new_available=new_available,
        next_due_at=totals[4],
        scheduler=profile.scheduler,
        by_material=[MaterialCounts(*row) for row in per_material],
    )
