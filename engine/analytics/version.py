"""A learner's analytics data version: a short string that changes whenever anything the
Analytics page reads changes, so a cache keyed by it never serves stale charts and no page
has to remember to clear it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from engine.runtime import Runtime

# One statement of index-sized reads, each covering a kind of change:
# - answers: the latest answer time (from the covering index) and the per-day rollups' totals
#   of answers, right answers and XP, which the rollup triggers keep exact through answers,
#   disputes and deletions (a deleted question takes its answers with it);
# - questions: how many and the latest change (edit, accept, flag, keep, retire, re-score;
#   `updated_at` is set on every update), so a deletion shows as a lower count;
# - the profile (scheduler, time zone, exam date, XP) and personal FSRS parameters;
# - materials (coverage) and model calls (usage).
DATA_VERSION = text("""
    SELECT
      (SELECT max(a.answered_at) FROM attempts a WHERE a.user_id = :u),
      (SELECT concat_ws(':', sum(r.answers), sum(r.right), sum(r.xp))
         FROM attempt_rollups r WHERE r.user_id = :u AND r.kind = 1),
      (SELECT concat_ws(':', count(*), max(q.updated_at)) FROM questions q
         WHERE q.user_id = :u),
      (SELECT p.updated_at FROM profiles p WHERE p.user_id = :u),
      (SELECT s.fitted_at FROM scheduler_parameters s WHERE s.user_id = :u),
      (SELECT concat_ws(':', count(*), max(m.updated_at)) FROM materials m
         WHERE m.user_id = :u),
      (SELECT concat_ws(':', count(*) FILTER (WHERE l.outcome <> 'reserved'),
                        max(l.created_at))
         FROM llm_usage l WHERE l.user_id = :u)
""")


def data_version(rt: Runtime, *, user_id: int) -> str:
    """The learner's current data version (one cheap query); equal strings mean equal data.

    Args:
        rt: the runtime.
        user_id: the learner.

    Returns:
        An opaque string, different after any answer, dispute, question or material change,
        profile or scheduler change, or model call of this learner.
    """
    with rt.session_factory() as session:
        row = session.execute(DATA_VERSION, {"u": user_id}).one()
    return "|".join("" if v is None else str(v) for v in row)
