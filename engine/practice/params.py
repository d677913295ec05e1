"""The practice rules' parameters, read from the settings: SM-2, FSRS, rating, XP, quality."""

from __future__ import annotations

from collections.abc import Sequence

from engine.config import Settings
from engine.practice.answering import AnswerParams
from engine.scheduling import fsrs6, sm2
from engine.scheduling.rating import RatingParams
from engine.scoring import quality as quality_rules, xp as xp_rules


def sm2_params(settings: Settings) -> sm2.SM2Params:
    return sm2.SM2Params(
        initial_easiness=settings.scheduling.sm2_initial_easiness,
        min_easiness=settings.scheduling.sm2_min_easiness,
        max_easiness=settings.scheduling.sm2_max_easiness,
        first_interval_days=settings.scheduling.sm2_first_interval_days,
        second_interval_days=settings.scheduling.sm2_second_interval_days,
        max_interval_days=settings.scheduling.sm2_max_interval_days,
    )


def fsrs_params(settings: Settings, parameters: Sequence[float] | None = None) -> fsrs6.FSRSParams:
    return fsrs6.FSRSParams(
        parameters=tuple(parameters) if parameters else fsrs6.DEFAULT_FSRS_PARAMETERS,
        desired_retention=settings.scheduling.fsrs_desired_retention,
        maximum_interval_days=settings.scheduling.fsrs_maximum_interval_days,
        enable_fuzzing=settings.scheduling.fsrs_enable_fuzzing,
    )


def xp_params(settings: Settings) -> xp_rules.XPParams:
    return xp_rules.XPParams(
        base=settings.scoring.xp_base,
        correct_bonus=settings.scoring.xp_correct_bonus,
        calibration_bonus=settings.scoring.xp_calibration_bonus,
        level_step=settings.scoring.xp_level_step,
    )


def quality_params(settings: Settings) -> quality_rules.QualityParams:
    return quality_rules.QualityParams(
        min_attempts=settings.scoring.quality_min_attempts,
        retire_below=settings.scoring.quality_retire_below,
        flag_rate_retire=settings.scoring.quality_flag_rate_retire,
        flag_min_attempts=settings.scoring.quality_flag_min_attempts,
    )


def rating_params(settings: Settings) -> RatingParams:
    return RatingParams(slow_after_s=settings.grading.slow_after_s)


def answer_params(settings: Settings) -> AnswerParams:
    return AnswerParams(
        sm2=sm2_params(settings),
        fsrs=fsrs_params(settings),
        xp=xp_params(settings),
        quality=quality_params(settings),
        rating=rating_params(settings),
    )
