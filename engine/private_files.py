"""Learners' files on disk (original PDFs, data exports) readable by the app's user only.

Folders are 0700 and files 0600 whatever the process umask, so another account on the same
machine (or a web server serving the data folder by mistake) cannot read a learner's PDFs or
their export. Files are written under a temporary name first and renamed into place, so a crash
never leaves a partial file under its final name.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """Create `path` (and missing parents) and make `path` itself owner-only."""
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    if stat.S_IMODE(path.stat().st_mode) != FOLDER_MODE:
        path.chmod(FOLDER_MODE)
    return path


PARTIAL_SUFFIX = ".part"


def partial_path(path: Path) -> Path:
    """A fresh name for writing `path` before it is renamed into place."""
    return path.with_name(f"{path.name}.{secrets.token_hex(6)}{PARTIAL_SUFFIX}")


@contextmanager
def private_writer(path: Path) -> Iterator[BinaryIO]:
    """Write `path` as an owner-only file, atomically: renamed into place only on success."""
    tmp = partial_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_private(path: Path, data: bytes) -> Path:
    """`data` into `path` (owner-only, atomic)."""
    with private_writer(path) as out:
        out.write(data)
    return path


def is_private(path: Path) -> bool:
    """True when neither group nor others may read, write or enter `path`."""
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def make_private(path: Path) -> None:
    path.chmod(FOLDER_MODE if path.is_dir() else FILE_MODE)
