"""The embedded PostgreSQL server (the `pgserver` package) used when no DATABASE_URL is set.

A server belongs to the process that started it (pgserver stops it when the process ends), so
the servers this process started are kept here, one per data folder, and reused by every
runtime of the process.
"""

from __future__ import annotations

import logging
import threading
import warnings
from pathlib import Path
from typing import Any

from engine.config import Settings
from engine.errors import DatabaseUnavailable

log = logging.getLogger(__name__)
_lock = threading.Lock()
_servers: dict[Path, Any] = {}  # pgserver.PostgresServer


def database_url(settings: Settings) -> str:
    """The database to use: DATABASE_URL when set, otherwise the embedded PostgreSQL under the
    data folder, which this call starts when it is not running yet."""
    if settings.database.url:
        return settings.database.url
    return start_embedded_postgres(settings.storage.pg_data_dir)


def start_embedded_postgres(data_dir: Path, *, cleanup_mode: str | None = "stop") -> str:
    """Start (or reuse) an embedded PostgreSQL under `data_dir` and return its SQLAlchemy URL.

    Args:
        data_dir: folder holding the cluster; created when missing.
        cleanup_mode: pgserver's mode: "stop" keeps the data when the process ends, "delete"
            removes it (tests), None leaves the server running.

    Raises:
        DatabaseUnavailable: the server could not be started.
    """
    data_dir = Path(data_dir).resolve()
    with _lock:
        server = _servers.get(data_dir)
        if server is None:
            try:
                data_dir.mkdir(parents=True, exist_ok=True)
                with warnings.catch_warnings():
                    # platformdirs warns when XDG_RUNTIME_DIR is unset; harmless here.
                    warnings.simplefilter("ignore")
                    import pgserver

                    server = pgserver.get_server(data_dir, cleanup_mode=cleanup_mode)
            except Exception as e:  # pgserver raises plain exceptions for every failure
                raise DatabaseUnavailable(
                    "The built-in database could not be started. Check that the data folder "
                    f"'{data_dir}' is writable, or set DATABASE_URL to use your own PostgreSQL.",
                    detail=repr(e),
                ) from e
            _servers[data_dir] = server
            log.info("embedded postgres started", extra={"data_dir": str(data_dir)})
    uri = server.get_uri()
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)
