"""The practice services pages call: today's queue, answering, disputes, flags, retirement,
review counts and the learner's scheduler.

Every query filters by the learner; another learner's question or attempt is `NotFound`.
Answering is idempotent: the page makes a token when it shows a question and passes the
question's review count as it was then, so a double click (same token) or a second tab (same
count, already moved on) returns the first answer's result instead of counting twice. The
learner's profile row is locked for the length of the transaction, which serialises their
answers; the unique (user_id, token) and (question_id, review_number) constraints are the
last line of defence.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import statistics
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    Integer,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from engine import llm, usage
from engine.config import Settings
from engine.db.models import Attempt, Flag, Profile, Question, ReviewState, SchedulerParameters
from engine.db.models.practice import FLAG_REASONS, SCHEDULERS
from engine.errors import InvalidInput, NotEnoughHistory, NotFound, QuestionUnavailable
from engine.practice.grading import QuestionForGrading, Verdict, grade
from engine.scheduling import fsrs6, sm2
from engine.scheduling.optimise import (
    Fitter,
    OptimisationResult,
    choose_parameters,
    fit_parameters,
)
from engine.scheduling.rating import RatingParams, grade_attempt
from engine.scheduling.replay import Review
from engine.scoring import quality as quality_rules
from engine.scoring import xp as xp_rules

log = logging.getLogger(__name__)

MAX_NOTE_CHARS = 1000
QUEUE_LIMIT = 200

# --- parameters from settings ------------------------------------------------------------------


def sm2_params(settings: Settings) -> sm2.SM2Params:
    return sm2.SM2Params(
        initial_easiness=settings.scheduling.sm2_initial_easiness,
        min_easiness=settings.scheduling.sm2_min_easiness,
        max_easiness=settings.scheduling.sm2_max_easiness,
        first_interval_days=settings.scheduling.sm2_first_interval_days,
        second_interval_days=settings.scheduling.sm2_second_interval_days,
        max_interval_days=settings.scheduling.sm2_max_interval_days,
    )


def fsrs_params(settings: Settings, parameters: list[float] | None = None) -> fsrs6.FSRSParams:
    return fsrs6.FSRSParams(
        parameters=tuple(parameters) if parameters else fsrs6.DEFAULT_FSRS_PARAMETERS,
        desired_retention=settings.scheduling.fsrs_desired_retention,
        maximum_interval_days=settings.scheduling.fsrs_maximum_interval_days,
        enable_fuzzing=settings.scheduling.fsrs_enable_fuzzing,
    )


def xp_params(settings: Settings) -> xp_rules.XPParams:
    return xp_rules.XPParams(base=settings.scoring.xp_base,
                             correct_bonus=settings.scoring.xp_correct_bonus,
                             calibration_bonus=settings.scoring.xp_calibration_bonus,
                             level_step=settings.scoring.xp_level_step)


def quality_params(settings: Settings) -> quality_rules.QualityParams:
    return quality_rules.QualityParams(
        min_attempts=settings.scoring.quality_min_attempts,
        retire_below=settings.scoring.quality_retire_below,
        flag_rate_retire=settings.scoring.quality_flag_rate_retire,
        flag_min_attempts=settings.scoring.quality_flag_min_attempts,
    )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(now: dt.datetime | None) -> dt.datetime:
    now = now or _utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now


def _local_midnight(now: dt.datetime, timezone: str) -> dt.datetime:
    zone = zoneinfo.ZoneInfo(timezone)
    local = now.astimezone(zone)
    return dt.datetime.combine(local.date(), dt.time(), tzinfo=zone)


def _profile(session: Session, user_id: int, *, lock: bool = False) -> Profile:
    stmt = select(Profile).where(Profile.user_id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    profile = session.scalar(stmt)
    if profile is None:
        raise NotFound("Your account could not be found. Please log in again.")
    return profile


def _question(session: Session, user_id: int, question_id: int, *,
              lock: bool = False) -> Question:
    stmt = select(Question).where(Question.id == question_id, Question.user_id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    q = session.scalar(stmt)
    if q is None:
        raise NotFound("That question was not found.")
    return q


# --- the queue ---------------------------------------------------------------------------------


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


_RS = ReviewState.__table__
# Bound once; the statement is compiled once per process and reused from SQLAlchemy's cache.
_DUE_QUERY = (
    select(_RS.c.question_id, _RS.c.due_at, _RS.c.reviews)
    .where(_RS.c.user_id == bindparam("user_id"), ~_RS.c.suspended,
           _RS.c.due_at <= bindparam("now"))
    .order_by(_RS.c.due_at, _RS.c.question_id)
    .limit(bindparam("limit"))
)


def due_entries(session: Session, *, user_id: int, now: dt.datetime,
                limit: int) -> list[QueueEntry]:
    """Due reviews, most overdue first: one range scan of the partial due index
    (ix_review_states_due), run as a Core statement on the session's connection because it is
    the hottest query in the product."""
    rows = session.connection().execute(
        _DUE_QUERY, {"user_id": user_id, "now": now, "limit": limit}).all()
    return [QueueEntry(qid, "review", due, reviews) for qid, due, reviews in rows]


def build_queue(session_factory: sessionmaker[Session], *, user_id: int,
                now: dt.datetime | None = None, extra_new: int = 0,
                limit: int = QUEUE_LIMIT) -> TodayQueue:
    """Today's session: due reviews first (most overdue first), then new questions up to the
    learner's daily target (counting what they answered today, in their time zone), plus
    `extra_new` when they ask for more.

    Raises:
        NotFound: the account is gone.
    """
    now = _aware(now)
    if extra_new < 0:
        raise ValueError("extra_new must be >= 0")
    with session_factory() as session:
        profile = _profile(session, user_id)
        due = due_entries(session, user_id=user_id, now=now, limit=limit)
        due_now = len(due) if len(due) < limit else session.scalar(
            select(func.count()).select_from(ReviewState).where(
                ReviewState.user_id == user_id, ~ReviewState.suspended,
                ReviewState.due_at <= now)) or 0
        answered_today = session.scalar(
            select(func.count()).select_from(Attempt).where(
                Attempt.user_id == user_id,
                Attempt.answered_at >= _local_midnight(now, profile.timezone))) or 0
        new_allowed = max(0, profile.daily_target - answered_today - due_now) + extra_new
        new_rows = session.execute(
            select(Question.id)
            .where(Question.user_id == user_id, Question.status == "active",
                   ~exists().where(ReviewState.question_id == Question.id))
            .order_by(Question.created_at, Question.id)
            .limit(min(new_allowed, limit))
        ).scalars().all() if new_allowed else []
        active = session.scalar(
            select(func.count()).select_from(Question).where(
                Question.user_id == user_id, Question.status == "active")) or 0
        next_due = session.scalar(
            select(func.min(ReviewState.due_at)).where(
                ReviewState.user_id == user_id, ~ReviewState.suspended,
                ReviewState.due_at > now))
    entries = due + [QueueEntry(qid, "new", None, 0) for qid in new_rows]
    return TodayQueue(entries=entries[:limit], due_now=due_now, new_allowed=len(new_rows),
                      answered_today=answered_today, daily_target=profile.daily_target,
                      active_questions=active, next_due_at=next_due)


# --- showing a question ------------------------------------------------------------------------


@dataclass(frozen=True)
class PracticeQuestion:
    """What the learner sees before answering: no answer, key points or explanation."""

    id: int
    type: str
    stem: str
    options: list[str] | None
    difficulty: int
    material_title: str
    page_start: int
    page_end: int
    reviews: int


def get_practice_question(session_factory: sessionmaker[Session], *, user_id: int,
                          question_id: int) -> PracticeQuestion:
    """Raises NotFound (also for another learner's question), QuestionUnavailable."""
    with session_factory() as session:
        q = _question(session, user_id, question_id)
        if q.status != "active":
            raise QuestionUnavailable("That question was flagged or retired and is no longer "
                                      "in your queue.")
        reviews = session.scalar(select(ReviewState.reviews)
                                 .where(ReviewState.question_id == q.id)) or 0
        return PracticeQuestion(q.id, q.type, q.stem, list(q.options) if q.options else None,
                                q.difficulty, q.material_title, q.page_start, q.page_end,
                                reviews)


# --- answering ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerResult:
    attempt_id: int
    question_id: int
    correct: bool
    score: float
    reason: str
    grader: str
    your_answer: str
    correct_answer: str
    explanation: str
    excerpt: str
    material_title: str
    page_start: int
    page_end: int
    xp_earned: int
    xp_total: int
    level: int
    leveled_up: bool
    streak: int
    best_streak: int
    next_due_at: dt.datetime | None
    scheduler: str
    duplicate: bool  # True when this was a repeat of an answer already recorded
    disputed: bool


def _correct_answer(q: Question) -> str:
    if q.type == "mcq" and q.options is not None and q.correct_index is not None:
        return q.options[q.correct_index]
    return q.answer


def _response_text(q: Question, response: str | int) -> str:
    if q.type == "mcq" and isinstance(response, int) and q.options \
            and 0 <= response < len(q.options):
        return q.options[response]
    return str(response)


def _state_json(rs: ReviewState | None) -> dict[str, Any] | None:
    if rs is None:
        return None
    return {
        "due_at": rs.due_at.isoformat(), "reviews": rs.reviews, "lapses": rs.lapses,
        "sm2": {"repetitions": rs.sm2_repetitions, "interval_days": rs.sm2_interval_days,
                "easiness": rs.sm2_easiness, "due_at": rs.sm2_due_at.isoformat()},
        "fsrs": {"state": rs.fsrs_state, "step": rs.fsrs_step, "stability": rs.fsrs_stability,
                 "difficulty": rs.fsrs_difficulty, "due_at": rs.fsrs_due_at.isoformat(),
                 "last_reviewed_at": rs.last_reviewed_at.isoformat()},
    }


def _states_from_json(data: dict[str, Any] | None) -> tuple[sm2.SM2State | None,
                                                            fsrs6.FSRSState | None]:
    if data is None:
        return None, None
    s, f = data["sm2"], data["fsrs"]
    return (
        sm2.SM2State(s["repetitions"], s["interval_days"], s["easiness"],
                     dt.datetime.fromisoformat(s["due_at"])),
        fsrs6.FSRSState(f["state"], f["step"], f["stability"], f["difficulty"],
                        dt.datetime.fromisoformat(f["due_at"]),
                        dt.datetime.fromisoformat(f["last_reviewed_at"])),
    )


def _current_states(rs: ReviewState | None) -> tuple[sm2.SM2State | None,
                                                     fsrs6.FSRSState | None]:
    if rs is None:
        return None, None
    return (sm2.SM2State(rs.sm2_repetitions, rs.sm2_interval_days, rs.sm2_easiness,
                         rs.sm2_due_at),
            fsrs6.FSRSState(rs.fsrs_state, rs.fsrs_step, rs.fsrs_stability, rs.fsrs_difficulty,
                            rs.fsrs_due_at, rs.last_reviewed_at))


def _apply_states(rs: ReviewState, s: sm2.SM2State, f: fsrs6.FSRSState, scheduler: str) -> None:
    rs.sm2_repetitions, rs.sm2_interval_days = s.repetitions, s.interval_days
    rs.sm2_easiness, rs.sm2_due_at = s.easiness, s.due_at
    rs.fsrs_state, rs.fsrs_step = f.state, f.step
    rs.fsrs_stability, rs.fsrs_difficulty, rs.fsrs_due_at = f.stability, f.difficulty, f.due_at
    rs.due_at = f.due_at if scheduler == "fsrs" else s.due_at


def _personal_parameters(session: Session, user_id: int) -> list[float] | None:
    row = session.execute(select(SchedulerParameters.parameters, SchedulerParameters.adopted)
                          .where(SchedulerParameters.user_id == user_id)).first()
    return list(row[0]) if row is not None and row[1] else None


def _result(session: Session, attempt: Attempt, q: Question, profile: Profile, *,
            duplicate: bool, leveled_up: bool = False,
            rs: ReviewState | None = None) -> AnswerResult:
    if rs is not None:
        rs_due = None if rs.suspended or q.status != "active" else rs.due_at
    else:
        rs_due = session.scalar(select(ReviewState.due_at).where(
            ReviewState.question_id == q.id, ~ReviewState.suspended))
    return AnswerResult(
        attempt_id=attempt.id, question_id=q.id, correct=attempt.correct, score=attempt.score,
        reason=attempt.grade_reason, grader=attempt.grader, your_answer=attempt.response,
        correct_answer=_correct_answer(q), explanation=q.explanation, excerpt=q.excerpt,
        material_title=q.material_title, page_start=q.page_start, page_end=q.page_end,
        xp_earned=attempt.xp, xp_total=profile.xp, level=profile.level, leveled_up=leveled_up,
        streak=profile.streak, best_streak=profile.best_streak, next_due_at=rs_due,
        scheduler=attempt.scheduler, duplicate=duplicate,
        disputed=attempt.disputed_at is not None,
    )


def _grading_view(q: Question) -> QuestionForGrading:
    return QuestionForGrading(q.type, q.stem, list(q.options) if q.options else None,
                              q.correct_index, q.answer, list(q.key_points or []), q.excerpt)


def _validate_answer(q: Question, response: str | int, confidence: int, token: str) -> None:
    problems = []
    if not isinstance(token, str) or not 8 <= len(token) <= 64:
        raise ValueError("token must be a string of 8-64 characters made when the question "
                         "was shown")
    if not isinstance(confidence, int) or isinstance(confidence, bool) \
            or not 1 <= confidence <= 5:
        problems.append("Choose how confident you are, from 1 to 5.")
    if q.type == "mcq":
        if not isinstance(response, int) or isinstance(response, bool) or q.options is None \
                or not 0 <= response < len(q.options):
            problems.append("Choose one of the options.")
    elif not isinstance(response, str) or not response.strip():
        problems.append("Type your answer first.")
    if problems:
        raise InvalidInput(" ".join(problems))


def _existing(session: Session, user_id: int, question_id: int, token: str,
              expected_reviews: int | None) -> Attempt | None:
    """The attempt this submission repeats: same token, or the same showing answered already."""
    conds = [Attempt.token == token]
    if expected_reviews is not None:
        conds.append(and_(Attempt.question_id == question_id,
                          Attempt.review_number == expected_reviews + 1))
    return session.scalar(select(Attempt).where(Attempt.user_id == user_id, or_(*conds))
                          .order_by(Attempt.id).limit(1))


def _grade_before_locking(session_factory: sessionmaker[Session], *, user_id: int,
                          question_id: int, token: str, response: str | int, confidence: int,
                          expected_reviews: int | None,
                          settings: Settings) -> Verdict | AnswerResult | None:
    """A short answer may go to the grading model, which can take seconds: grade it before
    taking any lock, once a repeat has been ruled out (then the repeat's result is returned).
    Other questions are graded inside the transaction (None)."""
    with session_factory() as session:
        q = _question(session, user_id, question_id)
        if q.type != "short":
            return None
        _validate_answer(q, response, confidence, token)
        repeat = _existing(session, user_id, q.id, token, expected_reviews)
        if repeat is not None:
            return _result(session, repeat, q, _profile(session, user_id), duplicate=True)
        if q.status != "active":
            raise QuestionUnavailable(_UNAVAILABLE)
        view = _grading_view(q)

    def meter(call: Callable[[], llm.Completion]) -> llm.Completion:
        return usage.metered(session_factory, user_id=user_id, task=usage.GRADING,
                             settings=settings, call=call)

    return grade(view, response, settings=settings, meter=meter)


def submit_answer(
    session_factory: sessionmaker[Session],
    *,
    user_id: int,
    question_id: int,
    token: str,
    response: str | int,
    confidence: int,
    seconds: float,
    expected_reviews: int | None,
    settings: Settings,
    hinted: bool = False,
    now: dt.datetime | None = None,
) -> AnswerResult:
    """Grade and record one answer; update the schedule, question quality, XP, level, streak.

    Args:
        token: made by the page when it showed the question (8-64 characters).
        response: the chosen option's index (multiple choice) or the typed answer.
        confidence: 1 (guessing) to 5 (certain).
        seconds: time from showing to submitting, measured on the server; clamped to 1-3600.
        expected_reviews: the question's review count when it was shown (`QueueEntry.reviews`);
            a submission for a showing that was already answered returns that answer.

    Raises:
        NotFound: no such question for this learner.
        QuestionUnavailable: the question was flagged or retired.
        InvalidInput: no option chosen, empty answer, confidence out of range.
    """
    now = _aware(now)
    seconds_int = int(min(3600, max(1, round(seconds))))
    verdict: Verdict | None = None
    if llm.is_configured("grading", settings):
        pre = _grade_before_locking(session_factory, user_id=user_id, question_id=question_id,
                                    token=token, response=response, confidence=confidence,
                                    expected_reviews=expected_reviews, settings=settings)
        if isinstance(pre, AnswerResult):
            return pre
        verdict = pre

    record = functools.partial(
        _record_answer, session_factory, user_id=user_id, question_id=question_id, token=token,
        response=response, confidence=confidence, seconds=seconds_int,
        expected_reviews=expected_reviews, settings=settings, hinted=hinted, now=now,
        verdict=verdict)
    try:
        return record()
    except IntegrityError:
        # The unique constraints caught an answer that raced past the checks (two tabs
        # answering at once; the locking read's joined rows come from the statement's
        # snapshot). A repeat of the same showing reports the answer that was recorded; any
        # other answer is recorded once more on top of the one that won.
        with session_factory() as session:
            q = _question(session, user_id, question_id)
            repeat = _existing(session, user_id, q.id, token, expected_reviews)
            if repeat is not None:
                return _result(session, repeat, q, _profile(session, user_id), duplicate=True)
        return record()


# What the submit path reads in its one locking statement: the question's previous attempts
# and flags, as the aggregates the quality score needs.
_PRIOR = (
    select(
        func.count().label("n"),
        func.count().filter(Attempt.correct).label("n_correct"),
        func.coalesce(func.array_agg(Attempt.seconds), sql_cast([], ARRAY(Integer)))
        .label("seconds"),
        func.coalesce(func.sum(func.power((Attempt.confidence - 1) / 4.0
                                          - case((Attempt.correct, 1.0), else_=0.0), 2)), 0)
        .label("calibration_sq"),
    )
    .where(Attempt.question_id == Question.id)
    .lateral("prior")
)
_FLAGS = (select(func.count()).where(Flag.question_id == Question.id)
          .correlate(Question).scalar_subquery())
_WRONG_OPEN = (select(func.count()).where(Flag.question_id == Question.id, Flag.reason == "wrong",
                                          Flag.resolved_at.is_(None))
               .correlate(Question).scalar_subquery())
_LOCK_AND_READ = (
    select(Profile, Question, ReviewState, SchedulerParameters.parameters,
           SchedulerParameters.adopted, _PRIOR.c.n, _PRIOR.c.n_correct, _PRIOR.c.seconds,
           _PRIOR.c.calibration_sq, _FLAGS, _WRONG_OPEN)
    .join(Question, Question.user_id == Profile.user_id)
    .outerjoin(ReviewState, ReviewState.question_id == Question.id)
    .outerjoin(SchedulerParameters, SchedulerParameters.user_id == Profile.user_id)
    .join(_PRIOR, true())
    .where(Profile.user_id == bindparam("user_id"), Question.id == bindparam("question_id"))
    .with_for_update(of=Profile)
)


_ATTEMPT_COLUMNS = ("user_id", "question_id", "token", "review_number", "answered_at",
                    "seconds", "confidence", "response", "hinted", "correct", "score", "grader",
                    "grade_reason", "quality", "rating", "scheduler", "xp", "state_before",
                    "previous_answered_at", "state_after")
_STATE_COLUMNS = ("due_at", "suspended", "reviews", "lapses", "last_reviewed_at",
                  "sm2_repetitions", "sm2_interval_days", "sm2_easiness", "sm2_due_at",
                  "fsrs_state", "fsrs_step", "fsrs_stability", "fsrs_difficulty", "fsrs_due_at")
_PROFILE_COLUMNS = ("xp", "level", "streak", "best_streak", "last_activity_date")


def _binds(table: Any, columns: Sequence[str], prefix: str) -> dict[str, Any]:
    return {c: bindparam(f"{prefix}_{c}", type_=table.c[c].type) for c in columns}


@lru_cache(maxsize=4)
def _write_statement(new_state: bool, write_question: bool) -> Any:
    """The submit path's one write: attempt, schedule, learner (and the question's quality and
    status when they change), as data-modifying CTEs. Built once per shape with bound
    parameters, so SQLAlchemy compiles it once and each answer only binds values."""
    rs_t, a_t, p_t, q_t = (ReviewState.__table__, Attempt.__table__, Profile.__table__,
                           Question.__table__)
    state = _binds(rs_t, _STATE_COLUMNS, "rs")
    if new_state:
        write_rs = insert(rs_t).values(
            user_id=bindparam("a_user_id"), question_id=bindparam("a_question_id"),
            first_reviewed_at=bindparam("rs_last_reviewed_at"), **state)
    else:
        write_rs = update(rs_t).where(rs_t.c.id == bindparam("rs_id")).values(**state)
    write_profile = (update(p_t).where(p_t.c.user_id == bindparam("a_user_id"))
                     .values(updated_at=func.now(), **_binds(p_t, _PROFILE_COLUMNS, "p")))
    write_attempt = insert(a_t).values(**_binds(a_t, _ATTEMPT_COLUMNS, "a")).returning(a_t.c.id)
    statement = select(write_attempt.cte("write_attempt").c.id).add_cte(
        write_rs.cte("write_review_state"), write_profile.cte("write_profile"))
    if write_question:
        statement = statement.add_cte(
            update(q_t).where(q_t.c.id == bindparam("a_question_id"))
            .values(quality_score=bindparam("q_quality_score", type_=q_t.c.quality_score.type),
                    status=bindparam("q_status", type_=q_t.c.status.type))
            .cte("write_question"))
    return statement


def _rs_values(s_new: sm2.SM2State, f_new: fsrs6.FSRSState, scheduler: str) -> dict[str, Any]:
    return {
        "sm2_repetitions": s_new.repetitions, "sm2_interval_days": s_new.interval_days,
        "sm2_easiness": s_new.easiness, "sm2_due_at": s_new.due_at,
        "fsrs_state": f_new.state, "fsrs_step": f_new.step,
        "fsrs_stability": f_new.stability, "fsrs_difficulty": f_new.difficulty,
        "fsrs_due_at": f_new.due_at,
        "due_at": f_new.due_at if scheduler == "fsrs" else s_new.due_at,
    }


def _json_from_values(v: dict[str, Any]) -> dict[str, Any]:
    return {
        "due_at": v["due_at"].isoformat(), "reviews": v["reviews"], "lapses": v["lapses"],
        "sm2": {"repetitions": v["sm2_repetitions"], "interval_days": v["sm2_interval_days"],
                "easiness": v["sm2_easiness"], "due_at": v["sm2_due_at"].isoformat()},
        "fsrs": {"state": v["fsrs_state"], "step": v["fsrs_step"],
                 "stability": v["fsrs_stability"], "difficulty": v["fsrs_difficulty"],
                 "due_at": v["fsrs_due_at"].isoformat(),
                 "last_reviewed_at": v["last_reviewed_at"].isoformat()},
    }


def _record_answer(session_factory: sessionmaker[Session], *, user_id: int, question_id: int,
                   token: str, response: str | int, confidence: int, seconds: int,
                   expected_reviews: int | None, settings: Settings, hinted: bool,
                   now: dt.datetime, verdict: Verdict | None) -> AnswerResult:
    """The answer's transaction in two round trips and a commit: one statement locks the
    learner's row (serialising everything that changes their schedule or XP: answers,
    disputes, scheduler switches, replacements) and reads the question, its schedule, the
    learner's FSRS parameters and the question's attempt and flag aggregates; one statement
    writes the attempt, the schedule, the learner's XP and streak and the question's quality.
    """
    with session_factory.begin() as session:
        row = session.execute(_LOCK_AND_READ,
                              {"user_id": user_id, "question_id": question_id}).first()
        if row is None:
            raise NotFound("That question was not found.")
        profile, q, rs = row[0], row[1], row[2]
        personal = list(row[3]) if row[3] is not None and row[4] else None
        prior_n, prior_correct, prior_seconds, prior_sq, flags, wrong_open = row[5:11]
        _validate_answer(q, response, confidence, token)
        reviews_before = rs.reviews if rs is not None else 0
        if expected_reviews is None or reviews_before != expected_reviews:
            # Either no showing to compare with, or this showing was answered already.
            repeat = _existing(session, user_id, q.id, token, expected_reviews)
            if repeat is not None:
                return _result(session, repeat, q, profile, duplicate=True)
        if q.status != "active":
            raise QuestionUnavailable(_UNAVAILABLE)
        if verdict is None:
            verdict = grade(_grading_view(q), response, settings=settings)
        g = grade_attempt(correct=verdict.correct, confidence=confidence, seconds=seconds,
                          hinted=hinted,
                          params=RatingParams(slow_after_s=settings.grading.slow_after_s))
        s_old, f_old = _current_states(rs)
        s_new = sm2.review(s_old, g.quality, reviewed_at=now, params=sm2_params(settings))
        f_new = fsrs6.review(f_old, g.rating, reviewed_at=now,
                             params=fsrs_params(settings, personal
                                                if profile.scheduler == "fsrs" else None))
        rs_values = _rs_values(s_new, f_new, profile.scheduler)
        rs_values.update(reviews=reviews_before + 1, last_reviewed_at=now,
                         lapses=(rs.lapses if rs is not None else 0)
                         + (0 if verdict.correct else 1))

        earned = xp_rules.xp_for_answer(correct=verdict.correct, difficulty=q.difficulty,
                                        confidence=confidence, params=xp_params(settings))
        xp_total = max(0, profile.xp + earned)
        level = xp_rules.level_for_xp(xp_total, xp_params(settings))
        streak = xp_rules.record_activity(
            xp_rules.Streak(profile.streak, profile.best_streak, profile.last_activity_date),
            at=now, timezone=profile.timezone)

        # The question's quality with this answer included.
        n = prior_n + 1
        err = ((confidence - 1) / 4 - (1.0 if verdict.correct else 0.0)) ** 2
        qparams = quality_params(settings)
        breakdown = quality_rules.quality_from_aggregates(
            attempts=n, correct=prior_correct + int(verdict.correct),
            median_seconds=float(statistics.median([*prior_seconds, seconds])),
            mean_calibration_error=(float(prior_sq) + err) / n, flags=flags, params=qparams)
        reason = quality_rules.retirement(breakdown, flagged_wrong=wrong_open > 0,
                                          params=qparams)
        status = q.status
        if reason is quality_rules.Retirement.FLAGGED_WRONG:
            status = "flagged"
        elif reason is not None:
            status = "retired"
            log.info("question retired", extra={"question_id": q.id, "reason": str(reason)})
        suspended = status != "active"

        attempt_values = dict(
            user_id=user_id, question_id=q.id, token=token, review_number=reviews_before + 1,
            answered_at=now, seconds=seconds, confidence=confidence,
            response=_response_text(q, response)[:4000], hinted=hinted,
            correct=verdict.correct, score=verdict.score, grader=verdict.grader,
            grade_reason=verdict.reason, quality=g.quality, rating=g.rating,
            scheduler=profile.scheduler, xp=earned, state_before=_state_json(rs),
            previous_answered_at=rs.last_reviewed_at if rs is not None else None,
            state_after=_json_from_values(rs_values),
        )
        changes_question = breakdown.score != q.quality_score or status != q.status
        params: dict[str, Any] = {f"a_{k}": v for k, v in attempt_values.items()}
        params.update({f"rs_{k}": v for k, v in rs_values.items()}, rs_suspended=suspended,
                      p_xp=xp_total, p_level=level, p_streak=streak.streak,
                      p_best_streak=streak.best_streak,
                      p_last_activity_date=streak.last_activity_date,
                      q_quality_score=breakdown.score, q_status=status)
        if rs is not None:
            params["rs_id"] = rs.id
        statement = _write_statement(rs is None, changes_question)
        attempt_id = session.connection().execute(statement, params).scalar_one()
        # Nothing below goes back to the database: the result is built from what was written.
        session.expunge_all()

    due = None if suspended else rs_values["due_at"]
    return AnswerResult(
        attempt_id=attempt_id, question_id=q.id, correct=verdict.correct, score=verdict.score,
        reason=verdict.reason, grader=verdict.grader,
        your_answer=attempt_values["response"], correct_answer=_correct_answer(q),
        explanation=q.explanation, excerpt=q.excerpt, material_title=q.material_title,
        page_start=q.page_start, page_end=q.page_end, xp_earned=earned, xp_total=xp_total,
        level=level, leveled_up=level > profile.level, streak=streak.streak,
        best_streak=streak.best_streak, next_due_at=due, scheduler=profile.scheduler,
        duplicate=False, disputed=False,
    )


_UNAVAILABLE = ("That question was flagged or retired while you were answering; your answer "
                "was not recorded.")


def _add_xp(profile: Profile, delta: int, settings: Settings) -> None:
    profile.xp = max(0, profile.xp + delta)
    profile.level = xp_rules.level_for_xp(profile.xp, xp_params(settings))


# --- quality and retirement ----------------------------------------------------------------


def _refresh_quality(session: Session, q: Question, settings: Settings) -> str | None:
    """Recompute the question's score; retire it when the rules say so. Returns the
    retirement reason, if any."""
    flag_count = (select(func.count()).where(Flag.question_id == q.id)
                  .scalar_subquery())
    wrong_open = (select(func.count()).where(Flag.question_id == q.id, Flag.reason == "wrong",
                                             Flag.resolved_at.is_(None))
                  .scalar_subquery())
    agg = session.execute(
        select(func.count(), func.count().filter(Attempt.correct),
               func.percentile_cont(0.5).within_group(Attempt.seconds),
               func.avg(func.power((Attempt.confidence - 1) / 4.0
                                   - case((Attempt.correct, 1.0), else_=0.0), 2)),
               flag_count, wrong_open)
        .where(Attempt.question_id == q.id)
    ).one()
    flags = (agg[4], agg[5])
    params = quality_params(settings)
    breakdown = quality_rules.quality_from_aggregates(
        attempts=agg[0], correct=agg[1], median_seconds=float(agg[2] or 0),
        mean_calibration_error=float(agg[3] or 0), flags=flags[0], params=params)
    q.quality_score = breakdown.score
    reason = quality_rules.retirement(breakdown, flagged_wrong=flags[1] > 0, params=params)
    if reason is quality_rules.Retirement.FLAGGED_WRONG:
        if q.status == "active":
            q.status = "flagged"
    elif reason is not None and q.status == "active":
        q.status = "retired"
        log.info("question retired", extra={"question_id": q.id, "reason": str(reason)})
    return str(reason) if reason else None


# --- disputes ------------------------------------------------------------------------------


def dispute_attempt(session_factory: sessionmaker[Session], *, user_id: int, attempt_id: int,
                    note: str = "", settings: Settings) -> AnswerResult:
    """"I was right": record the dispute and re-score the attempt as correct (XP, and the
    schedule when it is still the question's latest answer).

    Raises:
        NotFound: no such attempt for this learner.
        InvalidInput: the answer was already right, already disputed, or the note is too long.
    """
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"Keep the note under {MAX_NOTE_CHARS} characters.")
    with session_factory.begin() as session:
        profile = _profile(session, user_id, lock=True)
        attempt = session.scalar(select(Attempt).where(Attempt.id == attempt_id,
                                                       Attempt.user_id == user_id)
                                 .with_for_update())
        if attempt is None:
            raise NotFound("That answer was not found.")
        if attempt.disputed_at is not None:
            raise InvalidInput("You already disputed this answer; it was re-scored as right.")
        if attempt.correct:
            raise InvalidInput("This answer was already marked right.")
        q = _question(session, user_id, attempt.question_id)
        g = grade_attempt(correct=True, confidence=attempt.confidence, seconds=attempt.seconds,
                          hinted=attempt.hinted,
                          params=RatingParams(slow_after_s=settings.grading.slow_after_s))
        new_xp = xp_rules.xp_for_answer(correct=True, difficulty=q.difficulty,
                                        confidence=attempt.confidence,
                                        params=xp_params(settings))
        _add_xp(profile, new_xp - attempt.xp, settings)
        rs = session.scalar(select(ReviewState).where(ReviewState.question_id == q.id)
                            .with_for_update())
        if rs is not None and rs.reviews == attempt.review_number:
            # Still the latest answer: redo this review from the state before it.
            s_old, f_old = _states_from_json(attempt.state_before)
            s_new = sm2.review(s_old, g.quality, reviewed_at=attempt.answered_at,
                               params=sm2_params(settings))
            f_new = fsrs6.review(f_old, g.rating, reviewed_at=attempt.answered_at,
                                 params=fsrs_params(settings, _personal_parameters(
                                     session, user_id) if profile.scheduler == "fsrs" else None))
            rs.lapses = max(0, rs.lapses - 1)
            _apply_states(rs, s_new, f_new, profile.scheduler)
            attempt.state_after = _state_json(rs)
        attempt.correct, attempt.score = True, 1.0
        attempt.quality, attempt.rating, attempt.xp = g.quality, g.rating, new_xp
        attempt.disputed_at = _utcnow()
        attempt.dispute_note = note.strip()
        attempt.grade_reason = (attempt.grade_reason + " You disputed this; it now counts as "
                                "right.").strip()
        session.flush()
        _refresh_quality(session, q, settings)
        return _result(session, attempt, q, profile, duplicate=False)


