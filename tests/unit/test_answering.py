"""The answer rule (engine.practice.answering), pure: expectations worked out by hand from the
rules in engine.scheduling.rating, sm2, engine.scoring.xp and quality."""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace

import pytest

from engine.practice.answering import (
    Aggregates,
    AnswerParams,
    AnswerSnapshot,
    DisputedAttempt,
    Learner,
    QualityOutcome,
    QuestionFacts,
    Schedule,
    apply_answer,
    apply_dispute,
    judge_quality,
    with_cohort_score,
)
from engine.scheduling import fsrs6, sm2
from engine.scheduling.rating import RatingParams
from engine.scoring.quality import QualityParams, Retirement
from engine.scoring.xp import Streak, XPParams

NOW = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
PARAMS = AnswerParams(
    sm2=sm2.SM2Params(),
    fsrs=fsrs6.FSRSParams(),
    xp=XPParams(),
    quality=QualityParams(),
    rating=RatingParams(),
)
NO_ATTEMPTS = Aggregates(0, 0, (), 0.0, 0, 0)


def right(correct: bool = True) -> SimpleNamespace:
    return SimpleNamespace(correct=correct)


def snapshot(
    *,
    xp: int = 0,
    level: int = 1,
    scheduler: str = "sm2",
    difficulty: int = 3,
    schedule: Schedule | None = None,
    prior: Aggregates = NO_ATTEMPTS,
    personal: tuple[float, ...] | None = None,
) -> AnswerSnapshot:
    return AnswerSnapshot(
        learner=Learner(
            scheduler=scheduler,
            timezone="Europe/Paris",
            xp=xp,
            level=level,
            streak=Streak(0, 0, None),
            personal_parameters=personal,
        ),
        question=QuestionFacts(difficulty=difficulty, status="active", quality_score=None),
        schedule=schedule,
        prior=prior,
    )


def reviewed_schedule() -> Schedule:
    """A question answered right three times, last six days ago."""
    last = NOW - 6 * DAY
    return Schedule(
        due_at=NOW,
        reviews=3,
        lapses=0,
        last_reviewed_at=last,
        sm2=sm2.SM2State(3, 6, 2.5, NOW),
        fsrs=fsrs6.FSRSState(2, None, 6.0, 5.0, NOW, last),
    )


def test_a_first_confident_quick_right_answer():
    out = apply_answer(
        snapshot(difficulty=5), right(), confidence=5, seconds=25, now=NOW, params=PARAMS
    )
    # correct, confident, under 60 s: SM-2 quality 5, FSRS Easy.
    assert (out.grade.quality, out.grade.rating) == (5, 4)
    # SM-2 from new: 1 day, one repetition, easiness 2.5 + 0.1.
    assert out.schedule.sm2 == sm2.SM2State(1, 1, 2.6, NOW + DAY)
    assert (out.schedule.due_at, out.schedule.reviews, out.schedule.lapses) == (NOW + DAY, 1, 0)
    assert out.schedule.last_reviewed_at == NOW
    # difficulty 5: x1.5, so 15 base + 15 for right + 5 for confidently right.
    assert (out.xp_earned, out.xp_total, out.level, out.leveled_up) == (35, 35, 1, False)
    assert out.streak == Streak(1, 1, dt.date(2026, 5, 4))
    # One attempt is below the five needed for a score.
    assert (out.quality.score, out.quality.status, out.quality.retirement) == (None, "active", None)
    assert out.next_due_at == NOW + DAY and not out.suspended


def test_a_confident_wrong_answer_lapses_and_earns_the_base_only():
    out = apply_answer(
        snapshot(schedule=reviewed_schedule(), xp=40),
        right(False),
        confidence=5,
        seconds=30,
        now=NOW,
        params=PARAMS,
    )
    assert (out.grade.quality, out.grade.rating) == (0, 1)
    # A lapse: back to one day; easiness 2.5 + 0.1 - 5 x (0.08 + 5 x 0.02) = 1.7.
    assert out.schedule.sm2 == sm2.SM2State(0, 1, 1.7, NOW + DAY)
    assert (out.schedule.reviews, out.schedule.lapses) == (4, 1)
    assert (out.xp_earned, out.xp_total) == (10, 50)


