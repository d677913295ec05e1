"""What a piece of code asks of PostgreSQL, from libpq's own protocol trace (`PQtrace`) of
every pooled connection it checks out: the round trips (each ends with the server's
ReadyForQuery) and the transaction commands (BEGIN, COMMIT, ROLLBACK)."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from sqlalchemy import Engine, event

TRANSACTION_COMMANDS = {"BEGIN", "COMMIT", "ROLLBACK"}


@dataclass
class Traffic:
    """Filled in when the `traced` block ends."""

    round_trips: int = 0
    commands: list[str] = field(default_factory=list)  # BEGIN, COMMIT and ROLLBACK, in order


@contextmanager
def traced(engine: Engine) -> Iterator[Traffic]:
    """Trace every connection `engine`'s pool hands out inside the block (connections
    already checked out are not traced)."""
    traffic = Traffic()
    with tempfile.TemporaryFile() as log:

        def checkout(dbapi_conn, record, proxy):
            dbapi_conn.pgconn.trace(log.fileno())
            dbapi_conn.pgconn.set_trace_flags(
                psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE
            )

        def checkin(dbapi_conn, record):
            if dbapi_conn is not None:
                dbapi_conn.pgconn.untrace()  # flushes what it traced

        event.listen(engine, "checkout", checkout, insert=True)  # before the idle ping
        event.listen(engine, "checkin", checkin)
        try:
            yield traffic
        finally:
            event.remove(engine, "checkout", checkout)
            event.remove(engine, "checkin", checkin)
            log.seek(0)
            lines = log.read().decode(errors="replace").splitlines()
    for line in lines:
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        if parts[0] == "B" and parts[2] == "ReadyForQuery":
            traffic.round_trips += 1
        elif parts[0] == "F" and parts[2] == "Query" and len(parts) > 3:
            words = re.sub(r'^\s*"|"$', "", parts[3]).split()
            if words and words[0].upper() in TRANSACTION_COMMANDS:
                traffic.commands.append(words[0].upper())
