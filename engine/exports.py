"""Prepared data exports on disk: `<data folder>/exports/<user id>-<job id>.zip`.

An export is made by a background job (`engine.jobs.tasks.export_body`) and offered for
download until it expires, `export_ttl_h` hours (default 24) after its job finished. It is
removed:

- when it is looked at after it expired (`engine.jobs.export_path`, the Profile page);
- when the learner prepares a newer one (only the newest is offered);
- when the account is deleted (`remove_user_exports`, called by the deletion);
- by the nightly check and `python -m engine check --repair` (expired, stray and partial
  files: `engine.integrity`).

Files are owner-only (0600 in a 0700 folder) and written atomically under a temporary name.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.private_files import PARTIAL_SUFFIX, private_folder, private_writer

if TYPE_CHECKING:
    from engine.runtime import Runtime

__all__ = [
    "ExportFile",
    "export_file",
    "expires_at",
    "exports_folder",
    "exports_root",
    "private_writer",
    "remove_export_file",
    "remove_user_exports",
    "stored_exports",
]

_NAME = re.compile(
    r"^(?P<user>\d+)-(?P<job>\d+)\.zip(?P<partial>\..+" + re.escape(PARTIAL_SUFFIX) + r")?$"
)


@dataclass(frozen=True)
class ExportFile:
    """A file in the exports folder; `user_id`/`job_id` are None when its name names none."""

    name: str
    user_id: int | None
    job_id: int | None
    partial: bool


def exports_root(rt: Runtime) -> Path:
    return rt.settings.storage.data_dir / "exports"


def exports_folder(rt: Runtime) -> Path:
    """The exports folder, created owner-only."""
    return private_folder(exports_root(rt))


def export_file(rt: Runtime, *, user_id: int, job_id: int) -> Path:
    return exports_root(rt) / f"{int(user_id)}-{int(job_id)}.zip"


def expires_at(rt: Runtime, finished_at: dt.datetime) -> dt.datetime:
    """When an export whose job finished at `finished_at` stops being offered."""
    return finished_at + dt.timedelta(hours=rt.settings.storage.export_ttl_h)


def parse_name(name: str) -> ExportFile:
    m = _NAME.match(name)
    if m is None:
        return ExportFile(name, None, None, partial=False)
    return ExportFile(name, int(m["user"]), int(m["job"]), partial=m["partial"] is not None)


def stored_exports(rt: Runtime) -> list[ExportFile]:
    """Every file in the exports folder (folders inside it are not the app's and are left)."""
    root = exports_root(rt)
    if not root.is_dir():
        return []
    return sorted((parse_name(p.name) for p in root.iterdir() if p.is_file()), key=lambda f: f.name)


def remove_export_file(rt: Runtime, name: str) -> None:
    (exports_root(rt) / Path(name).name).unlink(missing_ok=True)


def remove_user_exports(rt: Runtime, *, user_id: int, keep: Path | None = None) -> int:
    """Remove every export file of the learner (finished or partial) except `keep`; returns
    how many were removed. Never touches another learner's files."""
    removed = 0
    for f in stored_exports(rt):
        if f.user_id == int(user_id) and (keep is None or f.name != keep.name):
            remove_export_file(rt, f.name)
            removed += 1
    return removed
