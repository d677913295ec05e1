"""Pure shaping of chart data for display: when a projection has enough history behind it,
count axes that never go below zero, date ticks that never repeat a day, and the figures the
Analytics page derives from chart frames (the due window, the retention table, totals)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

# Reviews (answers to a question first seen on an earlier day) before the long-run daily load
# and the exam projection mean anything: until then every interval is the first one (a day or
# so), and "sum of 1/interval" just counts the questions answered today.
MIN_REVIEWS_FOR_PROJECTION = 20


@dataclass(frozen=True)
class ProjectionBasis:
    """How much review history a projection stands on."""

    reviews: int
    needed: int

    @property
    def ready(self) -> bool:
        return self.reviews >= self.needed

    @property
    def missing(self) -> int:
        return max(0, self.needed - self.reviews)


def projection_basis(reviews: int, *, needed: int = MIN_REVIEWS_FOR_PROJECTION) -> ProjectionBasis:
    """Whether `reviews` true reviews are enough for a projection.

    Args:
        reviews: answers to questions first answered on an earlier day (all time).
        needed: how many a projection needs.

    Raises:
        ValueError: a negative count, or needing fewer than one review.
    """
    problems = []
    if reviews < 0:
        problems.append(f"reviews must be >= 0, got {reviews}")
    if needed < 1:
        problems.append(f"needed must be >= 1, got {needed}")
    if problems:
        raise ValueError("; ".join(problems))
    return ProjectionBasis(reviews=int(reviews), needed=int(needed))


def count_range(values: Iterable[float], *, headroom: float = 0.08) -> tuple[float, float]:
    """The axis range for counts, amounts or money: from 0 to a little above the largest
    value, and (0, 1) when there is nothing above zero (never the -1..1 of an empty axis).

    Stacked values should be summed per x first (pass the per-x totals).
    """
    top = max((float(v) for v in values if v is not None and not math.isnan(float(v))), default=0.0)
    if top <= 0:
        return (0.0, 1.0)
    return (0.0, top * (1 + headroom))


def day_ticks(first: dt.date, last: dt.date, *, most: int = 8, step_days: int = 1) -> list[dt.date]:
    """Tick positions for a date axis from `first` to `last`: distinct days (or weeks with
    `step_days=7`), evenly spaced, at most `most` of them, starting on `first`.

    A short range gets one tick per day instead of the repeated "07 Dec, 07 Dec" of
    sub-day ticks.

    Raises:
        ValueError: `last` before `first`, or `most`/`step_days` below 1.
    """
    problems = []
    if last < first:
        problems.append(f"last ({last}) is before first ({first})")
    if most < 1:
        problems.append(f"most must be >= 1, got {most}")
    if step_days < 1:
        problems.append(f"step_days must be >= 1, got {step_days}")
    if problems:
        raise ValueError("; ".join(problems))
    slots = (last - first).days // step_days + 1
    stride = math.ceil(slots / most) * step_days
    return [first + dt.timedelta(days=d) for d in range(0, (last - first).days + 1, stride)]


# --- figures derived from the chart frames (engine.analytics.CHARTS) ---------------------------


def reviews_so_far(true_retention: pd.DataFrame) -> int:
    """All-time true reviews, from the `true_retention` frame (its "all" row)."""
    rows = true_retention.loc[true_retention["period"] == "all", "total"]
    return int(rows.iloc[0]) if len(rows) else 0


def due_within(future_due: pd.DataFrame, today: dt.date, days: int) -> pd.DataFrame:
    """The `future_due` rows in the next `days` days from `today` (today included).

    Raises:
        ValueError: `days` below 1.
    """
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    return future_due[future_due["day"] < today + dt.timedelta(days=days)]


# Materials a stacked chart names one by one; the rest share one "Other materials" bar. A
# learner with 50 materials otherwise gets 50 bar traces in one chart: slow to build on the
# server and to draw in the browser, and a legend no one can read.
MOST_MATERIALS_NAMED = 5
OTHER_MATERIALS = "Other materials"


def fold_materials(
    frame: pd.DataFrame, value: str, *, keep: int = MOST_MATERIALS_NAMED
) -> pd.DataFrame:
    """`frame` (columns day, material, `value`, ...) with only the `keep` materials of the
    largest `value` totals named and every other material summed per day into
    `OTHER_MATERIALS`, so the per-day and overall totals are unchanged. Returns columns day,
    material, `value`, ordered by day and material.

    Raises:
        ValueError: `keep` below 1.
    """
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    totals = frame.groupby("material")[value].sum().sort_values(ascending=False, kind="stable")
    if len(totals) <= keep + 1:  # folding one material into "other" would only rename it
        return frame[["day", "material", value]].sort_values(["day", "material"])
    named = set(totals.index[:keep])
    material = frame["material"].where(frame["material"].isin(named), OTHER_MATERIALS)
    folded = frame.assign(material=material).groupby(["day", "material"], as_index=False)[value]
    return folded.sum().sort_values(["day", "material"]).reset_index(drop=True)


def _share(rate: float, n: int) -> str:
    return f"{rate:.1%} of {int(n)}" if n else "—"


def retention_table(true_retention: pd.DataFrame) -> pd.DataFrame:
    """True retention by period as text: "91.0% of 120" for young, mature and all answers
    ("—" where there were none); columns period, young, mature, total."""
    tr = true_retention
    return pd.DataFrame(
        {
            "period": tr["period"].str.title(),
            "young": [_share(r, n) for r, n in zip(tr["young_rate"], tr["young_total"])],
            "mature": [_share(r, n) for r, n in zip(tr["mature_rate"], tr["mature_total"])],
            "total": [_share(r, n) for r, n in zip(tr["rate"], tr["total"])],
        }
    )


def predicted_recall(readiness: pd.DataFrame) -> float:
    """The share of all active questions expected to be recalled on the exam day (0 to 1);
    questions never answered count as forgotten."""
    return float(readiness["expected_recalled"].sum()) / max(1, int(readiness["questions"].sum()))


@dataclass(frozen=True)
class UsageTotals:
    """Model calls in the filtered range and what they cost (unknown costs count as 0)."""

    calls: int
    cost_usd: float


def usage_totals(model_usage: pd.DataFrame) -> UsageTotals:
    """The totals of the `model_usage` frame."""
    return UsageTotals(
        calls=int(model_usage["calls"].sum()),
        cost_usd=float(model_usage["cost_usd"].fillna(0).sum()),
    )


def untested_pages(coverage: pd.DataFrame) -> int:
    """How many pages of the `coverage` frame have no question yet."""
    return int((coverage["questions"] == 0).sum())
