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
    parts = [
        Part(
            "Database (PostgreSQL)",
            True,
            "external" if s.database.url else "embedded",
            f"PostgreSQL {version}",
        )
    ]
    try:
        names = rt.vectors.list_names()
        parts.append(
            Part(
                "Vector store (Chroma)",
                True,
                "external" if s.vectors.host else "embedded",
                f"{len(names)} collections",
            )
        )
    except EngineError as e:
        log.warning("vector store health check failed: %s", e)
        parts.append(
            Part(
                "Vector store (Chroma)",
                False,
                "external" if s.vectors.host else "embedded",
                e.user_message,
            )
        )
    local = rt.worker
    parts.append(
        Part(
            "Job worker",
            bool(workers) or (local is not None and local.alive),
            "embedded" if s.jobs.embedded_worker else "external",
            f"{len(workers)} worker(s) sending heartbeats",
        )
    )

    mode = generation_mode(rt)
    parts.append(
        Part(
            "Language model",
            True,
            "none" if mode.offline else "external",
            "offline generator (no model configured)" if mode.offline else f"model {mode.model}",
        )
    )
    data = s.storage.data_dir
    folders = {}
    if data.is_dir():
        for child in sorted(data.iterdir()):
            if child.is_dir():
                folders[child.name] = _size(child)
        folders["(files)"] = sum(c.stat().st_size for c in data.iterdir() if c.is_file())
    usage = shutil.disk_usage(data if data.is_dir() else Path("."))
    return Health(parts, workers, queue, folders, usage.free, usage.total)