def test_crossing_100_xp_is_level_two():
    out = apply_answer(snapshot(xp=90), right(), confidence=3, seconds=30, now=NOW, params=PARAMS)
    # right at confidence 3: quality 4, Good; 10 + 10 XP.
    assert (out.grade.quality, out.grade.rating) == (4, 3)
    assert (out.xp_earned, out.xp_total, out.level, out.leveled_up) == (20, 110, 2, True)


def test_the_learners_scheduler_sets_the_due_date_and_personal_weights_only_for_fsrs():
    personal = (0.01, 0.01, 0.01, 0.01, *fsrs6.DEFAULT_FSRS_PARAMETERS[4:])
    sm2_out = apply_answer(
        snapshot(personal=personal), right(), confidence=3, seconds=30, now=NOW, params=PARAMS
    )
    fsrs_out = apply_answer(
        snapshot(scheduler="fsrs"), right(), confidence=3, seconds=30, now=NOW, params=PARAMS
    )
    own_out = apply_answer(
        snapshot(scheduler="fsrs", personal=personal),
        right(),
        confidence=3,
        seconds=30,
        now=NOW,
        params=PARAMS,
    )
    assert sm2_out.schedule.due_at == sm2_out.schedule.sm2.due_at == NOW + DAY
    assert fsrs_out.schedule.due_at == fsrs_out.schedule.fsrs.due_at
    # Both schedulers always follow the answer; under SM-2 the FSRS state uses the defaults.
    assert sm2_out.schedule.fsrs == fsrs_out.schedule.fsrs
    assert own_out.schedule.fsrs != fsrs_out.schedule.fsrs


def test_quality_includes_this_answer():
    # Four earlier attempts, two right, calibration errors summing to 0.5.
    prior = Aggregates(4, 2, (60, 90, 100, 120), 0.5, 0, 0)
    out = apply_answer(
        snapshot(prior=prior), right(), confidence=3, seconds=80, now=NOW, params=PARAMS
    )
    # 3/5 right: success 1; median 90 s: time 1; errors (0.5 + (0.5 - 1)^2) / 5 = 0.15:
    # calibration 0.85; no flags. 0.4 + 0.3 + 0.2 x 0.85 + 0.1 = 0.97.
    assert out.quality.score == pytest.approx(0.97)
    assert out.quality.status == "active"


def test_a_question_everyone_rushes_through_confidently_wrongly_is_retired():
    # Four right answers in 1 s each at confidence 1: calibration error 1 each.
    prior = Aggregates(4, 4, (1, 1, 1, 1), 4.0, 0, 0)
    out = apply_answer(
        snapshot(prior=prior), right(), confidence=1, seconds=1, now=NOW, params=PARAMS
    )
    # success (1 - 1) / 0.3 = 0; time 1/60; calibration 0; no flags:
    # 0.3 / 60 + 0.1 = 0.105 < 0.3.
    assert out.quality.score == pytest.approx(0.105)
    assert (out.quality.status, out.quality.retirement) == ("retired", Retirement.LOW_SCORE)
    assert out.suspended and out.next_due_at is None


def test_an_open_wrong_flag_takes_it_out_and_only_active_questions_change_status():
    flagged = Aggregates(0, 0, (), 0.0, 1, 1)
    out = apply_answer(
        snapshot(prior=flagged), right(), confidence=3, seconds=30, now=NOW, params=PARAMS
    )
    assert (out.quality.status, out.quality.retirement) == ("flagged", Retirement.FLAGGED_WRONG)
    retired = QuestionFacts(difficulty=3, status="retired", quality_score=0.2)
    kept = judge_quality(retired, Aggregates(1, 1, (30,), 0.0, 1, 1), PARAMS.quality)
    assert kept.status == "retired"
    assert kept.changed(retired)  # the score went from 0.2 to unrated


