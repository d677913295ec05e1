"""Uploads wait on disk (the spool folder, shared by app and worker processes) until a worker
reads them; a job removes its file when it ends. A password for an encrypted PDF waits beside
it in a file only its owner can read, never in the queue's tables, and so do the vectors of an
ingestion that stepped aside for another learner (`engine.jobs.fairness`)."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from engine.errors import NotFound
from engine.ingestion.pdf import check_size

if TYPE_CHECKING:
    from engine.runtime import Runtime

_CHUNK = 1 << 20


def spool_upload(
    rt: Runtime,
    *,
    source: BinaryIO,
    password: str | None = None,
    suffix: str = ".pdf",
    size_check: Callable[[int], None] | None = None,
) -> tuple[Path, str, int]:
    """Copy `source` into the spool in 1 MB pieces; returns (path, sha256, size).
    `size_check(bytes so far)` refuses a file too large (default: a PDF's upload limit)."""
    settings = rt.settings
    folder = settings.storage.spool_path
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{secrets.token_hex(16)}{suffix}"
    digest, size = hashlib.sha256(), 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            while piece := source.read(_CHUNK):
                size += len(piece)
                if size_check is None:
                    check_size(size, settings)
                else:
                    size_check(size)
                digest.update(piece)
                out.write(piece)
        if password:
            fd = os.open(_password_path(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(password)
    except BaseException:
        remove_spooled(rt, path=path)
        raise
    return path, digest.hexdigest(), size


def _password_path(path: Path) -> Path:
    return path.with_suffix(".pw")


def checkpoint_path(path: Path) -> Path:
    """Where a paused ingestion of the spooled file keeps the vectors it made so far."""
    return path.with_suffix(".vectors.npz")


def _inside(rt: Runtime, path: Path) -> bool:
    return path.resolve().parent == rt.settings.storage.spool_path.resolve()


def read_spooled(rt: Runtime, *, path: Path) -> tuple[bytes, str | None]:
    if not _inside(rt, path) or not path.is_file():
        raise NotFound("The uploaded file is no longer waiting to be read. Upload it again.")
    pw = _password_path(path)
    return path.read_bytes(), (pw.read_text(encoding="utf-8") if pw.is_file() else None)


def remove_spooled(rt: Runtime, *, path: Path) -> None:
    if not _inside(rt, path):
        return
    path.unlink(missing_ok=True)
    _password_path(path).unlink(missing_ok=True)
    checkpoint_path(path).unlink(missing_ok=True)
