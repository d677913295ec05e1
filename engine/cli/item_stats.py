"""`python -m engine item-stats`: a course's item statistics, as a table or CSV."""

from __future__ import annotations

import argparse
import sys

from engine.bootstrap import get_runtime
from engine.courses.item_stats import course_item_stats, item_stats_csv, record_cohort_quality


def _item_stats(args: argparse.Namespace) -> int:
    rt = get_runtime()
    if args.record_quality:
        scored = record_cohort_quality(rt, actor_id=None, course_id=args.course)
        print(f"cohort quality recorded for {scored} questions", file=sys.stderr)
    stats = course_item_stats(rt, actor_id=None, course_id=args.course)
    if args.csv:
        sys.stdout.write(item_stats_csv(stats))
        return 0
    print(
        f"{stats.title}: {len(stats.items)} questions (verdicts from {stats.min_learners} learners)"
    )
    for row in stats.items:
        s = row.stats
        difficulty = "-" if s.difficulty is None else f"{s.difficulty:.2f}"
        disc = "-" if s.discrimination is None else f"{s.discrimination:+.2f}"
        verdicts = ",".join(v.value for v in s.verdicts)
        print(
            f"{row.course_question_id:>8} v{row.version} learners={s.learners:<5} "
            f"p={difficulty:<5} rpb={disc:<6} {verdicts}"
        )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    about = "a course's item statistics (difficulty, discrimination, options, verdicts)"
    p = subparsers.add_parser("item-stats", help=about, description=about)
    p.add_argument("--course", type=int, required=True, metavar="ID", help="the course's id")
    p.add_argument("--csv", action="store_true", help="write CSV to standard output")
    p.add_argument(
        "--record-quality",
        action="store_true",
        help="first write the cohort quality score on every question with enough learners "
        "(the master question and each learner's copy)",
    )
    p.set_defaults(func=_item_stats)
