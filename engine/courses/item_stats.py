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
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, text, update
from sqlalchemy.orm import Session

from engine.csv_cells import safe_cell
from engine.db.models import Course, CourseQuestion, Question, User
from engine.domain.item_analysis import (
    AnalysisParams,
    ItemStats,
    ItemSums,
    OptionSums,
    Verdict,
    analyse_item,
    median_from_counts,
)
from engine.errors import NotFound
from engine.scoring.quality import cohort_quality_score

if TYPE_CHECKING:
    from engine.runtime import Runtime

COURSE_NOT_FOUND = "That course was not found."

# First answers of the course (one per member and question: a unique index), each with the
# member's rest score (share right on their first answers to the OTHER questions, from the
# member's totals that triggers keep in course_member_totals), added up in
# one pass into two groupings: per (question, version, chosen option) the sums the statistics
# need (additive: items and all-versions rows are their totals), and per (question, version,
# seconds) a count, for the median answer time.
_SUMS_TEMPLATE = """
WITH fr AS (
    SELECT r.course_question_id AS q, r.version AS v, r.correct::int AS x,
           r.chosen_index AS k, r.seconds AS s,
           CASE WHEN t.first_answers > 1
                THEN (t.first_right - r.correct::int)::float8 / (t.first_answers - 1) END AS r
    FROM course_responses r JOIN course_member_totals t ON t.member_id = r.member_id
    WHERE r.first_attempt
      AND {which}
)
SELECT q, v, k, s, GROUPING(k) AS by_seconds, count(*) AS n, sum(x) AS first_correct,
       count(r) AS with_rest, coalesce(sum(x) FILTER (WHERE r IS NOT NULL), 0) AS sum_x,
       coalesce(sum(r), 0) AS sum_r, coalesce(sum(r * r), 0) AS sum_rr,
       coalesce(sum(x * r), 0) AS sum_xr
FROM fr GROUP BY GROUPING SETS ((q, v, k), (q, v, s))
"""
_SUMS_SQL = text(
    _SUMS_TEMPLATE.format(
        which="r.course_question_id IN (SELECT id FROM course_questions WHERE course_id = :course)"
    )
)
# One question's current version, for the answer path.
_ONE_SUMS_SQL = text(_SUMS_TEMPLATE.format(which="r.course_question_id = :q AND r.version = :v"))
_ONE_COUNTS_SQL = text(
    """
SELECT course_question_id AS q, version AS v, answers, flagged
FROM course_item_counts WHERE course_question_id = :q AND version = :v
"""
)
# The current version's content and how many learners answered it (first answers: an
# index-only count on uq_course_responses_first).
_ONE_CURRENT_SQL = text(
    """
SELECT cq.version, v.options, v.correct_index,
       (SELECT count(*) FROM course_responses r
        WHERE r.course_question_id = cq.id AND r.first_attempt AND r.version = cq.version)
       AS learners
FROM course_questions cq
JOIN course_question_versions v ON v.course_question_id = cq.id AND v.version = cq.version
WHERE cq.id = :q
"""
)

