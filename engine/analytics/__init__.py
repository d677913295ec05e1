"""Learner analytics: one function per chart, each returning a small DataFrame aggregated in
PostgreSQL (`activity`, `knowledge`), the pure arithmetic behind them (`maths`) and exports
(`export`, `anki`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from engine.analytics import activity, knowledge
from engine.analytics.scope import Scope, make_scope
from engine.analytics.version import data_version

if TYPE_CHECKING:
    from engine.runtime import Runtime

ChartFn = Callable[["Runtime", Scope], pd.DataFrame]

# Every chart of the Analytics page, in page order.
CHARTS: dict[str, ChartFn] = {
    "today": activity.today,
    "calendar": activity.calendar,
    "streak": activity.streak,
    "reviews_per_day": activity.reviews_per_day,
    "future_due": knowledge.future_due,
    "card_counts": knowledge.card_counts,
    "intervals": knowledge.intervals,
    "scheduler_distribution": knowledge.scheduler_distribution,
    "true_retention": activity.true_retention,
    "retention_over_time": activity.retention_over_time,
    "knowledge": knowledge.knowledge,
    "hourly": activity.hourly,
    "outcomes_by_type": activity.outcomes_by_type,
    "calibration": activity.calibration,
    "coverage": knowledge.coverage,
    "readiness": knowledge.readiness,
    "question_quality": knowledge.question_quality,
    "time_per_question": activity.time_per_question,
    "xp_progress": activity.xp_progress,
    "model_usage": knowledge.model_usage,
}


def chart(name: str, rt: Runtime, scope: Scope) -> pd.DataFrame:
    """The data of one chart by name (KeyError for an unknown one)."""
    return CHARTS[name](rt, scope)


def page_data(rt: Runtime, scope: Scope) -> dict[str, pd.DataFrame]:
    """Every chart's data for one learner and filter."""
    return {name: fn(rt, scope) for name, fn in CHARTS.items()}


__all__ = ["CHARTS", "Scope", "chart", "data_version", "make_scope", "page_data"]
