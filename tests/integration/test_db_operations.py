"""Operational behaviour of the database layer: slow-query log, pool statistics, CLI status."""

from __future__ import annotations

import logging

from sqlalchemy import text

from engine.config import Settings
from engine.db.session import make_engine, pool_stats


def test_slow_queries_are_logged_without_parameters(db_url, caplog):
    engine = make_engine(db_url, Settings(database_url=db_url, db_slow_query_ms=0))
    try:
        with caplog.at_level(logging.WARNING, logger="engine.db.slow"):
            with engine.connect() as conn:
                conn.execute(text("SELECT :secret AS x"), {"secret": "hunter2-password"})
    finally:
        engine.dispose()
    records = [r for r in caplog.records if r.name == "engine.db.slow"]
    assert records, "a statement over the threshold must be logged"
    assert "SELECT" in records[-1].statement
    assert "hunter2-password" not in caplog.text


def test_fast_queries_are_not_logged(db_url, caplog):
    engine = make_engine(db_url, Settings(database_url=db_url, db_slow_query_ms=60_000))
    try:
        with caplog.at_level(logging.WARNING, logger="engine.db.slow"):
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    assert not [r for r in caplog.records if r.name == "engine.db.slow"]


def test_pool_statistics_and_overflow_warning(db_url, caplog):
    engine = make_engine(db_url, Settings(database_url=db_url, db_pool_size=1, db_max_overflow=2))
    try:
        with caplog.at_level(logging.WARNING, logger="engine.db.pool"):
            with engine.connect() as a, engine.connect() as b:
                a.execute(text("SELECT 1"))
                b.execute(text("SELECT 1"))
                stats = pool_stats(engine)
                assert stats.checked_out == 2
                assert stats.overflow == 1
        assert "connection pool in overflow" in caplog.text
        assert pool_stats(engine).checked_out == 0
    finally:
        engine.dispose()


def test_cli_status_reports_schema_and_pool(settings, capsys):
    from engine.__main__ import main
    from engine.bootstrap import get_runtime

    get_runtime.cache_clear()
    try:
        assert main(["status"]) == 0
    finally:
        get_runtime().close()
        get_runtime.cache_clear()
    from alembic.script import ScriptDirectory

    from engine.db.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(settings.database.url)).get_current_head()
    out = capsys.readouterr().out
    assert f"schema revision {head}" in out
    assert "pool       size=" in out
