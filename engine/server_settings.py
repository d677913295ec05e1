"""Settings an admin changes at run time, kept in PostgreSQL (`server_settings`,
`user_limits`); the environment's values (engine/config.py) are the defaults.

Read by the sign-up rules (the sign-up mode) and by engine/usage/ (limits), inside their own
transactions, so a change applies to the next request of every process.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from engine.config import Settings
from engine.db.models import ServerSetting, UserLimit

SIGNUP_MODE = "signup_mode"
SIGNUP_MODES = ("open", "invite", "closed", "sso")
# The usage limits (UsageSettings fields) an admin may change, globally or per learner.
USAGE_LIMITS = (
    "generation_max_per_hour",
    "generation_max_questions_per_day",
    "grading_max_per_hour",
    "tutor_max_per_hour",
    "llm_max_requests_per_day",
)
_USAGE_PREFIX = "usage."


def get_value(session: Session, name: str) -> str | None:
    return session.scalar(select(ServerSetting.value).where(ServerSetting.name == name))


def put_value(session: Session, name: str, value: str | None) -> None:
    """Store (or with None: forget, back to the environment's default) a run-time setting."""
    if value is None:
        row = session.get(ServerSetting, name)
        if row is not None:
            session.delete(row)
        return
    stmt = insert(ServerSetting).values(name=name, value=value)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[ServerSetting.name],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
    )


def signup_mode(session: Session, settings: Settings) -> str:
    """The sign-up mode in force: an admin's choice, else the environment's."""
    stored = get_value(session, SIGNUP_MODE)
    return stored if stored in SIGNUP_MODES else settings.accounts.signup_mode


def global_limits(session: Session, settings: Settings) -> dict[str, int]:
    """Every usage limit in force server-wide (admin overrides over the environment's)."""
    limits = {name: int(getattr(settings.usage, name)) for name in USAGE_LIMITS}
    rows = session.execute(
        select(ServerSetting.name, ServerSetting.value).where(
            ServerSetting.name.in_([_USAGE_PREFIX + n for n in USAGE_LIMITS])
        )
    )
    for name, value in rows:
        limits[name.removeprefix(_USAGE_PREFIX)] = int(value)
    return limits


def put_global_limit(session: Session, name: str, value: int | None) -> None:
    if name not in USAGE_LIMITS:
        raise ValueError(f"unknown usage limit {name!r}")
    put_value(session, _USAGE_PREFIX + name, None if value is None else str(int(value)))


def learner_limits(session: Session, user_id: int) -> dict[str, int]:
    """The learner's own overrides (only the limits an admin set for them)."""
    return dict(
        session.execute(
            select(UserLimit.name, UserLimit.value).where(UserLimit.user_id == user_id)
        ).all()
    )


def with_usage_overrides(session: Session, settings: Settings, user_id: int) -> Settings:
    """`settings` with the usage limits in force for this learner: their own overrides, else
    the admin's global ones, else the environment's."""
    limits = global_limits(session, settings) | learner_limits(session, user_id)
    current = {name: getattr(settings.usage, name) for name in USAGE_LIMITS}
    if limits == current:
        return settings
    return settings.model_copy(update={"usage": settings.usage.model_copy(update=limits)})
