"""XP per answer, the level curve and the daily streak (in the learner's own time zone).

XP for one answer = round(base x m) + (correct: round(correct_bonus x m))
                    + (correct with confidence 4-5: calibration_bonus)
where m = 1 + (difficulty - 3) x 0.25 (0.5 for difficulty 1 up to 1.5 for 5). Every answer
earns the base (practice is effort); a confident wrong answer earns no bonus.

Levels: reaching level L takes 50 x L x (L - 1) XP in total (level 2 at 100, 3 at 300, 4 at
600, 5 at 1,000...): each level needs 100 XP more than the one before.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from dataclasses import dataclass


@dataclass(frozen=True)
class XPParams:
    base: int = 10
    correct_bonus: int = 10
    calibration_bonus: int = 5
    difficulty_step: float = 0.25
    level_step: int = 100


def difficulty_multiplier(difficulty: int, params: XPParams = XPParams()) -> float:
    return 1 + (difficulty - 3) * params.difficulty_step


def xp_for_answer(
    *, correct: bool, difficulty: int, confidence: int, params: XPParams | None = None
) -> int:
    """XP earned by one answer (see the module docstring).

    Raises:
        ValueError: difficulty outside 1-5 or confidence outside 1-5.
    """
    params = params or XPParams()
    problems = []
    if not isinstance(difficulty, int) or not 1 <= difficulty <= 5:
        problems.append(f"difficulty must be 1-5, got {difficulty!r}")
    if not isinstance(confidence, int) or not 1 <= confidence <= 5:
        problems.append(f"confidence must be 1-5, got {confidence!r}")
    if problems:
        raise ValueError("; ".join(problems))
    m = difficulty_multiplier(difficulty, params)
    xp = round(params.base * m)
    if correct:
        xp += round(params.correct_bonus * m)
        if confidence >= 4:
            xp += params.calibration_bonus
    return xp


def xp_for_level(level: int, params: XPParams | None = None) -> int:
    """Total XP needed to reach `level` (level 1 needs 0)."""
    params = params or XPParams()
    if level < 1:
        raise ValueError(f"level must be >= 1, got {level}")
    return params.level_step * level * (level - 1) // 2


def level_for_xp(xp: int, params: XPParams | None = None) -> int:
    """The level a learner with `xp` total XP has reached."""
    params = params or XPParams()
    if xp < 0:
        raise ValueError(f"xp must be >= 0, got {xp}")
    level = int((1 + math.sqrt(1 + 8 * xp / params.level_step)) / 2)
    # Guard the float square root at exact boundaries.
    while xp_for_level(level + 1, params) <= xp:
        level += 1
    while level > 1 and xp_for_level(level, params) > xp:
        level -= 1
    return level


@dataclass(frozen=True)
class Streak:
    streak: int
    best_streak: int
    last_activity_date: dt.date | None


def local_date(at: dt.datetime, timezone: str) -> dt.date:
    """The calendar date at `at` in the learner's time zone (an IANA name).

    Raises:
        ValueError: naive datetime or unknown time zone.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be timezone-aware")
    try:
        zone = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {timezone!r}") from e
    return at.astimezone(zone).date()


def record_activity(current: Streak, *, at: dt.datetime, timezone: str) -> Streak:
    """The streak after activity at `at`: the same day keeps it, the next day extends it, any
    gap starts a new streak of 1. The best streak is kept."""
    today = local_date(at, timezone)
    last = current.last_activity_date
    if last is not None and today <= last:
        # Same day (or a clock that went backwards): nothing changes.
        return current
    streak = current.streak + 1 if last is not None and (today - last).days == 1 else 1
    return Streak(
        streak=streak, best_streak=max(current.best_streak, streak), last_activity_date=today
    )


def current_streak(current: Streak, *, now: dt.datetime, timezone: str) -> int:
    """The streak as it stands now: 0 once a whole local day has passed without activity."""
    if current.last_activity_date is None:
        return 0
    gap = (local_date(now, timezone) - current.last_activity_date).days
    return current.streak if gap <= 1 else 0
