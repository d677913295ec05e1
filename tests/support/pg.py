"""A real PostgreSQL for tests: DATABASE_URL when set, else an embedded pgserver in a temp dir.

Each test gets its own database cloned from a template that Alembic migrated once per session,
so tests are isolated and services can commit as they do in production.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine.url import make_url

from engine.db.embedded import start_embedded_postgres
from engine.db.migrate import upgrade_head
from engine.db.session import normalise_url


def server_url(tmp_root: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return normalise_url(url)
    url = start_embedded_postgres(tmp_root / "pg", cleanup_mode="delete")
    # A throw-away server: nothing it holds must outlive an operating-system crash, so it
    # skips flushing to disk (each test's CREATE and DROP DATABASE and every commit wait on
    # it otherwise). Never a setting for a server that keeps data.
    engine = _admin(url)
    with engine.connect() as conn:
        for name in ("fsync", "full_page_writes", "synchronous_commit"):
            conn.execute(text(f"ALTER SYSTEM SET {name} = off"))
        conn.execute(text("SELECT pg_reload_conf()"))
    engine.dispose()
    return url


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _admin(url: str):
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)


class DatabaseFactory:
    """Creates migrated databases cheaply by cloning a template."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.template = f"gw_template_{uuid.uuid4().hex[:8]}"
        self._admin = _admin(url)
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.template}"'))
            version = int(conn.execute(text("SHOW server_version_num")).scalar_one())
        # Copying the template's files is several times cheaper than logging every block of
        # it (PostgreSQL 15's default) for a small template on an unflushed server.
        self._strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""
        upgrade_head(with_database(url, self.template))

    def create(self) -> str:
        name = f"gw_test_{uuid.uuid4().hex[:10]}"
        with self._admin.connect() as conn:
            conn.execute(
                text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"{self._strategy}')
            )
        return with_database(self.url, name)

    def create_empty(self) -> str:
        name = f"gw_test_{uuid.uuid4().hex[:10]}"
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return with_database(self.url, name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))
        self._admin.dispose()
