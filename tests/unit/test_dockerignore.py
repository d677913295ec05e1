"""The Docker build context leaves out secrets and learner data (`COPY . .` would bake them
into the image otherwise)."""

from __future__ import annotations

import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def _matches(path: str, pattern: str) -> bool:
    parts = path.split("/")
    if pattern.startswith("**/"):  # at any depth
        spans = [
            "/".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)
        ]
        return any(fnmatch.fnmatchcase(s, pattern[3:]) for s in spans)
    # A folder that matches leaves out everything inside it.
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return any(fnmatch.fnmatchcase(p, pattern) for p in prefixes)


def excluded(path: str, patterns: list[str]) -> bool:
    """Docker's rule, enough for these paths: the last matching pattern decides, and a
    pattern starting with `!` puts a path back."""
    result = False
    for raw in patterns:
        if _matches(path, raw.lstrip("!").rstrip("/")):
            result = not raw.startswith("!")
    return result


def test_secrets_and_data_are_left_out_of_the_image():
    patterns = _patterns()
    for path in (
        ".env",
        ".streamlit/secrets.toml",
        "data/pg/base/1/PG_VERSION",
        "data/chroma/chroma.sqlite3",
        "data/uploads/learner.pdf",
    ):
        assert excluded(path, patterns), f"{path} would be copied into the image"


def test_the_application_is_still_copied():
    patterns = _patterns()
    for path in (
        "app.py",
        "engine/runtime.py",
        "pages/today.py",
        "migrations/env.py",
        ".streamlit/config.toml",
        "requirements.txt",
    ):
        assert not excluded(path, patterns), f"{path} would be missing from the image"
