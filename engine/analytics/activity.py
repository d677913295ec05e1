"""Charts of what the learner did: one aggregate statement over their attempts per chart.

Days and hours are the learner's local ones (`AT TIME ZONE` their zone); the date filter is
turned into a UTC range on `answered_at` so PostgreSQL reads only that slice of the
(user_id, answered_at) index.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING, Any

import pandas as pd

from engine.analytics import maths
from engine.analytics.scope import (
    LOCAL_DAY,
    PREVIOUS_AT,
    Scope,
    frame,
    material_filter,
)
from engine.scoring.xp import XPParams, level_for_xp

if TYPE_CHECKING:
    from engine.runtime import Runtime

CATEGORIES = ("new", "learning", "young", "mature")


def today(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """One row: answers, seconds, correct, new and review answers in the learner's today."""
    sql = f"""
        SELECT count(*), coalesce(sum(a.seconds), 0), count(*) FILTER (WHERE a.correct),
               count(*) FILTER (WHERE a.review_number = 1),
               count(*) FILTER (WHERE a.review_number > 1)
        FROM attempts a
        WHERE a.user_id = :u AND a.answered_at >= :d0 AND a.answered_at < :d1
          AND {material_filter("a")}"""
    out = frame(
        rt,
        sql,
        scope.params(
            d0=scope.midnight(scope.today), d1=scope.midnight(scope.today + dt.timedelta(1))
        ),
        ["answers", "seconds", "correct", "new", "review"],
    )
    out["accuracy"] = [maths.rate(c, n) for c, n in zip(out["correct"], out["answers"])]
    return out


