"""What one answer does to a learner and to the question: the rule, as pure functions.

`apply_answer` takes what was read before the answer (the learner's XP, level, streak and
scheduler; the question's schedule; the question's earlier attempts and flags as aggregates)
and returns everything that changes: the SM-2 quality and FSRS rating, both schedulers' new
states, the XP earned and the new level, the streak, and the question's quality score and
status. Submitting an answer and disputing one ("I was right") both use it.

`Schedule` is the one mapping between a question's review state, its columns and the JSON
copy kept on each attempt (`state_before`, `state_after`).

Nothing here touches the database, the clock or the network: `now` is an argument, and
datetimes must be timezone-aware (the schedulers check).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from engine.domain.vocabulary import QuestionStatus, Scheduler
from engine.scheduling import fsrs6, sm2
from engine.scheduling.rating import Grade, RatingParams, grade_attempt
from engine.scoring import quality as quality_rules, xp as xp_rules


@dataclass(frozen=True)
class AnswerParams:
    """The rules' constants (built from the settings by engine.practice.params). `fsrs` holds
    the default FSRS weights; a learner's adopted ones replace them for their answers."""

    sm2: sm2.SM2Params
    fsrs: fsrs6.FSRSParams
    xp: xp_rules.XPParams
    quality: quality_rules.QualityParams
    rating: RatingParams