def test_a_dispute_counts_the_answer_as_right_when_it_was_given():
    answered_at = NOW - 2 * DAY
    current = Schedule(
        due_at=answered_at + DAY,
        reviews=1,
        lapses=1,
        last_reviewed_at=answered_at,
        sm2=sm2.SM2State(0, 1, 1.96, answered_at + DAY),
        fsrs=fsrs6.FSRSState(1, 0, 0.2, 7.0, answered_at + DAY, answered_at),
    )
    attempt = DisputedAttempt(
        confidence=2,
        seconds=30,
        hinted=False,
        answered_at=answered_at,
        xp=10,
        review_number=1,
        state_before=None,
    )
    out, schedule = apply_dispute(snapshot(xp=50, schedule=current), attempt, params=PARAMS)
    # right at confidence 2 (a guess): quality 3, Hard; 10 + 10 XP instead of 10.
    assert (out.grade.quality, out.grade.rating) == (3, 2)
    assert (out.xp_earned, out.xp_total, out.leveled_up) == (20, 60, False)
    # Redone from new at the time of the answer: easiness 2.5 + 0.1 - 2 x (0.08 + 2 x 0.02).
    assert schedule is not None
    assert schedule.sm2 == sm2.SM2State(1, 1, 2.36, answered_at + DAY)
    assert (schedule.due_at, schedule.reviews, schedule.lapses, schedule.last_reviewed_at) == (
        answered_at + DAY,
        1,
        0,
        answered_at,
    )


def test_a_dispute_after_a_later_review_leaves_the_schedule():
    current = dataclasses.replace(reviewed_schedule(), reviews=2)
    attempt = DisputedAttempt(
        confidence=4,
        seconds=30,
        hinted=False,
        answered_at=NOW - DAY,
        xp=10,
        review_number=1,
        state_before={"not": "read"},
    )
    out, schedule = apply_dispute(snapshot(xp=50, schedule=current), attempt, params=PARAMS)
    assert schedule is None
    assert (out.xp_earned, out.xp_total) == (25, 65)  # 10 + 10 + 5 for confident


def test_the_schedule_codec_round_trips():
    s = reviewed_schedule()
    assert Schedule.from_json(s.to_json()) == s
    assert Schedule.from_columns(SimpleNamespace(**s.columns())) == s
    assert s.to_json()["fsrs"]["last_reviewed_at"] == (NOW - 6 * DAY).isoformat()
    assert set(s.columns()) == {
        "due_at",
        "reviews",
        "lapses",
        "last_reviewed_at",
        "sm2_repetitions",
        "sm2_interval_days",
        "sm2_easiness",
        "sm2_due_at",
        "fsrs_state",
        "fsrs_step",
        "fsrs_stability",
        "fsrs_difficulty",
        "fsrs_due_at",
    }


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        apply_answer(
            snapshot(),
            right(),
            confidence=3,
            seconds=30,
            now=NOW.replace(tzinfo=None),
            params=PARAMS,
        )
    with pytest.raises(ValueError, match="confidence"):
        apply_answer(snapshot(), right(), confidence=9, seconds=30, now=NOW, params=PARAMS)


def test_a_course_copy_takes_the_class_score_and_is_not_retired_for_its_own_low_score():
    active = QuestionFacts(difficulty=3, status="active", quality_score=0.5)
    low = QualityOutcome(0.1, "retired", Retirement.LOW_SCORE)
    assert with_cohort_score(low, active, 0.8) == QualityOutcome(0.8, "active", None)
    flagged = QualityOutcome(0.1, "flagged", Retirement.FLAGGED_WRONG)  # the learner's own flag
    assert with_cohort_score(flagged, active, 0.8) == QualityOutcome(
        0.8, "flagged", Retirement.FLAGGED_WRONG
    )
