"""One engine and session factory per process, with a slow-query log and pool statistics."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from sqlalchemy import CursorResult, Engine, Result, create_engine, event, exc
from sqlalchemy.engine.url import make_url
from sqlalchemy.orm import Session, sessionmaker

from engine.config import Settings
from engine.errors import DatabaseUnavailable

log = logging.getLogger("engine.db")
slow_log = logging.getLogger("engine.db.slow")


def normalise_url(url: str) -> str:
    """Use psycopg 3 for every PostgreSQL URL, whatever driver the URL names."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, settings: Settings) -> Engine:
    """Create the SQLAlchemy engine with pooling and timeouts from settings."""
    url = normalise_url(url)
    engine = create_engine(
        url,
        pool_size=settings.database.pool_size,
        max_overflow=settings.database.max_overflow,
        pool_timeout=settings.database.pool_timeout_s,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": settings.database.connect_timeout_s,
            "options": f"-c statement_timeout={settings.database.statement_timeout_ms}",
            "application_name": "groundwork",
        },
    )
    _install_slow_query_log(engine, settings.database.slow_query_ms)
    _install_idle_ping(engine)
    _install_pool_watch(engine)
    _install_outage_message(engine)
    return engine


DB_DOWN = (
    "The database cannot be reached right now (it may be restarting). Nothing was "
    "saved; please try again in a moment."
)


# A connection back from the pool after this long idle is pinged before use.
PING_AFTER_IDLE_S = 1.0


def _install_idle_ping(engine: Engine) -> None:
    """Ping a pooled connection before use only when it sat idle for PING_AFTER_IDLE_S.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: a round trip for each session, and
    a page run opens several in a row. A connection returned a moment ago was alive then; one
    that idled (the learner was reading) is checked. A dead one is replaced before the request
    uses it (the pool retries on DisconnectionError); a server lost within the idle window
    fails that one request with the outage message, and the pool reconnects after it.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, proxy):
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        # Outside a transaction: one round trip (inside one it was three: BEGIN, SELECT 1 and
        # ROLLBACK), and the click that checked the connection out waits for it.
        autocommit = dbapi_conn.autocommit
        try:
            dbapi_conn.autocommit = True
            try:
                with dbapi_conn.cursor() as cursor:
                    cursor.execute("SELECT 1")
            finally:
                dbapi_conn.autocommit = autocommit
        except psycopg.Error as e:
            raise exc.DisconnectionError(f"idle connection lost: {e}") from e


def _install_outage_message(engine: Engine) -> None:
    """A lost or refused connection becomes DatabaseUnavailable, an EngineError every page
    shows as a message; SQLAlchemy still invalidates the dead connection."""

    @event.listens_for(engine, "handle_error")
    def _outage(ctx):  # SQLAlchemy's ExceptionContext
        refused = ctx.connection is None and isinstance(
            ctx.original_exception, psycopg.OperationalError
        )
        if ctx.is_disconnect or refused:
            return DatabaseUnavailable(DB_DOWN, detail=str(ctx.original_exception))
        return None


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reads only, whose statements run without a transaction around them.

    A session of `make_session_factory` opens a transaction for its first statement and
    rolls it back when it closes: a BEGIN and a ROLLBACK round trip around every read, and a
    Today card's click makes several reads. Under PostgreSQL's default isolation (READ
    COMMITTED) every statement of a transaction sees its own snapshot anyway, so a read
    made of several statements sees the same data either way. Nothing may be written here
    (there is no transaction to roll back): a flush or an ORM insert, update or delete
    raises.
    """
    factory = sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )

    @event.listens_for(factory, "before_flush")
    def _no_flush(session, flush_context, instances):
        raise RuntimeError("a read session cannot write (use the session factory)")

    @event.listens_for(factory, "do_orm_execute")
    def _no_writes(state):
        if state.is_insert or state.is_update or state.is_delete:
            raise RuntimeError("a read session cannot write (use the session factory)")

    return factory


def _install_slow_query_log(engine: Engine, threshold_ms: float) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("query_start", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _end(conn, cursor, statement, parameters, context, executemany):
        started = conn.info["query_start"].pop()
        elapsed_ms = (time.perf_counter() - started) * 1000
        if elapsed_ms >= threshold_ms:
            # Statement text only: parameters may hold personal data or hashes.
            slow_log.warning(
                "slow query",
                extra={"elapsed_ms": round(elapsed_ms, 1), "statement": statement[:500]},
            )


pool_log = logging.getLogger("engine.db.pool")


def _install_pool_watch(engine: Engine) -> None:
    """Warn when the pool runs into overflow: the first sign that pool_size is too small."""

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, proxy):
        stats = pool_stats(engine)
        if stats.overflow > 0:
            pool_log.warning(
                "connection pool in overflow",
                extra={
                    "size": stats.size,
                    "checked_out": stats.checked_out,
                    "overflow": stats.overflow,
                },
            )


@dataclass(frozen=True)
class PoolStats:
    size: int
    checked_in: int
    checked_out: int
    overflow: int


def pool_stats(engine: Engine) -> PoolStats:
    """Connection-pool figures for the operations log and health checks."""
    pool = engine.pool
    return PoolStats(
        size=pool.size(),  # type: ignore[attr-defined]
        checked_in=pool.checkedin(),  # type: ignore[attr-defined]
        checked_out=pool.checkedout(),  # type: ignore[attr-defined]
        overflow=pool.overflow(),  # type: ignore[attr-defined]
    )


def safe_url(url: str) -> str:
    """The URL with its password masked, for logs and messages."""
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def affected_rows(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched (0 when the driver cannot tell).

    `Session.execute` is typed as returning a plain `Result`; for these statements it is a
    `CursorResult`, the one that carries `rowcount`.
    """
    return cast(CursorResult[Any], result).rowcount or 0