# Answers (reviews included) and flags per version, kept by triggers (migration 0032).
_COUNTS_SQL = text(
    """
SELECT c.course_question_id AS q, c.version AS v, c.answers, c.flagged
FROM course_item_counts c JOIN course_questions cq ON cq.id = c.course_question_id
WHERE cq.course_id = :course
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
        # The first answers of a big course (300,000) hash in memory, not on disk.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        sums = session.execute(_SUMS_SQL, {"course": course_id}).all()
        counts = session.execute(_COUNTS_SQL, {"course": course_id}).all()
        content = session.execute(_CONTENT_SQL, {"course": course_id}).all()
        title = course.title
    item_sums = _collect_sums(sums, counts)
    items: list[ItemRow] = []
    history: list[ItemRow] = []
    latest: dict[int, Any] = {}
    for c in content:  # ordered by question, then version
        history.append(_row(c, c.version, item_sums.get((c.id, c.version)), params))
        if c.version == c.current_version:
            items.append(history[-1])
        latest[c.id] = c
    for qid, c in latest.items():
        history.append(_row(c, None, item_sums.get((qid, None)), params))
    return CourseItemStats(course_id, title, params.min_learners, tuple(items), tuple(history))


class _Acc:
    """Sums of one (question, version) or one question over its versions, being added up."""

    def __init__(self) -> None:
        self.learners = self.first_correct = self.with_rest = 0
        self.sum_x = self.sum_r = self.sum_rr = self.sum_xr = 0.0
        self.answers = self.flagged = 0
        self.options: dict[int, list[float]] = {}
        self.seconds: dict[int, int] = {}

    def add(self, k: int | None, n: int, first_correct: int, with_rest: int, *sums: Any) -> None:
        """One (chosen option) group's sums: n, right, with a rest score, Σx, Σr, Σr², Σxr."""
        sum_x, sum_r, sum_rr, sum_xr = (float(v) for v in sums)
        self.learners += n
        self.first_correct += int(first_correct)
        self.with_rest += with_rest
        self.sum_x += sum_x
        self.sum_r += sum_r
        self.sum_rr += sum_rr
        self.sum_xr += sum_xr
        if k is not None:
            o = self.options.setdefault(k, [0, 0, 0.0])
            o[0], o[1], o[2] = o[0] + n, o[1] + with_rest, o[2] + sum_r

    def sums(self) -> ItemSums:
        return ItemSums(
            learners=self.learners,
            answers=self.answers,
            first_correct=self.first_correct,
            with_rest=self.with_rest,
            sum_x=self.sum_x,
            sum_r=self.sum_r,
            sum_rr=self.sum_rr,
            sum_xr=self.sum_xr,
            flagged=self.flagged,
            median_seconds=median_from_counts({float(k): n for k, n in self.seconds.items()}),
            options=tuple(
                OptionSums(k, int(o[0]), int(o[1]), o[2]) for k, o in sorted(self.options.items())
            ),
        )


def _collect_sums(rows: Any, counts: Any) -> dict[tuple[int, int | None], ItemSums]:
    """ItemSums per (question, version) and per (question, None: all versions). Most rows are
    answer-time counts (one per question, version and second), so that path stays short."""
    acc: dict[tuple[int, int | None], _Acc] = {}
    for q, v, k, secs, by_seconds, n, *rest in rows:
        for key in ((q, v), (q, None)):
            a = acc.get(key)
            if a is None:
                a = acc[key] = _Acc()
            if by_seconds:
                a.seconds[secs] = a.seconds.get(secs, 0) + n
            else:
                a.add(k, n, *rest)
    for c in counts:
        for key in ((c.q, c.v), (c.q, None)):
            a = acc.setdefault(key, _Acc())
            a.answers += int(c.answers)
            a.flagged += int(c.flagged)
    return {key: a.sums() for key, a in acc.items()}


def _row(c, version: int | None, sums: ItemSums | None, params: AnalysisParams) -> ItemRow:
    options = tuple(c.options or ())
    sums = sums or _Acc().sums()
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


def _score(stats: ItemStats) -> float | None:
    """The cohort quality score once the item has a verdict (enough learners), else None."""
    if Verdict.NOT_ENOUGH in stats.verdicts or stats.difficulty is None:
        return None
    return cohort_quality_score(
        difficulty=stats.difficulty,
        discrimination=stats.discrimination,
        flag_share=stats.flag_share,
    )


def question_cohort_score(
    session: Session, *, course_question_id: int, params: AnalysisParams
) -> float | None:
    """The cohort quality score of a course question's current version, or None while fewer
    than `params.min_learners` learners answered it (checked first, on an index-only count, so
    the answer path pays little for questions below the threshold)."""
    current = session.execute(_ONE_CURRENT_SQL, {"q": course_question_id}).first()
    if current is None or current.learners < params.min_learners:
        return None
    where = {"q": course_question_id, "v": current.version}
    sums = _collect_sums(
        session.execute(_ONE_SUMS_SQL, where).all(),
        session.execute(_ONE_COUNTS_SQL, where).all(),
    ).get((course_question_id, current.version))
    if sums is None:
        return None
    n_options = len(current.options or ())
    stats = analyse_item(
        sums, correct_index=current.correct_index, n_options=n_options, params=params
    )
    return _score(stats)


def record_cohort_quality(
    rt: Runtime,
    *,
    actor_id: int | None,
    course_id: int,
    stats: CourseItemStats | None = None,
) -> int:
    """Write the cohort quality score (`engine.scoring.quality.cohort_quality_score`) on the
    master question and every learner's copy of each question that has a verdict (enough
    learners on its current version); returns how many questions were scored. Rows already
    holding the score are left alone, so refreshing after each look at the items is cheap.

    Args:
        stats: the course's statistics just read by this actor (read again when None).

    Raises:
        NotFound: no such course, or the actor is neither its teacher nor an admin.
    """
    if stats is None or stats.course_id != course_id:
        stats = course_item_stats(rt, actor_id=actor_id, course_id=course_id)
    scores = {row.course_question_id: _score(row.stats) for row in stats.items}
    scores = {cq: score for cq, score in scores.items() if score is not None}
    with rt.session_factory.begin() as session:
        require_teacher(session, actor_id=actor_id, course_id=course_id)
        for cq_id, score in scores.items():
            master = select(CourseQuestion.question_id).where(CourseQuestion.id == cq_id)
            session.execute(
                update(Question)
                .where(
                    or_(Question.course_question_id == cq_id, Question.id.in_(master)),
                    Question.quality_score.is_distinct_from(score),
                )
                .values(quality_score=score)
            )
    return len(scores)
