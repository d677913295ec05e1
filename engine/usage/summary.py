"""What a learner sees of their own model use: the last 24 hours' calls, tokens and cost."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from engine.db.models import LLMUsage
from engine.domain.vocabulary import Generator
from engine.runtime import Runtime
from engine.usage.log import RESERVED


@dataclass(frozen=True)
class UsageSummary:
    """A learner's finished model calls over a window, all tasks together."""

    calls: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    # Questions the model wrote (generation calls).
    questions: int

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out


def usage_summary(rt: Runtime, *, user_id: int) -> UsageSummary:
    """The learner's model use over the last 24 hours, all tasks (for the Generate page):
    finished calls, not cached answers or calls still in progress."""
    with rt.session_factory() as session:
        row = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(LLMUsage.tokens_in), 0),
                func.coalesce(func.sum(LLMUsage.tokens_out), 0),
                func.coalesce(func.sum(LLMUsage.cost_usd), 0),
                func.coalesce(func.sum(LLMUsage.questions_returned), 0),
            ).where(
                LLMUsage.user_id == user_id,
                LLMUsage.generator == Generator.LLM,
                LLMUsage.outcome.not_in(("cached", RESERVED)),
                LLMUsage.created_at > func.now() - dt.timedelta(days=1),
            )
        ).one()
    return UsageSummary(
        calls=int(row[0]),
        tokens_in=int(row[1]),
        tokens_out=int(row[2]),
        cost_usd=float(row[3]),
        questions=int(row[4]),
    )