# --- flags, keep, retire -------------------------------------------------------------------


@dataclass(frozen=True)
class FlagOutcome:
    flag_id: int
    status: str  # the question's status afterwards


def flag_question(session_factory: sessionmaker[Session], *, user_id: int, question_id: int,
                  reason: str, note: str = "", attempt_id: int | None = None,
                  settings: Settings) -> FlagOutcome:
    """Record a flag. "wrong" takes the question out of the queues at once (to the review
    list); any flag may retire it through the flag-rate rule.

    Raises:
        NotFound: no such question (or attempt) for this learner.
        InvalidInput: unknown reason, or a note that is too long.
    """
    problems = []
    if reason not in FLAG_REASONS:
        problems.append("Choose why you are flagging it: wrong, unclear, duplicate or other.")
    if len(note) > MAX_NOTE_CHARS:
        problems.append(f"Keep the note under {MAX_NOTE_CHARS} characters.")
    if reason == "other" and not note.strip():
        problems.append("Add a short note saying what is wrong.")
    if problems:
        raise InvalidInput(" ".join(problems))
    with session_factory.begin() as session:
        q = _question(session, user_id, question_id, lock=True)
        if attempt_id is not None and session.scalar(
                select(Attempt.id).where(Attempt.id == attempt_id, Attempt.user_id == user_id,
                                         Attempt.question_id == question_id)) is None:
            raise NotFound("That answer was not found.")
        flag = Flag(user_id=user_id, question_id=q.id, attempt_id=attempt_id, reason=reason,
                    note=note.strip())
        session.add(flag)
        session.flush()
        _refresh_quality(session, q, settings)
        return FlagOutcome(flag.id, q.status)


