"""What an analytics query covers: the learner, their time zone, the filters and the moment.

Every chart function takes a `Scope` and runs one or two aggregate statements in PostgreSQL;
the rows that come back are per day, hour, bucket or page, never per attempt.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import select, text

from engine.analytics import maths
from engine.db.models import Material, Profile, SchedulerParameters
from engine.errors import InvalidInput, NotFound
from engine.scheduling.fsrs6 import DEFAULT_FSRS_PARAMETERS

if TYPE_CHECKING:
    from engine.runtime import Runtime


@dataclass(frozen=True)
class Scope:
    user_id: int
    timezone: str
    now: dt.datetime
    start: dt.date  # first local day of the date filter
    end: dt.date  # last local day of the date filter (inclusive)
    material_id: int | None
    scheduler: str
    exam_date: dt.date | None
    target_retention: float
    decay: float
    factor: float
    level_step: int = 100  # XP needed per level, growing (settings.scoring.xp_level_step)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.zone).date()

    def midnight(self, day: dt.date) -> dt.datetime:
        """The instant the local `day` begins (UTC), for index range scans on timestamps."""
        return dt.datetime.combine(day, dt.time(), tzinfo=self.zone).astimezone(dt.UTC)

    def params(self, **extra: Any) -> dict[str, Any]:
        return {
            "u": self.user_id,
            "tz": self.timezone,
            "now": self.now,
            "t0": self.midnight(self.start),
            "t1": self.midnight(self.end + dt.timedelta(1)),
            "m": self.material_id,
            "decay": self.decay,
            "factor": self.factor,
            **extra,
        }


DEFAULT_DAYS = 90


def make_scope(
    rt: Runtime,
    *,
    user_id: int,
    start: dt.date | None = None,
    end: dt.date | None = None,
    material_id: int | None = None,
    now: dt.datetime | None = None,
) -> Scope:
    """The scope for a learner's charts: the last 90 local days unless told otherwise.

    Raises:
        InvalidInput: the date range ends before it starts.
        NotFound: the account, or the chosen material, is not this learner's.
    """
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    with rt.session_factory() as session:
        profile = session.get(Profile, user_id)
        if profile is None:
            raise NotFound("Your account could not be found. Please log in again.")
        if (
            material_id is not None
            and session.scalar(
                select(Material.id).where(Material.id == material_id, Material.user_id == user_id)
            )
            is None
        ):
            raise NotFound("That material is not in your library (it may have been deleted).")
        personal = session.get(SchedulerParameters, user_id)
    parameters = (
        personal.parameters
        if personal is not None and personal.adopted
        else DEFAULT_FSRS_PARAMETERS
    )
    today = now.astimezone(zoneinfo.ZoneInfo(profile.timezone)).date()
    end = end or today
    start = start or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidInput(
            "The date range ends before it starts. Choose a start date on or before the end date."
        )
    decay, factor = maths.forgetting_curve(parameters)
    return Scope(
        user_id=user_id,
        timezone=profile.timezone,
        now=now,
        start=start,
        end=end,
        material_id=material_id,
        scheduler=profile.scheduler,
        exam_date=profile.exam_date,
        target_retention=rt.settings.scheduling.fsrs_desired_retention,
        decay=decay,
        factor=factor,
        level_step=rt.settings.scoring.xp_level_step,
    )


LOCAL_SETTINGS = text(
    "SELECT set_config('work_mem', '32MB', true), "
    "set_config('max_parallel_workers_per_gather', '0', true)"
)


def frame(rt: Runtime, sql: str, params: dict[str, Any], columns: list[str]) -> pd.DataFrame:
    """Run one aggregate statement and return its (small) result as a DataFrame."""
    with rt.session_factory() as session:
        # Small aggregates of one learner's rows: room to hash in memory, and no parallel
        # workers (their start-up costs more than they save on slices this size).
        session.execute(LOCAL_SETTINGS)
        rows = session.execute(text(sql), params).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


# SQL fragments shared by the chart queries. `:m` is the material filter (NULL for all).
LOCAL_DAY = "(a.answered_at AT TIME ZONE :tz)::date"
MATERIAL_FILTER = (
    "(CAST(:m AS bigint) IS NULL OR EXISTS (SELECT 1 FROM questions fq "
    "WHERE fq.id = {alias}.question_id AND fq.material_id = CAST(:m AS bigint)))"
)
# When the question was answered before this answer (saved with it; in the covering index).
PREVIOUS_AT = "a.previous_answered_at"
STATE_INTERVAL = "extract(epoch FROM rs.due_at - rs.last_reviewed_at) / 86400.0"
RECALL = (
    "power(1 + :factor * greatest(extract(epoch FROM :now - rs.last_reviewed_at), 0) "
    "/ 86400.0 / greatest(rs.fsrs_stability, 0.001), :decay)"
)


def material_filter(alias: str) -> str:
    return MATERIAL_FILTER.format(alias=alias)
