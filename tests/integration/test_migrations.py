"""Alembic owns the schema: upgrade head, downgrade base, upgrade head again on a real PostgreSQL."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

import engine.db.models  # noqa: F401
from engine.db.base import Base
from engine.db.migrate import downgrade_base, upgrade_head


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(database_factory):
    url = database_factory.create_empty()
    try:
        upgrade_head(url)
        assert _tables(url) == set(Base.metadata.tables)
        downgrade_base(url)
        assert _tables(url) == set()
        upgrade_head(url)
        assert _tables(url) == set(Base.metadata.tables)
    finally:
        database_factory.drop(url)


def test_models_match_migrations(db_url):
    """Autogenerate finds nothing to do: the models and the migrations describe one schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