def _resolve_flags(session: Session, user_id: int, question_id: int, resolution: str) -> None:
    session.execute(update(Flag).where(Flag.user_id == user_id, Flag.question_id == question_id,
                                       Flag.resolved_at.is_(None))
                    .values(resolved_at=_utcnow(), resolution=resolution))


def keep_question(session_factory: sessionmaker[Session], *, user_id: int,
                  question_id: int) -> None:
    """The learner checked a flagged or retired question and wants it back in the queues."""
    with session_factory.begin() as session:
        q = _question(session, user_id, question_id, lock=True)
        _resolve_flags(session, user_id, q.id, "kept")
        q.status = "active"


def retire_question(session_factory: sessionmaker[Session], *, user_id: int,
                    question_id: int) -> None:
    """Take a question out of the queues for good (its history is kept)."""
    with session_factory.begin() as session:
        q = _question(session, user_id, question_id, lock=True)
        _resolve_flags(session, user_id, q.id, "retired")
        q.status = "retired"


@dataclass(frozen=True)
class AttentionItem:
    question_id: int
    status: str
    stem: str
    material_title: str
    page_start: int
    quality_score: float | None
    open_flags: list[tuple[str, str]]  # (reason, note)
    replaceable: bool


def needs_attention(session_factory: sessionmaker[Session], *,
                    user_id: int) -> list[AttentionItem]:
    """Questions with an open flag of any reason (whatever their status), flagged ones, and
    retired ones not yet replaced, newest change first."""
    replaced = select(Question.replaces_question_id).where(
        Question.user_id == user_id, Question.replaces_question_id.is_not(None))
    open_flag = exists().where(Flag.question_id == Question.id, Flag.user_id == user_id,
                               Flag.resolved_at.is_(None))
    with session_factory() as session:
        qs = session.scalars(
            select(Question).where(Question.user_id == user_id,
                                   Question.status.in_(("flagged", "retired")) | open_flag,
                                   Question.id.not_in(replaced))
            .order_by(Question.updated_at.desc(), Question.id.desc()).limit(200)
        ).all()
        flags: dict[int, list[tuple[str, str]]] = {}
        if qs:
            for qid, reason, note in session.execute(
                    select(Flag.question_id, Flag.reason, Flag.note)
                    .where(Flag.user_id == user_id, Flag.resolved_at.is_(None),
                           Flag.question_id.in_([q.id for q in qs])).order_by(Flag.id)):
                flags.setdefault(qid, []).append((reason, note))
        return [AttentionItem(q.id, q.status, q.stem, q.material_title, q.page_start,
                              q.quality_score, flags.get(q.id, []),
                              q.source_chunk_id is not None) for q in qs]


