"""Charts of what the learner knows and what is coming: schedules, recall, coverage, readiness,
question quality and model usage. Aggregates in PostgreSQL over `review_states`, `questions`,
`materials` and `llm_usage`; predicted recall uses FSRS's forgetting curve with the learner's
parameters (see `maths.retrievability`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from engine.analytics import maths
from engine.analytics.scope import (
    RECALL,
    STATE_INTERVAL,
    Scope,
    frame,
    material_filter,
)
from engine.domain.vocabulary import Scheduler

if TYPE_CHECKING:
    from engine.runtime import Runtime

STATES = "rs.user_id = :u AND " + material_filter("rs")
CARD_KINDS = ("new", "learning", "young", "mature", "flagged", "retired")


def future_due(rt: Runtime, scope: Scope, days: int = 90) -> pd.DataFrame:
    """Reviews due per local day for the next `days` days by material (overdue ones count on
    today), with the running total and the daily load (sum of 1/interval over every scheduled
    question, Anki's estimate of reviews per day in the long run)."""
    sql = f"""
        SELECT greatest((rs.due_at AT TIME ZONE :tz)::date, CAST(:today AS date)),
               q.material_title, count(*)
        FROM review_states rs JOIN questions q ON q.id = rs.question_id
        WHERE {STATES} AND NOT rs.suspended AND rs.due_at < :until
        GROUP BY 1, 2 ORDER BY 1, 2"""
    until = scope.midnight(scope.today + dt.timedelta(days=days))
    out = frame(rt, sql, scope.params(today=scope.today, until=until), ["day", "material", "due"])
    out["cumulative"] = out["due"].cumsum()
    load_sql = f"""
        SELECT coalesce(sum(1.0 / greatest({STATE_INTERVAL}, 1.0)), 0)
        FROM review_states rs WHERE {STATES} AND NOT rs.suspended"""
    out["daily_load"] = float(frame(rt, load_sql, scope.params(), ["load"])["load"].iloc[0])
    return out


def card_counts(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """How many questions are new, learning, young, mature, flagged and retired."""
    sql = f"""
        SELECT CASE WHEN q.status = 'retired' THEN 'retired'
                    WHEN q.status = 'flagged' THEN 'flagged'
                    WHEN rs.id IS NULL THEN 'new'
                    WHEN {STATE_INTERVAL} < 1 THEN 'learning'
                    WHEN {STATE_INTERVAL} < {maths.MATURE_DAYS} THEN 'young'
                    ELSE 'mature' END, count(*)
        FROM questions q LEFT JOIN review_states rs ON rs.question_id = q.id AND rs.user_id = :u
        WHERE q.user_id = :u AND (CAST(:m AS bigint) IS NULL OR q.material_id = :m)
        GROUP BY 1"""
    got = dict(frame(rt, sql, scope.params(), ["kind", "questions"]).values)
    return pd.DataFrame([{"kind": k, "questions": int(got.get(k, 0))} for k in CARD_KINDS])


def intervals(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """Current scheduled intervals in whole days (questions not suspended), with the
    cumulative share."""
    sql = f"""
        SELECT round({STATE_INTERVAL})::int, count(*)
        FROM review_states rs WHERE {STATES} AND NOT rs.suspended GROUP BY 1 ORDER BY 1"""
    out = frame(rt, sql, scope.params(), ["interval_days", "questions"])
    return maths.with_cumulative(out, "questions", "cumulative_share", percent=True)


def scheduler_distribution(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """For the scheduler in use: SM-2 easiness (0.1 steps), or FSRS stability (days, log2
    buckets), difficulty (1-10) and retrievability now (5 % steps). Long format: metric,
    value (bucket start), questions."""
    live = f"{STATES} AND NOT rs.suspended"
    if scope.scheduler == Scheduler.SM2:
        sql = f"""
            SELECT 'easiness', round(rs.sm2_easiness::numeric, 1)::float8, count(*)
            FROM review_states rs WHERE {live} GROUP BY 2 ORDER BY 2"""
    else:
        sql = f"""
            SELECT CASE WHEN grouping(s) = 0 THEN 'stability'
                        WHEN grouping(d) = 0 THEN 'difficulty' ELSE 'retrievability' END,
                   coalesce(s, d, r), count(*)
            FROM (SELECT power(2.0, floor(ln(greatest(rs.fsrs_stability, 0.001))
                                          / ln(2.0))) AS s,
                         floor(rs.fsrs_difficulty) AS d,
                         least(floor({RECALL} * 20) / 20, 0.95) AS r
                  FROM review_states rs
                  WHERE {live} AND rs.fsrs_stability IS NOT NULL) x
            GROUP BY GROUPING SETS ((s), (d), (r)) ORDER BY 1, 2"""
    return frame(rt, sql, scope.params(), ["metric", "value", "questions"])


def knowledge(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """One row: reviewed questions, estimated total knowledge (sum of predicted recall now)
    and the mean predicted recall."""
    sql = f"""
        SELECT count(*), coalesce(sum({RECALL}), 0)
        FROM review_states rs WHERE {STATES} AND NOT rs.suspended
          AND rs.fsrs_stability IS NOT NULL"""
    out = frame(rt, sql, scope.params(), ["reviewed", "knowledge"])
    out["mean_recall"] = [maths.rate(k, n) for k, n in zip(out["knowledge"], out["reviewed"])]
    return out


def coverage(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """Every page of every material (or the chosen one) with the questions drawn from it
    (a question covers each page of its source range), how many were reviewed and their mean
    predicted recall (None for a page no question was reviewed on)."""
    sql = f"""
        WITH per_page AS (
            SELECT q.material_id, p AS page, count(*) AS questions,
                   count(rs.id) AS reviewed,
                   avg(CASE WHEN rs.fsrs_stability IS NOT NULL THEN {RECALL} END) AS mastery
            FROM questions q
            CROSS JOIN LATERAL generate_series(q.page_start, q.page_end) p
            LEFT JOIN review_states rs ON rs.question_id = q.id AND rs.user_id = :u
            WHERE q.user_id = :u AND q.status <> 'retired' AND q.material_id IS NOT NULL
              AND (CAST(:m AS bigint) IS NULL OR q.material_id = :m)
            GROUP BY 1, 2)
        SELECT mt.id, mt.title, g.page, coalesce(pp.questions, 0), coalesce(pp.reviewed, 0),
               pp.mastery
        FROM materials mt
        CROSS JOIN LATERAL generate_series(1, mt.page_count) g(page)
        LEFT JOIN per_page pp ON pp.material_id = mt.id AND pp.page = g.page
        WHERE mt.user_id = :u AND mt.status = 'ready'
          AND (CAST(:m AS bigint) IS NULL OR mt.id = :m)
        ORDER BY mt.title, mt.id, g.page"""
    return frame(
        rt,
        sql,
        scope.params(),
        ["material_id", "material", "page", "questions", "reviewed", "mastery"],
    )


def page_questions(rt: Runtime, scope: Scope, *, material_id: int, page: int) -> pd.DataFrame:
    """The learner's questions drawn from one page of one material, weakest first."""
    sql = f"""
        SELECT q.id, q.type, q.stem, q.status, rs.reviews,
               CASE WHEN rs.fsrs_stability IS NOT NULL THEN {RECALL} END AS recall
        FROM questions q LEFT JOIN review_states rs ON rs.question_id = q.id AND rs.user_id = :u
        WHERE q.user_id = :u AND q.material_id = :mid AND :page BETWEEN q.page_start AND q.page_end
        ORDER BY recall NULLS FIRST, q.id"""
    return frame(
        rt,
        sql,
        scope.params(mid=material_id, page=page),
        ["question_id", "type", "stem", "status", "reviews", "recall"],
    )


def readiness(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """Per material: questions, how many were reviewed and the predicted share recalled on the
    exam date if the learner keeps their schedule (`maths.projected_recall`); questions never
    answered count as not recalled. Empty when no future exam date is set."""
    columns = ["material", "questions", "reviewed", "expected_recalled", "readiness"]
    if scope.exam_date is None or scope.exam_date < scope.today:
        return pd.DataFrame(columns=columns)
    # `maths.projected_recall`, per question, in SQL (the unit tests pin the pure version;
    # the integration tests this one against hand-computed values).
    sql = """
        SELECT material_title, count(*), count(stab),
               coalesce(sum(power(1 + :factor * greatest(since, 0) / 86400.0
                                  / greatest(stab, 0.001), :decay))
                        FILTER (WHERE stab IS NOT NULL), 0)
        FROM (SELECT q.material_title, rs.fsrs_stability AS stab,
                     CASE WHEN due_s >= :exam_s THEN :exam_s - last_s
                          ELSE (:exam_s - due_s)
                               - iv * floor((:exam_s - due_s) / iv) END AS since
              FROM questions q
              LEFT JOIN review_states rs ON rs.question_id = q.id AND rs.user_id = :u
              CROSS JOIN LATERAL (
                  SELECT extract(epoch FROM rs.last_reviewed_at)::float8 AS last_s,
                         greatest(extract(epoch FROM rs.due_at)::float8, :now_s) AS due_s) t
              CROSS JOIN LATERAL (SELECT greatest(due_s - last_s, 86400.0) AS iv) i
              WHERE q.user_id = :u AND q.status = 'active'
                AND (CAST(:m AS bigint) IS NULL OR q.material_id = :m)) s
        GROUP BY 1 ORDER BY 1"""
    exam = scope.midnight(scope.exam_date) + dt.timedelta(hours=9)
    out = frame(
        rt,
        sql,
        scope.params(exam_s=exam.timestamp(), now_s=scope.now.timestamp()),
        ["material", "questions", "reviewed", "expected_recalled"],
    )
    out["readiness"] = out["expected_recalled"] / out["questions"]
    return out[columns]


def question_quality(rt: Runtime, scope: Scope, limit: int = 15) -> pd.DataFrame:
    """The lowest-scoring active questions, then flagged and retired ones, with open flags."""
    sql = f"""
        (SELECT q.id, q.status, q.stem, q.material_title, q.page_start, q.quality_score,
                (SELECT count(*) FROM flags f WHERE f.question_id = q.id
                   AND f.resolved_at IS NULL) AS open_flags
         FROM questions q
         WHERE q.user_id = :u AND q.status = 'active' AND q.quality_score IS NOT NULL
           AND (CAST(:m AS bigint) IS NULL OR q.material_id = :m)
         ORDER BY q.quality_score, q.id LIMIT {int(limit)})
        UNION ALL
        (SELECT q.id, q.status, q.stem, q.material_title, q.page_start, q.quality_score,
                (SELECT count(*) FROM flags f WHERE f.question_id = q.id
                   AND f.resolved_at IS NULL)
         FROM questions q
         WHERE q.user_id = :u AND q.status IN ('flagged', 'retired')
           AND (CAST(:m AS bigint) IS NULL OR q.material_id = :m)
         ORDER BY q.status, q.updated_at DESC, q.id LIMIT {int(limit) * 2})"""
    return frame(
        rt,
        sql,
        scope.params(),
        ["question_id", "status", "stem", "material", "page", "quality", "open_flags"],
    )


def model_usage(rt: Runtime, scope: Scope) -> pd.DataFrame:
    """Model calls per local day in the range by model: calls, tokens and cost (US dollars).
    Reservations for calls still in flight are left out."""
    sql = """
        SELECT (u.created_at AT TIME ZONE :tz)::date, coalesce(u.model, 'offline'), count(*),
               sum(u.tokens_in), sum(u.tokens_out), sum(u.cost_usd)::float8
        FROM llm_usage u
        WHERE u.user_id = :u AND u.created_at >= :t0 AND u.created_at < :t1
          AND u.outcome <> 'reserved'
        GROUP BY 1, 2 ORDER BY 1, 2"""
    out = frame(
        rt, sql, scope.params(), ["day", "model", "calls", "tokens_in", "tokens_out", "cost_usd"]
    )
    out["cumulative_cost_usd"] = out["cost_usd"].cumsum()
    return out


def material_choices(rt: Runtime, *, user_id: int) -> list[tuple[int, str]]:
    """(id, title) of the learner's ready materials, for the filter."""
    sql = (
        "SELECT id, title FROM materials WHERE user_id = :u AND status = 'ready' ORDER BY title, id"
    )
    return [
        (int(i), str(t))
        for i, t in frame(rt, sql, {"u": user_id}, ["id", "title"]).itertuples(index=False)
    ]


def page_topic(rt: Runtime, *, user_id: int, material_id: int, page: int, words: int = 12) -> str:
    """The opening words of a page's text, to focus generation on that page."""
    sql = (
        "SELECT text FROM material_pages WHERE user_id = :u AND material_id = :mid "
        "AND number = :page"
    )
    got = frame(rt, sql, {"u": user_id, "mid": material_id, "page": page}, ["text"])
    if got.empty:
        return ""
    return " ".join(str(got["text"].iloc[0]).split()[:words])[:200]
