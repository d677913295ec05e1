"""Uploads wait on disk (the spool folder, shared by app and worker processes) until a worker
reads them; a job removes its file when it ends. A password for an encrypted PDF waits beside
it in a file only its owner can read, never in the queue's tables."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import BinaryIO

from engine.config import Settings
from engine.errors import PdfTooLarge

_CHUNK = 1 << 20


def spool_upload(settings: Settings, source: BinaryIO, *, password: str | None = None,
                 ) -> tuple[Path, str, int]:
    """Copy `source` into the spool in 1 MB pieces; returns (path, sha256, size)."""
    folder = settings.storage.spool_path
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{secrets.token_hex(16)}.pdf"
    limit = settings.ingestion.upload_max_mb * 1024 * 1024
    digest, size = hashlib.sha256(), 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            while piece := source.read(_CHUNK):
                size += len(piece)
                if size > limit:
                    raise PdfTooLarge("This file is larger than the "
                                      f"{settings.ingestion.upload_max_mb} MB limit.")
                digest.update(piece)
                out.write(piece)
        if password:
            fd = os.open(_password_path(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(password)
    except BaseException:
        remove_spooled(settings, path)
        raise
    return path, digest.hexdigest(), size


def _password_path(path: Path) -> Path:
    return path.with_suffix(".pw")


def _inside(settings: Settings, path: Path) -> bool:
    return path.resolve().parent == settings.storage.spool_path.resolve()


def read_spooled(settings: Settings, path: Path) -> tuple[bytes, str | None]:
    if not _inside(settings, path) or not path.is_file():
        from engine.errors import NotFound

        raise NotFound("The uploaded file is no longer waiting to be read. Upload it again.")
    pw = _password_path(path)
    return path.read_bytes(), (pw.read_text(encoding="utf-8") if pw.is_file() else None)


def remove_spooled(settings: Settings, path: Path) -> None:
    if not _inside(settings, path):
        return
    path.unlink(missing_ok=True)
    _password_path(path).unlink(missing_ok=True)
