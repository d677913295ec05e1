"""Class progress and the coverage map of a course's materials, as tables."""

from __future__ import annotations

import pandas as pd

from engine.courses.dashboard import LearnerProgress, MaterialCoverage


def progress_frame(rows: list[LearnerProgress]) -> pd.DataFrame:
    """Who is behind: most overdue first."""
    frame = pd.DataFrame(
        [
            {
                "learner": r.name,
                "course questions": r.questions,
                "studied": r.studied,
                "overdue reviews": r.overdue,
                "retention % (30 days)": None if r.retention is None else round(100 * r.retention),
            }
            for r in rows
        ],
        columns=[
            "learner",
            "course questions",
            "studied",
            "overdue reviews",
            "retention % (30 days)",
        ],
    )
    return frame.sort_values("overdue reviews", ascending=False, kind="stable")


def coverage_frame(material: MaterialCoverage) -> pd.DataFrame:
    """One row per page: answers to questions from that page and the class's share right."""
    return pd.DataFrame(
        [
            {
                "page": p.page,
                "answers": p.answers,
                "mastery %": None if p.mastery is None else round(100 * p.mastery),
            }
            for p in material.pages
        ],
        columns=["page", "answers", "mastery %"],
    )