def calendar(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """Answers per local day over the 12 months ending today (days without answers omitted)."""
    roll = review_rollup(rt, scope)
    roll = roll[roll["day"] > scope.today - dt.timedelta(days=365)]
    roll = roll.assign(right=roll["answers"].where(roll["correct"].astype(bool), 0))
    out = (
        roll.groupby("day", as_index=False)
        .agg(answers=("answers", "sum"), correct=("right", "sum"))
        .sort_values("day")
        .reset_index(drop=True)
    )
    return out[["day", "answers", "correct"]]


def streak(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """One row: the current and best streak of local days with at least one answer (all time,
    every material: a streak is about practising)."""
    if scope.material_id is None:
        days = pd.Series(review_rollup(rt, scope)["day"].unique())
    else:
        sql = f"SELECT DISTINCT {LOCAL_DAY} FROM attempts a WHERE a.user_id = :u"
        days = frame(rt, sql, scope.params(), ["day"])["day"]
    current, best = maths.streaks(days, scope.today)
    return pd.DataFrame([{"current": current, "best": best, "active_days": len(days)}])


def reviews_per_day(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """Answers and time per local day in the range, by what the question was before the answer
    (new, learning, young, mature), with running totals over the range."""
    roll = review_rollup(rt, scope)
    roll = roll[(roll["day"] >= scope.start) & (roll["day"] <= scope.end)]
    out = (
        roll.groupby(["day", "category"], as_index=False)[["answers", "seconds"]]
        .sum()
        .sort_values(["day", "category"], kind="stable")
        .reset_index(drop=True)
    )
    out["running_answers"] = out["answers"].cumsum()
    out["running_minutes"] = out["seconds"].cumsum() / 60.0
    return out


TIME_BUCKETS = (0, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 3600)


def answer_rollup(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """The learner's answers in the date range counted (answers, right) by local hour, by
    confidence, by time bucket and by question type and rating, for the hourly, calibration,
    time and outcome charts (from `attempt_rollup`). Treat as read-only."""
    roll = attempt_rollup(rt, scope)
    part = roll[(roll["kind"] != "day") & roll["in_range"].fillna(False).astype(bool)]
    return (
        part[["kind", "hour", "confidence", "bucket", "type", "rating", "answers", "right"]]
        .rename(columns={"right": "correct"})
        .reset_index(drop=True)
    )


def _part(rt: Runtime, scope: Scope, kind: str, *keys: str) -> pd.DataFrame:
    roll = answer_rollup(rt, scope)
    part = roll[roll["kind"] == kind]
    return part[[*keys, "answers", "correct"]].reset_index(drop=True)


def hourly(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """Answers and accuracy by hour of the learner's local day (all 24 hours)."""
    got = _part(rt, scope, "hour", "hour").astype(int).set_index("hour")
    out = got.reindex(range(24), fill_value=0).rename_axis("hour").reset_index()
    out["accuracy"] = [maths.rate(c, n) for c, n in zip(out["correct"], out["answers"])]
    return out


def outcomes_by_type(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """Answers per question type and rating (1 Again, 2 Hard, 3 Good, 4 Easy), and how many
    were right."""
    out = _part(rt, scope, "type", "type", "rating")
    out["rating"] = out["rating"].astype(int)
    return out.sort_values(["type", "rating"]).reset_index(drop=True)


def calibration(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """Accuracy at each stated confidence beside the ideal (see `maths.calibration_bins`)."""
    return maths.calibration_bins(_part(rt, scope, "confidence", "confidence"))


def time_per_question(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """How long answers took: counts per time bucket (seconds) with the cumulative share."""
    edges = list(TIME_BUCKETS)
    got = {
        int(b): int(n)
        for b, n in _part(rt, scope, "bucket", "bucket")[["bucket", "answers"]].itertuples(
            index=False
        )
    }
    rows = [
        {"bucket": f"{lo}–{hi} s", "from_s": lo, "answers": got.get(i + 1, 0)}
        for i, (lo, hi) in enumerate(itertools.pairwise(edges))
    ]
    return maths.with_cumulative(pd.DataFrame(rows), "answers", "cumulative_share", percent=True)


PERIODS = (("today", 0), ("yesterday", 1), ("week", 7), ("month", 30), ("year", 365), ("all", None))


def review_rollup(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """Answers per local day, by category before the answer (see `maths.maturity`, from the
    days since the question's previous answer), whether the answer counts towards true
    retention (`maths.is_true_review`) and whether it was right, all time, for the
    reviews-per-day and retention charts (from `attempt_rollup`). Treat as read-only."""
    roll = attempt_rollup(rt, scope)
    part = roll[roll["kind"] == "day"]
    return pd.DataFrame(
        {
            "day": part["day"],
            "category": part["category"],
            "true_review": part["true_review"].astype(bool),
            "correct": part["correct"].astype(bool),
            "answers": part["answers"].astype(int),
            "seconds": part["seconds"].astype(int),
            "xp": part["xp"].astype(int),
        }
    ).reset_index(drop=True)


ROLLUP_COLUMNS = [
    "kind",
    "day",
    "category",
    "true_review",
    "correct",
    "in_range",
    "hour",
    "confidence",
    "bucket",
    "type",
    "rating",
    "answers",
    "right",
    "seconds",
    "xp",
]


def attempt_rollup(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """`read_attempt_rollup`, kept in the runtime's query cache: the activity charts of one
    page load share one read (the scope carries the moment, so the next load reads afresh).
    Treat as read-only."""
    return rt.query_cache.get_or_build(
        ("attempt_rollup", scope), lambda: read_attempt_rollup(rt, scope)
    )


def read_attempt_rollup(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """The counts every activity chart of one page load is made from (see `_scan_attempts`).

    For every material, they are read from `attempt_rollups`, which PostgreSQL keeps per local
    day of the learner's zone as answers are saved, disputed or deleted (migration 0014): a few
    rows per day instead of every attempt. A material filter reads the attempts themselves.
    Treat as read-only."""
    if scope.material_id is not None:
        return _scan_attempts(rt, scope)
    categories = " ".join(f"WHEN {i} THEN '{c}'" for i, c in enumerate(CATEGORIES))
    sql = f"""
        SELECT CASE r.kind WHEN 1 THEN 'day' WHEN 2 THEN 'hour' WHEN 3 THEN 'confidence'
                           WHEN 4 THEN 'bucket' ELSE 'type' END,
               CASE WHEN r.kind = 1 THEN r.day END AS d,
               CASE r.category {categories} END, CASE WHEN r.kind = 1 THEN r.true_review END,
               CASE WHEN r.kind = 1 THEN r.correct END,
               CASE WHEN r.kind <> 1 THEN r.day BETWEEN :d0 AND :d1 END AS in_range,
               nullif(r.hour, -1), nullif(r.confidence, -1), nullif(r.bucket, -1),
               nullif(r.qtype, ''), nullif(r.rating, -1),
               sum(r.answers), sum(r."right"), sum(r.seconds), sum(r.xp)
        FROM attempt_rollups r
        WHERE r.user_id = :u
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
        HAVING sum(r.answers) <> 0"""
    return frame(rt, sql, scope.params(d0=scope.start, d1=scope.end), ROLLUP_COLUMNS)


def _scan_attempts(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """One index-only scan of the learner's attempts (all time; the material filter applies)
    for every activity chart of one page load, aggregated by GROUPING SETS: per local day x
    category before the answer x true review x right (kind "day", all time), and, for answers
    in the date range (`in_range`), per local hour, confidence, time bucket and question type
    x rating. Each answer's local time is computed once; the previous answer's time is a
    column of the covering index. The scope carries the moment, so a new page load reads
    afresh."""
    sql = f"""
        SELECT CASE WHEN grouping(day) = 0 THEN 'day' WHEN grouping(hour) = 0 THEN 'hour'
                    WHEN grouping(confidence) = 0 THEN 'confidence'
                    WHEN grouping(bucket) = 0 THEN 'bucket' ELSE 'type' END,
               day, category, true_review, correct, in_range, hour, confidence, bucket, type,
               rating, count(*), count(*) FILTER (WHERE correct), sum(seconds), sum(xp)
        FROM (SELECT local::date AS day,
                     CASE WHEN prev IS NULL THEN 'new'
                          WHEN answered_at - prev < interval '1 day' THEN 'learning'
                          WHEN answered_at - prev < interval '{maths.MATURE_DAYS} days'
                            THEN 'young' ELSE 'mature' END AS category,
                     prev IS NOT NULL AND (prev AT TIME ZONE :tz)::date < local::date
                       AS true_review,
                     answered_at >= :t0 AND answered_at < :t1 AS in_range,
                     extract(hour FROM local)::int AS hour, confidence,
                     width_bucket(seconds, CAST(:edges AS int[])) AS bucket, type, rating,
                     correct, seconds, xp
              FROM (SELECT a.answered_at AT TIME ZONE :tz AS local, {PREVIOUS_AT} AS prev,
                           a.answered_at, a.confidence, a.seconds, q.type, a.rating,
                           a.correct, a.xp
                    FROM attempts a JOIN questions q ON q.id = a.question_id AND q.user_id = :u
                    WHERE a.user_id = :u AND {material_filter("a")}
                    OFFSET 0) r) s
        GROUP BY GROUPING SETS ((day, category, true_review, correct), (in_range, hour),
                                (in_range, confidence), (in_range, bucket),
                                (in_range, type, rating))"""
    return frame(rt, sql, scope.params(edges=list(TIME_BUCKETS)), ROLLUP_COLUMNS)


def _in_period(days: pd.Series, today: dt.date, period: str, span: int | None) -> pd.Series:
    if span is None:
        return pd.Series(True, index=days.index)
    if period == "yesterday":
        return days == today - dt.timedelta(days=1)
    return days > today - dt.timedelta(days=max(span, 1))


def true_retention(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """Anki's true retention table: pass rates of answers on a later local day than the
    question's previous answer, young vs mature, for today / yesterday / the last 7, 30 and
    365 days / all time (the material filter applies, the date filter does not)."""
    roll = review_rollup(rt, scope)
    true = roll[roll["true_review"].astype(bool)]
    out = []
    for period, span in PERIODS:
        rows = true[_in_period(true["day"], scope.today, period, span)]
        rec: dict[str, Any] = {"period": period}
        for kind, categories in (("young", ("learning", "young")), ("mature", ("mature",))):
            # Under 21 days since the previous answer is young, however short.
            part = rows[rows["category"].isin(categories)]
            passed = int(part.loc[part["correct"].astype(bool), "answers"].sum())
            total = int(part["answers"].sum())
            rec.update(
                {
                    f"{kind}_passed": passed,
                    f"{kind}_total": total,
                    f"{kind}_rate": maths.rate(passed, total),
                }
            )
        rec["total"] = rec["young_total"] + rec["mature_total"]
        rec["rate"] = maths.rate(rec["young_passed"] + rec["mature_passed"], rec["total"])
        out.append(rec)
    return pd.DataFrame(out)


def retention_over_time(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """True retention per local week (weeks start on Monday) in the date range, beside the
    target retention."""
    roll = review_rollup(rt, scope)
    roll = roll[
        roll["true_review"].astype(bool) & (roll["day"] >= scope.start) & (roll["day"] <= scope.end)
    ].copy()
    roll["week"] = [d - dt.timedelta(days=d.weekday()) for d in roll["day"]]
    roll["passed"] = roll["answers"].where(roll["correct"].astype(bool), 0)
    out = (
        roll.groupby("week", as_index=False)
        .agg(reviews=("answers", "sum"), passed=("passed", "sum"))
        .sort_values("week")
        .reset_index(drop=True)
    )
    out["retention"] = [maths.rate(p, n) for p, n in zip(out["passed"], out["reviews"])]
    out["target"] = scope.target_retention
    return out[["week", "reviews", "passed", "retention", "target"]]


def xp_progress(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """XP earned per local day in the range, the running total (including XP from before the
    range) and the level that total reaches (every material: XP belongs to the learner)."""
    if scope.material_id is None:
        roll = review_rollup(rt, scope)
        before = int(roll.loc[roll["day"] < scope.start, "xp"].sum())
        roll = roll[(roll["day"] >= scope.start) & (roll["day"] <= scope.end)]
        out = (
            roll.groupby("day", as_index=False)["xp"]
            .sum()
            .sort_values("day")
            .reset_index(drop=True)
        )
    else:
        sql = f"""
            SELECT {LOCAL_DAY}, sum(a.xp) FROM attempts a
            WHERE a.user_id = :u AND a.answered_at >= :t0 AND a.answered_at < :t1
            GROUP BY 1 ORDER BY 1"""
        before_sql = (
            "SELECT coalesce(sum(a.xp), 0) FROM attempts a "
            "WHERE a.user_id = :u AND a.answered_at < :t0"
        )
        out = frame(rt, sql, scope.params(), ["day", "xp"])
        before = int(frame(rt, before_sql, scope.params(), ["xp"])["xp"].iloc[0])
    out["xp"] = out["xp"].astype(int)
    out["total_xp"] = out["xp"].cumsum() + before
    params = XPParams(level_step=scope.level_step)
    out["level"] = [level_for_xp(int(x), params) for x in out["total_xp"]]
    return out
