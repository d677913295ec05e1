"""The learners' original PDFs, kept under the data folder for export.

`<data folder>/originals/<user id>/<sha256>.pdf`: one file per material (a learner's
materials are unique by SHA-256). Written before the material's rows, removed after them, so a
crash leaves at most a file without a material, which `python -m engine check --repair` removes.
Files are owner-only (0600 in 0700 folders, `engine.private_files`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from engine.private_files import private_folder, write_private

if TYPE_CHECKING:
    from engine.runtime import Runtime


def originals_root(rt: Runtime) -> Path:
    return rt.settings.storage.data_dir / "originals"


def original_path(rt: Runtime, *, user_id: int, sha256: str) -> Path:
    return originals_root(rt) / str(int(user_id)) / f"{sha256}.pdf"


def save_original(rt: Runtime, *, user_id: int, sha256: str, data: bytes) -> Path:
    """Write the file atomically and owner-only (a crash never leaves a partial PDF under the
    final name)."""
    path = original_path(rt, user_id=user_id, sha256=sha256)
    private_folder(originals_root(rt))
    private_folder(path.parent)
    return write_private(path, data)


def remove_original(rt: Runtime, *, user_id: int, sha256: str) -> None:
    original_path(rt, user_id=user_id, sha256=sha256).unlink(missing_ok=True)


def stored_originals(rt: Runtime) -> dict[int, set[str]]:
    """Every stored original (and leftover partial write): user id -> file names."""
    root = originals_root(rt)
    found: dict[int, set[str]] = {}
    if not root.is_dir():
        return found
    for folder in root.iterdir():
        if folder.is_dir() and folder.name.isdigit():
            found[int(folder.name)] = {p.name for p in folder.iterdir() if p.is_file()}
    return found


def remove_file(rt: Runtime, *, user_id: int, name: str) -> None:
    (originals_root(rt) / str(int(user_id)) / Path(name).name).unlink(missing_ok=True)


def remove_user_originals(rt: Runtime, *, user_id: int) -> None:
    folder = originals_root(rt) / str(int(user_id))
    if folder.exists():
        shutil.rmtree(folder)
