"""Item statistics of a course's questions, for its teacher: read from the anonymous answer
record (`course_responses`), added up in PostgreSQL in one statement, finished by
`engine.domain.item_analysis`.

Only the course's teacher or an admin sees them; anyone else gets "not found", as if the
course did not exist. The statistics name no learner: they are computed per member key.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine.csv_cells import safe_cell
from engine.db.models import Course, User
from engine.domain.item_analysis import (
    AnalysisParams,
    ItemStats,
    ItemSums,
    OptionSums,
    Verdict,
    analyse_item,
)
from engine.errors import NotFound

if TYPE_CHECKING:
    from engine.runtime import Runtime

COURSE_NOT_FOUND = "That course was not found."

# First answers of the course (one per member and question), each with the member's rest score
# (share right on their first answers to the OTHER questions); then per (question, version),
# and per question over all versions, the sums the statistics need, and per option its count
# and sum of rest scores. `kind` 0 rows are items, 1 options, 2 answer counts (reviews too).
_SUMS_SQL = text(
    """
WITH fa AS MATERIALIZED (
    SELECT r.course_question_id AS q, r.version AS v, r.member_id AS m,
           r.correct::int AS x, r.chosen_index AS k, r.seconds AS s
    FROM course_responses r
    WHERE r.first_attempt
      AND r.course_question_id IN (SELECT id FROM course_questions WHERE course_id = :course)
),
mq AS (SELECT m, q, count(*) AS n, sum(x) AS c FROM fa GROUP BY m, q),
mt AS (SELECT m, sum(n) AS n, sum(c) AS c FROM mq GROUP BY m),
fr AS MATERIALIZED (
    SELECT fa.q, fa.v, fa.m, fa.x, fa.k, fa.s,
           CASE WHEN mt.n > mq.n THEN (mt.c - mq.c)::float8 / (mt.n - mq.n) END AS r
    FROM fa JOIN mq ON mq.m = fa.m AND mq.q = fa.q JOIN mt ON mt.m = fa.m
)
SELECT 0 AS kind, q, v, GROUPING(v) AS all_v, NULL::int AS k,
       count(DISTINCT m) AS learners, sum(x) AS first_correct, count(r) AS with_rest,
       coalesce(sum(x) FILTER (WHERE r IS NOT NULL), 0)::float8 AS sum_x,
       coalesce(sum(r), 0) AS sum_r, coalesce(sum(r * r), 0) AS sum_rr,
       coalesce(sum(x * r), 0) AS sum_xr,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS median_s
FROM fr GROUP BY GROUPING SETS ((q, v), (q))
UNION ALL
SELECT 1, q, v, GROUPING(v), k, count(*), 0, count(r), 0, coalesce(sum(r), 0), 0, 0, NULL
FROM fr WHERE k IS NOT NULL GROUP BY GROUPING SETS ((q, v, k), (q, k))
UNION ALL
SELECT 2, course_question_id, version, GROUPING(version), NULL, count(*),
       count(*) FILTER (WHERE flagged), 0, 0, 0, 0, 0, NULL
FROM course_responses
WHERE course_question_id IN (SELECT id FROM course_questions WHERE course_id = :course)
GROUP BY GROUPING SETS ((course_question_id, version), (course_question_id))
"""
)

_CONTENT_SQL = text(
    """
SELECT cq.id, cq.version AS current_version, cq.status, cqv.version, cqv.stem, cqv.options,
       cqv.correct_index, cqv.change
