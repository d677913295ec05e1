"""The active versions of named prompt templates (seeded and versioned by migrations)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import PromptTemplate
from engine.errors import EngineError


def active_templates(
    session: Session, names: Sequence[str], *, capability: str
) -> tuple[dict[str, str], str]:
    """The text of each named active template and one version label ("name@v+name@v").

    Raises:
        EngineError: a template is missing (the migrations have not been applied).
    """
    rows = session.execute(
        select(PromptTemplate.name, PromptTemplate.version, PromptTemplate.text).where(
            PromptTemplate.active, PromptTemplate.name.in_(names)
        )
    ).all()
    found = {name: (version, text) for name, version, text in rows}
    missing = [n for n in names if n not in found]
    if missing:
        raise EngineError(
            f"{capability} is not set up: its prompt templates are missing. "
            "Run the database migrations.",
            detail=f"missing {missing}",
        )
    return ({n: found[n][1] for n in names}, "+".join(f"{n}@{found[n][0]}" for n in names))
