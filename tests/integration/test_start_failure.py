"""A database that cannot be reached or started: the page says so, and the server log has the
cause (the page promises it) without any password."""

from __future__ import annotations

import logging
import socket

import pytest

from engine.bootstrap import create_runtime
from engine.config import Settings
from engine.errors import DatabaseUnavailable

PASSWORD = "hunter2-Sup3rSecret"


@pytest.fixture
def runtime_log(caplog):
    """caplog on the engine's logger tree (which does not propagate to the root logger)."""
    logger = logging.getLogger("engine")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="engine")
    yield caplog
    logger.removeHandler(caplog.handler)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _everything_logged(caplog) -> str:
    return "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)


def test_unreachable_server_is_logged_with_its_cause(runtime_log, tmp_path):
    url = f"postgresql+psycopg://app:{PASSWORD}@127.0.0.1:{_closed_port()}/groundwork"
    settings = Settings(data_dir=tmp_path, database_url=url)
    with pytest.raises(DatabaseUnavailable) as info:
        create_runtime(settings)
    assert PASSWORD not in info.value.user_message
    [record] = [r for r in runtime_log.records if r.levelno >= logging.ERROR]
    assert record.name == "engine.runtime"
    message = record.getMessage()
    assert "database start failed" in message
    assert "refused" in message.lower() or "connection" in message.lower()
    assert "127.0.0.1" in record.database and "***" in record.database
    assert PASSWORD not in _everything_logged(runtime_log)


def test_embedded_database_that_cannot_start_is_logged(runtime_log, tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=None)
    settings.storage.pg_data_dir.write_text("a file where the database folder should be")
    with pytest.raises(DatabaseUnavailable, match="built-in database could not be started"):
        create_runtime(settings)
    [record] = [r for r in runtime_log.records if r.levelno >= logging.ERROR]
    assert "database start failed" in record.getMessage()
    assert "NotADirectoryError" in record.getMessage() or "FileExistsError" in (record.getMessage())