# --- counts and the scheduler ----------------------------------------------------------------


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


def review_counts(session_factory: sessionmaker[Session], *, user_id: int,
                  now: dt.datetime | None = None) -> ReviewCounts:
    """Due now / by the end of the learner's day / within 7 days, per material too."""
    now = _aware(now)
    with session_factory() as session:
        profile = _profile(session, user_id)
        end_of_day = _local_midnight(now, profile.timezone) + dt.timedelta(days=1)
        week = now + dt.timedelta(days=7)
        live = and_(ReviewState.user_id == user_id, ~ReviewState.suspended)
        totals = session.execute(
            select(func.count().filter(ReviewState.due_at <= now),
                   func.count().filter(ReviewState.due_at < end_of_day),
                   func.count().filter(ReviewState.due_at < week), func.count(),
                   func.min(ReviewState.due_at).filter(ReviewState.due_at > now))
            .where(live)).one()
        per_material = session.execute(
            select(Question.material_title, func.count().filter(ReviewState.due_at <= now),
                   func.count().filter(ReviewState.due_at < week), func.count())
            .join(Question, Question.id == ReviewState.question_id)
            .where(live).group_by(Question.material_title)
            .order_by(func.count().filter(ReviewState.due_at <= now).desc(),
                      Question.material_title)).all()
        new_available = session.scalar(
            select(func.count()).select_from(Question)
            .where(Question.user_id == user_id, Question.status == "active",
                   ~exists().where(ReviewState.question_id == Question.id))) or 0
    return ReviewCounts(due_now=totals[0], due_today=totals[1], due_week=totals[2],
                        scheduled=totals[3], new_available=new_available,
                        next_due_at=totals[4], scheduler=profile.scheduler,
                        by_material=[MaterialCounts(*row) for row in per_material])


