"""Health of the server for the admin console: database, vector store, job workers' last
heartbeats, queue depth, data folder disk use, and which parts are embedded or external."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.orm import Session

from engine.admin.access import require_admin
from engine.errors import EngineError
from engine.generation.service import generation_mode

if TYPE_CHECKING:
    from engine.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Part:
    """One part of the installation: whether it works and where it runs."""

    name: str
    ok: bool
    placement: str  # 'embedded', 'external' or 'none'
    detail: str


@dataclass(frozen=True)
class Health:
    parts: list[Part]
    workers: list[tuple[int, dt.datetime]]  # worker id, last heartbeat (UTC)
    queue: dict[str, int]  # procrastinate status (todo, doing, failed...) -> jobs
    folders: dict[str, int]  # data folder part -> bytes
    disk_free: int
    disk_total: int


def _size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                continue  # removed while we walked
    return total


def health(rt: Runtime, *, actor_id: int) -> Health:
    """Raises Forbidden for anyone but an admin."""
    s = rt.settings
    with rt.session_factory() as session:
        require_admin(session, actor_id)
        version = session.execute(text("SHOW server_version")).scalar_one()
        workers, queue = _job_queue(session)
    parts = [
        Part(
            "Database (PostgreSQL)",
            True,
            "external" if s.database.url else "embedded",
            f"PostgreSQL {version}",
        ),
        _vector_store_part(rt),
    ]
    local = rt.worker
    parts.append(
        Part(
            "Job worker",
            bool(workers) or (local is not None and local.alive),
            "embedded" if s.jobs.embedded_worker else "external",
            f"{len(workers)} worker(s) sending heartbeats",
        )
    )
    parts.append(_model_part(rt))
    data = s.storage.data_dir
    usage = shutil.disk_usage(data if data.is_dir() else Path("."))
    return Health(parts, workers, queue, _folder_sizes(data), usage.free, usage.total)


def _job_queue(session: Session) -> tuple[list[tuple[int, dt.datetime]], dict[str, int]]:
    """The workers sending heartbeats (latest first), and the queue's jobs per status."""
    workers = [
        (int(i), at)
        for i, at in session.execute(
            text(
                "SELECT id, last_heartbeat FROM procrastinate.procrastinate_workers "
                "ORDER BY last_heartbeat DESC"
            )
        )
    ]
    queue = {
        str(status): int(n)
        for status, n in session.execute(
            text(
                "SELECT status::text, count(*) FROM procrastinate.procrastinate_jobs "
                "GROUP BY status"
            )
        )
    }
    return workers, queue


def _vector_store_part(rt: Runtime) -> Part:
    where = "external" if rt.settings.vectors.host else "embedded"
    try:
        names = rt.vectors.list_names()
    except EngineError as e:
        log.warning("vector store health check failed: %s", e)
        return Part("Vector store (Chroma)", False, where, e.user_message)
    return Part("Vector store (Chroma)", True, where, f"{len(names)} collections")


def _model_part(rt: Runtime) -> Part:

    mode = generation_mode(rt)
    return Part(
        "Language model",
        True,
        "none" if mode.offline else "external",
        "offline generator (no model configured)" if mode.offline else f"model {mode.model}",
    )


def _folder_sizes(data: Path) -> dict[str, int]:
    """Bytes in each folder of the data folder, and in its loose files ('(files)')."""
    folders: dict[str, int] = {}
    if data.is_dir():
        for child in sorted(data.iterdir()):
            if child.is_dir():
                folders[child.name] = _size(child)
        folders["(files)"] = sum(c.stat().st_size for c in data.iterdir() if c.is_file())
    return folders
