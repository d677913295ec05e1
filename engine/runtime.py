"""The process's long-lived resources: settings, database engine and session factory.

Built by a factory, never at import. The Streamlit app wraps `get_runtime()` in
`st.cache_resource`; the CLI and benchmarks call it directly; tests build their own with
`create_runtime(settings)`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from engine.accounts.keys import cookie_signing_key
from engine.config import Settings, get_settings
from engine.db.embedded import embedded_database_url
from engine.db.migrate import upgrade_head
from engine.db.session import make_engine, make_session_factory, safe_url
from engine.errors import DatabaseUnavailable
from engine.logging_setup import configure_logging, redact

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    # Signs the "stay signed in" cookie (configured, or this install's own generated key).
    cookie_key: str = field(repr=False, default="")
    # Adapters created on first use by the capability that owns them (vector store, embedder...).
    extras: dict[str, object] = field(default_factory=dict)


def database_url(settings: Settings | None = None) -> str:
    """DATABASE_URL when set, otherwise the embedded PostgreSQL under the data folder."""
    settings = settings or get_settings()
    if settings.database.url:
        return settings.database.url
    return embedded_database_url(settings.storage.pg_data_dir)


def create_runtime(settings: Settings | None = None, *, migrate: bool = True) -> Runtime:
    """Connect to the database (starting the embedded one if needed) and apply migrations.

    Raises:
        ConfigurationError: a configured cookie key that is too short, or a cookie key file
            that cannot be read or created.
        DatabaseUnavailable: the database cannot be reached, started or migrated (the cause
            is logged, without any password).
    """
    settings = settings or get_settings()
    configure_logging(settings)
    cookie_key = cookie_signing_key(settings)
    url: str | None = settings.database.url
    try:
        url = database_url(settings)
        engine = _connect(url, settings, migrate=migrate)
    except DatabaseUnavailable as e:
        _log_start_failure(e, url)
        raise
    log.info("runtime ready", extra={"database": safe_url(url)})
    return Runtime(settings=settings, engine=engine, session_factory=make_session_factory(engine),
                   cookie_key=cookie_key)


def _connect(url: str, settings: Settings, *, migrate: bool) -> Engine:
    engine = make_engine(url, settings)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        if migrate:
            upgrade_head(url)
    except (OperationalError, DatabaseUnavailable) as e:
        engine.dispose()
        orig = getattr(e, "orig", None) or getattr(e, "detail", None)
        raise DatabaseUnavailable(
            f"Cannot reach the database at {safe_url(url)}. Check that it is running and that "
            "DATABASE_URL is right.",
            detail=str(orig) if orig else str(e),
        ) from e
    except SQLAlchemyError as e:
        engine.dispose()
        raise DatabaseUnavailable(
            "The database schema could not be brought up to date.", detail=repr(e)
        ) from e
    return engine


def _log_start_failure(e: DatabaseUnavailable, url: str | None) -> None:
    """What the start-up page calls "the technical details": the cause, for the operator's
    log. The URL's password is masked wherever it appears."""
    cause = e.detail or repr(e.__cause__ or e)
    database = None
    if url:
        database = safe_url(url)
        try:
            password = make_url(url).password
        except ArgumentError:
            password = None
        if password:
            cause = cause.replace(str(password), "***")
    log.error("database start failed: %s", redact(cause),
              extra={"database": database, "problem": e.user_message})


@lru_cache(maxsize=1)
def get_runtime() -> Runtime:
    """The process-wide runtime for the CLI and scripts."""
    return create_runtime()