def set_scheduler(session_factory: sessionmaker[Session], *, user_id: int,
                  scheduler: str) -> None:
    """Switch between SM-2 and FSRS. Both states are always kept, so every due date moves to
    the chosen scheduler's at once and nothing is lost.

    Raises:
        InvalidInput: an unknown scheduler.
    """
    if scheduler not in SCHEDULERS:
        raise InvalidInput("Choose SM-2 or FSRS.")
    with session_factory.begin() as session:
        profile = _profile(session, user_id, lock=True)
        if profile.scheduler == scheduler:
            return
        profile.scheduler = scheduler
        session.execute(
            update(ReviewState).where(ReviewState.user_id == user_id)
            .values(due_at=ReviewState.fsrs_due_at if scheduler == "fsrs"
                    else ReviewState.sm2_due_at))


# --- personal FSRS parameters ------------------------------------------------------------------


@dataclass(frozen=True)
class SchedulerInfo:
    scheduler: str
    reviews: int
    min_reviews: int
    personal: bool  # personal FSRS parameters are in use
    message: str | None
    fitted_at: dt.datetime | None


def scheduler_info(session_factory: sessionmaker[Session], *, user_id: int,
                   settings: Settings) -> SchedulerInfo:
    with session_factory() as session:
        profile = _profile(session, user_id)
        reviews = session.scalar(select(func.count()).select_from(Attempt)
                                 .where(Attempt.user_id == user_id)) or 0
        row = session.get(SchedulerParameters, user_id)
        return SchedulerInfo(profile.scheduler, reviews,
                             settings.scheduling.fsrs_optimise_min_reviews,
                             bool(row and row.adopted), row.message if row else None,
                             row.fitted_at if row else None)