FROM course_questions cq
JOIN course_question_versions cqv ON cqv.course_question_id = cq.id
WHERE cq.course_id = :course AND cq.status <> 'draft'
ORDER BY cq.id, cqv.version
"""
)


@dataclass(frozen=True)
class ItemRow:
    """One course question's statistics: of one version, or of all versions together
    (`version` None)."""

    course_question_id: int
    version: int | None
    current_version: int
    status: str  # published or retired
    stem: str
    options: tuple[str, ...]
    correct_index: int | None
    stats: ItemStats

    @property
    def flagged(self) -> bool:
        """True when the statistics found a problem (a verdict other than good / not enough)."""
        return not set(self.stats.verdicts) <= {Verdict.GOOD, Verdict.NOT_ENOUGH}


@dataclass(frozen=True)
class CourseItemStats:
    course_id: int
    title: str
    min_learners: int
    # The current version of every published or retired question (the table the teacher acts on).
    items: tuple[ItemRow, ...]
    # Every version, and every question over all versions (version None), for its history.
    history: tuple[ItemRow, ...]


def require_teacher(session: Session, *, actor_id: int | None, course_id: int) -> Course:
    """The course when `actor_id` is its teacher or an admin (None: the operator's command
    line); NotFound otherwise (a learner, or another course's teacher, cannot tell it exists)."""
    course = session.get(Course, course_id)
    if actor_id is None and course is not None:
        return course
    role = session.scalar(
        select(User.role).where(
            User.id == actor_id, User.deleting_since.is_(None), User.disabled_at.is_(None)
        )
    )
    if course is None or role is None or (course.teacher_id != actor_id and role != "admin"):
        raise NotFound(COURSE_NOT_FOUND)
    return course


def analysis_params(rt: Runtime) -> AnalysisParams:
    return AnalysisParams(min_learners=rt.settings.scoring.item_min_learners)


def course_item_stats(rt: Runtime, *, actor_id: int | None, course_id: int) -> CourseItemStats:
    """Every published or retired question's statistics, per version and over all versions
    (`actor_id` None: the operator's command line).

    Raises:
        NotFound: no such course, or the actor is neither its teacher nor an admin.
    """
    params = analysis_params(rt)
    with rt.session_factory() as session:
        course = require_teacher(session, actor_id=actor_id, course_id=course_id)
        sums = session.execute(_SUMS_SQL, {"course": course_id}).all()
        content = session.execute(_CONTENT_SQL, {"course": course_id}).all()
        title = course.title
    item_sums = _collect_sums(sums)
    items: list[ItemRow] = []
    history: list[ItemRow] = []
    latest: dict[int, object] = {}
    for c in content:
        history.append(_row(c, c.version, item_sums.get((c.id, c.version)), params))
        latest[c.id] = c
    for qid, c in latest.items():
        history.append(_row(c, None, item_sums.get((qid, None)), params))
        current = next(h for h in history if h.course_question_id == qid and h.version == c.version)
        items.append(current)
    return CourseItemStats(course_id, title, params.min_learners, tuple(items), tuple(history))


def _collect_sums(rows) -> dict[tuple[int, int | None], ItemSums]:
    """ItemSums per (question, version or None) from the statement's three kinds of rows."""
    base: dict[tuple[int, int | None], dict] = {}
    options: dict[tuple[int, int | None], list[OptionSums]] = {}
    answers: dict[tuple[int, int | None], tuple[int, int]] = {}
    for r in rows:
        key = (r.q, None if r.all_v else r.v)
        if r.kind == 0:
            base[key] = {
                "learners": r.learners,
                "first_correct": int(r.first_correct),
                "with_rest": r.with_rest,
                "sum_x": float(r.sum_x),
                "sum_r": float(r.sum_r),
                "sum_rr": float(r.sum_rr),
                "sum_xr": float(r.sum_xr),
                "median_seconds": float(r.median_s) if r.median_s is not None else None,
            }
        elif r.kind == 1:
            options.setdefault(key, []).append(
                OptionSums(r.k, r.learners, r.with_rest, float(r.sum_r))
            )
        else:
            answers[key] = (r.learners, int(r.first_correct))
    out: dict[tuple[int, int | None], ItemSums] = {}
    for key, (n_answers, n_flagged) in answers.items():
        b = base.get(key) or _EMPTY
        out[key] = ItemSums(
            answers=n_answers,
            flagged=n_flagged,
            options=tuple(sorted(options.get(key, []), key=lambda o: o.index)),
            **b,
        )
    return out


_EMPTY = {
    "learners": 0,
    "first_correct": 0,
    "with_rest": 0,
    "sum_x": 0.0,
    "sum_r": 0.0,
    "sum_rr": 0.0,
    "sum_xr": 0.0,
    "median_seconds": None,
}


def _row(c, version: int | None, sums: ItemSums | None, params: AnalysisParams) -> ItemRow:
    options = tuple(c.options or ())
    sums = sums or ItemSums(answers=0, flagged=0, **_EMPTY)
    return ItemRow(
        course_question_id=c.id,
        version=version,
        current_version=c.current_version,
        status=c.status,
        stem=c.stem,
        options=options,
        correct_index=c.correct_index,
        stats=analyse_item(
            sums, correct_index=c.correct_index, n_options=len(options), params=params
        ),
    )


CSV_COLUMNS = (
    "course_question_id",
    "version",
    "status",
    "question",
    "learners",
    "answers",
    "difficulty",
    "discrimination",
    "flag_share",
    "median_seconds",
    "option_shares",
    "option_discrimination",
    "weak_distractors",
    "verdicts",
)


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def item_stats_csv(stats: CourseItemStats) -> str:
    """The item table as CSV (current versions), one row per question; options joined by '|'
    in their order; cells that a spreadsheet would run as formulas are neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in stats.items:
        s = row.stats
        writer.writerow(
            [
                row.course_question_id,
                row.version,
                row.status,
                safe_cell(row.stem),
                s.learners,
                s.answers,
                _fmt(s.difficulty),
                _fmt(s.discrimination),
                _fmt(s.flag_share),
                _fmt(s.median_seconds),
                safe_cell("|".join(_fmt(o.share) for o in s.options)),
                safe_cell("|".join(_fmt(o.discrimination) for o in s.options)),
                "|".join(str(o.index) for o in s.options if o.weak),
                "|".join(v.value for v in s.verdicts),
            ]
        )
    return buf.getvalue()