# --- the schedule and its codec ----------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """A question's review state: both schedulers' states and the due date in use."""

    due_at: dt.datetime
    reviews: int
    lapses: int
    last_reviewed_at: dt.datetime
    sm2: sm2.SM2State
    fsrs: fsrs6.FSRSState

    @classmethod
    def from_columns(cls, row: Any) -> Schedule:
        """From anything with the review state's column names as attributes (a row)."""
        return cls(
            due_at=row.due_at,
            reviews=row.reviews,
            lapses=row.lapses,
            last_reviewed_at=row.last_reviewed_at,
            sm2=sm2.SM2State(
                row.sm2_repetitions, row.sm2_interval_days, row.sm2_easiness, row.sm2_due_at
            ),
            fsrs=fsrs6.FSRSState(
                row.fsrs_state,
                row.fsrs_step,
                row.fsrs_stability,
                row.fsrs_difficulty,
                row.fsrs_due_at,
                row.last_reviewed_at,
            ),
        )

    def columns(self) -> dict[str, Any]:
        """The review state's column values (all but the keys and `suspended`)."""
        s, f = self.sm2, self.fsrs
        return {
            "due_at": self.due_at,
            "reviews": self.reviews,
            "lapses": self.lapses,
            "last_reviewed_at": self.last_reviewed_at,
            "sm2_repetitions": s.repetitions,
            "sm2_interval_days": s.interval_days,
            "sm2_easiness": s.easiness,
            "sm2_due_at": s.due_at,
            "fsrs_state": f.state,
            "fsrs_step": f.step,
            "fsrs_stability": f.stability,
            "fsrs_difficulty": f.difficulty,
            "fsrs_due_at": f.due_at,
        }

    def to_json(self) -> dict[str, Any]:
        """The copy kept on an attempt."""
        s, f = self.sm2, self.fsrs
        return {
            "due_at": self.due_at.isoformat(),
            "reviews": self.reviews,
            "lapses": self.lapses,
            Scheduler.SM2: {
                "repetitions": s.repetitions,
                "interval_days": s.interval_days,
                "easiness": s.easiness,
                "due_at": s.due_at.isoformat(),
            },
            Scheduler.FSRS: {
                "state": f.state,
                "step": f.step,
                "stability": f.stability,
                "difficulty": f.difficulty,
                "due_at": f.due_at.isoformat(),
                "last_reviewed_at": self.last_reviewed_at.isoformat(),
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Schedule:
        s, f = data["sm2"], data["fsrs"]
        last = dt.datetime.fromisoformat(f["last_reviewed_at"])
        return cls(
            due_at=dt.datetime.fromisoformat(data["due_at"]),
            reviews=data["reviews"],
            lapses=data["lapses"],
            last_reviewed_at=last,
            sm2=sm2.SM2State(
                s["repetitions"],
                s["interval_days"],
                s["easiness"],
                dt.datetime.fromisoformat(s["due_at"]),
            ),
            fsrs=fsrs6.FSRSState(
                f["state"],
                f["step"],
                f["stability"],
                f["difficulty"],
                dt.datetime.fromisoformat(f["due_at"]),
                last,
            ),
        )


# --- what the rule reads -------------------------------------------------------------------------


class Judged(Protocol):
    """A grader's verdict (engine.practice.grading.Verdict): only `correct` matters here."""

    @property
    def correct(self) -> bool: ...


@dataclass(frozen=True)
class Learner:
    scheduler: str  # 'sm2' or 'fsrs': whose due date is used
    timezone: str
    xp: int
    level: int
    streak: xp_rules.Streak
    personal_parameters: tuple[float, ...] | None = None  # adopted FSRS weights


@dataclass(frozen=True)
class QuestionFacts:
    difficulty: int
    status: str
    quality_score: float | None


@dataclass(frozen=True)
class Aggregates:
    """A question's attempts and flags, as the quality score needs them."""

    attempts: int
    correct: int
    seconds: tuple[float, ...]
    calibration_sq: float  # sum over attempts of ((confidence - 1) / 4 - correct)^2
    flags: int
    wrong_open: int  # unresolved "wrong" flags

    def with_answer(self, *, correct: bool, confidence: int, seconds: float) -> Aggregates:
        err = ((confidence - 1) / 4 - (1.0 if correct else 0.0)) ** 2
        return Aggregates(
            self.attempts + 1,
            self.correct + int(correct),
            (*self.seconds, seconds),
            float(self.calibration_sq) + err,
            self.flags,
            self.wrong_open,
        )


@dataclass(frozen=True)
class AnswerSnapshot:
    learner: Learner
    question: QuestionFacts
    schedule: Schedule | None  # None: never reviewed
    prior: Aggregates  # the question's attempts before this answer


# --- what it returns -----------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityOutcome:
    score: float | None
    status: str
    retirement: quality_rules.Retirement | None

    def changed(self, question: QuestionFacts) -> bool:
        return self.score != question.quality_score or self.status != question.status


@dataclass(frozen=True)
class AnswerOutcome:
    grade: Grade
    schedule: Schedule
    xp_earned: int
    xp_total: int
    level: int
    leveled_up: bool
    streak: xp_rules.Streak
    quality: QualityOutcome

    @property
    def suspended(self) -> bool:
        return self.quality.status != QuestionStatus.ACTIVE

    @property
    def next_due_at(self) -> dt.datetime | None:
        return None if self.suspended else self.schedule.due_at


# --- the rule ------------------------------------------------------------------------------------


def judge_quality(
    question: QuestionFacts, aggregates: Aggregates, params: quality_rules.QualityParams
) -> QualityOutcome:
    """The question's score and status from all its attempts and flags: an active question
    with an open "wrong" flag is flagged; one the retirement rules catch is retired."""
    n = aggregates.attempts
    breakdown = quality_rules.quality_from_aggregates(
        attempts=n,
        correct=aggregates.correct,
        median_seconds=float(statistics.median(aggregates.seconds)) if aggregates.seconds else 0.0,
        mean_calibration_error=float(aggregates.calibration_sq) / n if n else 0.0,
        flags=aggregates.flags,
        params=params,
    )
    reason = quality_rules.retirement(
        breakdown, flagged_wrong=aggregates.wrong_open > 0, params=params
    )
    status = question.status
    if reason is not None and status == QuestionStatus.ACTIVE:
        flagged = reason is quality_rules.Retirement.FLAGGED_WRONG
        status = QuestionStatus.FLAGGED if flagged else QuestionStatus.RETIRED
    return QualityOutcome(breakdown.score, status, reason)


def with_cohort_score(
    quality: QualityOutcome, question: QuestionFacts, score: float
) -> QualityOutcome:
    """A course copy that enough of the class answered takes the class's score instead of the
    one from the learner's own answers; a low score then no longer retires it (the teacher acts
    on the class's verdicts), while the learner's own flags still take it out."""
    if quality.retirement is quality_rules.Retirement.LOW_SCORE:
        return QualityOutcome(score, question.status, None)
    return replace(quality, score=score)


def fsrs_params_for(learner: Learner, params: AnswerParams) -> fsrs6.FSRSParams:
    """The FSRS parameters the learner's reviews use (their adopted weights under FSRS)."""
    if learner.scheduler == Scheduler.FSRS and learner.personal_parameters:
        return replace(params.fsrs, parameters=tuple(learner.personal_parameters))
    return params.fsrs


def review(
    before: Schedule | None,
    grade: Grade,
    *,
    correct: bool,
    learner: Learner,
    now: dt.datetime,
    params: AnswerParams,
    fsrs_scheduler: fsrs6.Scheduler | None = None,
) -> Schedule:
    """Both schedulers' states after this review; the learner's scheduler sets `due_at`.

    `fsrs_scheduler`: `fsrs6.scheduler_for(fsrs_params_for(learner, params))` built once, for
    a caller replaying many reviews.
    """
    s_new = sm2.review(
        before.sm2 if before else None, grade.quality, reviewed_at=now, params=params.sm2
    )
    f_new = fsrs6.review(
        before.fsrs if before else None,
        grade.rating,
        reviewed_at=now,
        params=fsrs_params_for(learner, params),
        scheduler=fsrs_scheduler,
    )
    return Schedule(
        due_at=f_new.due_at if learner.scheduler == Scheduler.FSRS else s_new.due_at,
        reviews=(before.reviews if before else 0) + 1,
        lapses=(before.lapses if before else 0) + (0 if correct else 1),
        last_reviewed_at=now,
        sm2=s_new,
        fsrs=f_new,
    )


def _xp_after(
    learner: Learner,
    question: QuestionFacts,
    *,
    correct: bool,
    confidence: int,
    params: xp_rules.XPParams,
) -> tuple[int, int, int]:
    """The XP an answer earns, the learner's XP total after it, and their level then."""
    earned = xp_rules.xp_for_answer(
        correct=correct, difficulty=question.difficulty, confidence=confidence, params=params
    )
    xp_total = max(0, learner.xp + earned)
    return earned, xp_total, xp_rules.level_for_xp(xp_total, params)


def apply_answer(
    snapshot: AnswerSnapshot,
    verdict: Judged,
    *,
    confidence: int,
    seconds: int,
    now: dt.datetime,
    params: AnswerParams,
    hinted: bool = False,
    grade: Grade | None = None,
) -> AnswerOutcome:
    """Everything one graded answer changes.

    Args:
        snapshot: the learner, the question, its schedule and earlier attempts, before.
        verdict: the grader's verdict.
        confidence: 1-5 as the learner stated it.
        seconds: time taken, whole seconds.
        now: when it was answered (timezone-aware).
        params: the rules' constants.
        hinted: a hint was shown (the rating treats it as a harder recall).
        grade: the grade itself, when the learner rated their own recall (a flashcard);
            otherwise it is derived from the verdict, confidence, time and hint.

    Raises:
        ValueError: bad input (confidence, difficulty, naive datetime...), in one message.
    """
    learner, question = snapshot.learner, snapshot.question
    correct = verdict.correct
    if grade is None:
        grade = grade_attempt(
            correct=correct,
            confidence=confidence,
            seconds=seconds,
            hinted=hinted,
            params=params.rating,
        )
    schedule = review(
        snapshot.schedule, grade, correct=correct, learner=learner, now=now, params=params
    )
    earned, xp_total, level = _xp_after(
        learner, question, correct=correct, confidence=confidence, params=params.xp
    )
    streak = xp_rules.record_activity(learner.streak, at=now, timezone=learner.timezone)
    quality = judge_quality(
        question,
        snapshot.prior.with_answer(correct=correct, confidence=confidence, seconds=seconds),
        params.quality,
    )
    return AnswerOutcome(
        grade=grade,
        schedule=schedule,
        xp_earned=earned,
        xp_total=xp_total,
        level=level,
        leveled_up=level > learner.level,
        streak=streak,
        quality=quality,
    )


@dataclass(frozen=True)
class DisputedAttempt:
    """The attempt being disputed, as it was recorded."""

    confidence: int
    seconds: int
    hinted: bool
    answered_at: dt.datetime
    xp: int
    review_number: int
    state_before: Mapping[str, Any] | None  # its JSON copy of the schedule before it


@dataclass(frozen=True)
class _Right:
    correct: bool = True


def apply_dispute(
    snapshot: AnswerSnapshot, attempt: DisputedAttempt, *, params: AnswerParams
) -> tuple[AnswerOutcome, Schedule | None]:
    """A disputed wrong answer counted as right: the same answer applied again, correct,
    at the time it was given.

    `snapshot` is as things are now, with `prior` holding the question's other attempts. The
    learner keeps their streak; their XP changes by the difference. The schedule is redone
    from the state before the answer only when it is still the question's latest review
    (returned second; None when the schedule stays): one lapse fewer, same review count.
    """
    current = snapshot.schedule
    latest = current is not None and current.reviews == attempt.review_number
    before = (
        Schedule.from_json(attempt.state_before)
        if latest and attempt.state_before is not None
        else None
    )
    again = replace(
        snapshot,
        schedule=before,
        learner=replace(snapshot.learner, xp=snapshot.learner.xp - attempt.xp),
    )
    outcome = apply_answer(
        again,
        _Right(),
        confidence=attempt.confidence,
        seconds=attempt.seconds,
        now=attempt.answered_at,
        params=params,
        hinted=attempt.hinted,
    )
    if not latest or current is None:
        return replace(outcome, leveled_up=False), None
    schedule = replace(
        outcome.schedule,
        reviews=current.reviews,
        lapses=max(0, current.lapses - 1),
        last_reviewed_at=current.last_reviewed_at,
    )
    return replace(outcome, leveled_up=False, schedule=schedule), schedule