def review_history(session: Session, user_id: int) -> list[Review]:
    """The learner's answers as scheduler reviews, in time order."""
    return [Review(card_id=qid, rating=rating, reviewed_at=at, quality=quality)
            for qid, rating, quality, at in session.execute(
                select(Attempt.question_id, Attempt.rating, Attempt.quality, Attempt.answered_at)
                .where(Attempt.user_id == user_id).order_by(Attempt.answered_at, Attempt.id))]


def optimise_fsrs(session_factory: sessionmaker[Session], *, user_id: int, settings: Settings,
                  fit: Fitter = fit_parameters) -> OptimisationResult:
    """Fit FSRS-6 to the learner's own history and adopt the result only if it predicts their
    held-back recent reviews better than the parameters in use (see engine.scheduling.optimise).

    Raises:
        NotEnoughHistory: fewer reviews than `fsrs_optimise_min_reviews`.
    """
    with session_factory() as session:
        _profile(session, user_id)
        history = review_history(session, user_id)
        current = _personal_parameters(session, user_id) or fsrs6.DEFAULT_FSRS_PARAMETERS
    if len(history) < settings.scheduling.fsrs_optimise_min_reviews:
        raise NotEnoughHistory(
            "Personal FSRS parameters need at least "
            f"{settings.scheduling.fsrs_optimise_min_reviews} "
            f"answers; you have {len(history)}. Until then FSRS uses its default parameters.")
    result = choose_parameters(history, current=current,
                               min_reviews=settings.scheduling.fsrs_optimise_min_reviews,
                               holdout_fraction=settings.scheduling.fsrs_holdout_fraction, fit=fit,
                               base=fsrs_params(settings))
    with session_factory.begin() as session:
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
        row.fitted_at = _utcnow()
    return result


