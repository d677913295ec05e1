"""Operational behaviour of the database layer: slow-query log, pool statistics, CLI status."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from engine.config import Settings
from engine.db import session as db_session
from engine.db.session import make_engine, pool_stats
from engine.errors import DatabaseUnavailable


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


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(db_url: str, pid: int) -> None:
    other = make_engine(db_url, Settings(database_url=db_url))
    try:
        with other.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            conn.commit()
    finally:
        other.dispose()


def test_a_pooled_connection_that_died_while_idle_is_replaced_before_use(
    db_url, monkeypatch: pytest.MonkeyPatch
):
    """A learner who read a question for a while clicks: the server had dropped the pooled
    connection meanwhile (a restart, an idle timeout), and the request works on a new one."""
    monkeypatch.setattr(db_session, "PING_AFTER_IDLE_S", 0.0)
    engine = make_engine(db_url, Settings(database_url=db_url, db_pool_size=1))
    try:
        dead = _backend_pid(engine)
        _terminate(db_url, dead)
        assert _backend_pid(engine) != dead
    finally:
        engine.dispose()


def test_a_connection_lost_within_the_idle_window_fails_one_request_clearly_then_recovers(
    db_url, monkeypatch: pytest.MonkeyPatch
):
    """A connection used a moment ago is not pinged again (a page run opens several sessions
    in a row); if the server dropped it in that moment, that one request gets the outage
    message, and the next one works."""
    monkeypatch.setattr(db_session, "PING_AFTER_IDLE_S", 3600.0)
    engine = make_engine(db_url, Settings(database_url=db_url, db_pool_size=1))
    try:
        dead = _backend_pid(engine)
        _terminate(db_url, dead)
        with pytest.raises(DatabaseUnavailable):
            _backend_pid(engine)
        assert _backend_pid(engine) != dead
    finally:
        engine.dispose()


def test_the_idle_ping_is_one_round_trip_outside_a_transaction(
    db_url, monkeypatch: pytest.MonkeyPatch
):
    """The click that takes an idle connection waits for its ping: one SELECT 1, no BEGIN or
    ROLLBACK around it; the connection then opens transactions as before."""
    from tests.support.round_trips import traced

    monkeypatch.setattr(db_session, "PING_AFTER_IDLE_S", 0.0)
    engine = make_engine(db_url, Settings(database_url=db_url, db_pool_size=1))
    try:
        _backend_pid(engine)  # the connection exists and is back in the pool
        with traced(engine) as ping:
            with engine.connect() as conn:
                pass
        with traced(engine) as used, engine.begin() as conn:
            conn.execute(text("SELECT 2"))
    finally:
        engine.dispose()
    assert (ping.round_trips, ping.commands) == (1, [])
    assert used.commands == ["BEGIN", "COMMIT"] and used.round_trips == 4  # ping, BEGIN, 2, COMMIT


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
