"""Model usage and cost in the admin console (per learner, per day, per task, from the
`llm_usage` log), and the usage limits an admin changes at run time: server-wide, or for one
learner (engine/usage/ applies them on the next request)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from engine import server_settings
from engine.admin.access import audit, require_admin
from engine.db.models import LLMUsage, User, UserLimit
from engine.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from engine.runtime import Runtime

LIMIT_LABELS = {
    "generation_max_per_hour": "Generations per hour",
    "generation_max_questions_per_day": "Generated questions per day",
    "grading_max_per_hour": "Model-graded answers per hour",
    "tutor_max_per_hour": "Tutor questions per hour",
    "llm_max_requests_per_day": "Model requests per day (all tasks)",
}
MAX_LIMIT = 1_000_000


@dataclass(frozen=True)
class UsageTotals:
    """Model requests (one learner request may make several calls), tokens and cost."""

    key: Any  # user email, day (date) or task name
    requests: int
    tokens_in: int
    tokens_out: int
    cost_usd: Decimal


@dataclass(frozen=True)
class UsageReport:
    """Usage over a window: per learner (costliest first), per day (newest first), per task."""

    by_learner: list[UsageTotals]
    by_day: list[UsageTotals]
    by_task: list[UsageTotals]


def _counted(since: dt.datetime):
    return (LLMUsage.created_at >= since, LLMUsage.outcome != "reserved")


def _totals():
    return (
        func.count(LLMUsage.request_id.distinct()),
        func.coalesce(func.sum(LLMUsage.tokens_in), 0),
        func.coalesce(func.sum(LLMUsage.tokens_out), 0),
        func.coalesce(func.sum(LLMUsage.cost_usd), 0),
    )


def usage_report(
    rt: Runtime, *, actor_id: int, days: int = 30, now: dt.datetime | None = None, top: int = 100
) -> UsageReport:
    """Usage in the last `days` days: per learner (costliest first, at most `top`), per day
    (newest first) and per task.

    Raises:
        Forbidden: the caller is not an admin.
    """
    since = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
    day = func.date_trunc("day", LLMUsage.created_at, "UTC")
    with rt.session_factory() as session:
        require_admin(session, actor_id)
        by_user = session.execute(
            select(User.email, *_totals())
            .join(User, User.id == LLMUsage.user_id)
            .where(*_counted(since))
            .group_by(User.id, User.email)
            .order_by(func.sum(LLMUsage.cost_usd).desc(), User.email)
            .limit(top)
        ).all()
        by_day = session.execute(
            select(day, *_totals()).where(*_counted(since)).group_by(day).order_by(day.desc())
        ).all()
        by_task = session.execute(
            select(LLMUsage.task, *_totals())
            .where(*_counted(since))
            .group_by(LLMUsage.task)
            .order_by(LLMUsage.task)
        ).all()
    return UsageReport(
        by_learner=[UsageTotals(*r) for r in by_user],
        by_day=[UsageTotals(r[0].date(), *r[1:]) for r in by_day],
        by_task=[UsageTotals(*r) for r in by_task],
    )


def _check_value(name: str, value: int) -> None:
    if name not in server_settings.USAGE_LIMITS:
        raise InvalidInput(f"Unknown limit {name!r}.")
    # At least 1, as in the environment (engine/usage/ counts back from the limit); to stop
    # a learner altogether, disable the account.
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidInput(f"Choose a limit between 1 and {MAX_LIMIT}.")


def global_limits(rt: Runtime, *, actor_id: int) -> dict[str, int]:
    """Every usage limit in force server-wide."""
    with rt.session_factory() as session:
        require_admin(session, actor_id)
        return server_settings.global_limits(session, rt.settings)


def set_global_limit(rt: Runtime, *, actor_id: int, name: str, value: int | None) -> None:
    """Change a server-wide limit (None: back to the environment's value).

    Raises:
        Forbidden; InvalidInput: unknown limit or a value out of range.
    """
    if value is not None:
        _check_value(name, value)
    elif name not in server_settings.USAGE_LIMITS:
        raise InvalidInput(f"Unknown limit {name!r}.")
    with rt.session_factory.begin() as session:
        actor = require_admin(session, actor_id)
        before = server_settings.global_limits(session, rt.settings)[name]
        server_settings.put_global_limit(session, name, value)
        after = server_settings.global_limits(session, rt.settings)[name]
        audit(session, actor, "set_global_limit", detail=f"{name}: {before} -> {after}")


def learner_limits(rt: Runtime, *, actor_id: int, user_id: int) -> dict[str, int]:
    """The limits an admin set for this learner (the others follow the server's)."""
    with rt.session_factory() as session:
        require_admin(session, actor_id)
        if session.get(User, user_id) is None:
            raise NotFound("That account was not found (it may have been deleted).")
        return server_settings.learner_limits(session, user_id)


def set_learner_limit(
    rt: Runtime, *, actor_id: int, user_id: int, name: str, value: int | None
) -> None:
    """Give one learner their own limit (None: follow the server's again)."""
    if value is not None:
        _check_value(name, value)
    elif name not in server_settings.USAGE_LIMITS:
        raise InvalidInput(f"Unknown limit {name!r}.")
    with rt.session_factory.begin() as session:
        actor = require_admin(session, actor_id)
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("That account was not found (it may have been deleted).")
        if value is None:
            session.execute(
                delete(UserLimit).where(UserLimit.user_id == user_id, UserLimit.name == name)
            )
        else:
            stmt = insert(UserLimit).values(user_id=user_id, name=name, value=value)
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[UserLimit.user_id, UserLimit.name],
                    set_={"value": stmt.excluded.value},
                )
            )
        audit(
            session,
            actor,
            "set_learner_limit",
            target=user,
            detail=f"{name}: {'server default' if value is None else value}",
        )