# --- replace -------------------------------------------------------------------------------


def replace_question(session_factory: sessionmaker[Session], *, user_id: int,
                     question_id: int, settings: Settings) -> int:
    """Make a new question from the same source passage (with the grading model when one is
    configured, offline otherwise) that takes over the old one's scheduling state, and retire
    the old one. Returns the new question's id.

    Raises:
        NotFound: no such question for this learner, or its source passage is gone.
        InvalidInput: the question was already replaced.
        NothingGenerated, RateLimited, LLMUnavailable...: as for generation.
    """
    from engine.generation.service import generate_from_chunk, save_questions

    with session_factory() as session:
        q = _question(session, user_id, question_id)
        if session.scalar(select(Question.id).where(Question.user_id == user_id,
                                                    Question.replaces_question_id == q.id)):
            raise InvalidInput("This question was already replaced.")
        chunk_id, qtype, difficulty = q.source_chunk_id, q.type, q.difficulty
    if chunk_id is None:
        raise NotFound("The source passage of this question is no longer in your library, so "
                       "it cannot be replaced. Retire it instead.")
    drafts = generate_from_chunk(session_factory, user_id=user_id, chunk_id=chunk_id,
                                 question_type=qtype, difficulty=difficulty, settings=settings)
    (new_id,) = save_questions(session_factory, user_id=user_id, drafts=drafts[:1],
                               replaces_question_id=question_id)
    try:
        with session_factory.begin() as session:
            _profile(session, user_id, lock=True)
            old = _question(session, user_id, question_id, lock=True)
            _resolve_flags(session, user_id, old.id, "replaced")
            old.status = "retired"
            # The learning history carries over: same schedule, now for the new question.
            session.execute(update(ReviewState)
                            .where(ReviewState.question_id == old.id,
                                   ReviewState.user_id == user_id)
                            .values(question_id=new_id, suspended=False))
    except Exception:
        # Leave nothing half-done: without the hand-over the new question must not exist.
        with session_factory.begin() as session:
            session.execute(Question.__table__.delete().where(Question.id == new_id,
                                                               Question.user_id == user_id))
        raise
    return new_id
