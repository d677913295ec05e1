"""Shared set-up for the library benchmarks: a throw-away data folder with its own embedded
PostgreSQL and Chroma, and a learner account."""

from __future__ import annotations

from engine.process import prepare_process

prepare_process()  # before anything imports litellm or Hugging Face code

import atexit  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

from engine.bootstrap import create_runtime  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.runtime import Runtime  # noqa: E402


def bench_runtime(data_dir: Path | None = None, **overrides: object) -> Runtime:
    """A runtime on a fresh embedded database under `data_dir` (a temp folder by default,
    removed when the process ends, after the embedded server has stopped). Locally built
    models are cached across runs in the temp folder (rebuilt when missing)."""
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="groundwork-bench-"))
        atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    overrides.setdefault("model_cache_dir", Path(tempfile.gettempdir()) / "groundwork-models")
    settings = Settings(
        data_dir=data_dir, database_url=None, chroma_host=None, log_level="WARNING", **overrides
    )
    rt = create_runtime(settings)
    atexit.register(rt.close)  # before the embedded PostgreSQL stops (handlers run last first)
    logging.getLogger().setLevel(logging.WARNING)
    return rt


def bench_user(rt: Runtime, label: str = "bench") -> int:
    from engine.accounts import register_user

    info = register_user(
        rt,
        email=f"{label}-{uuid.uuid4().hex[:8]}@example.com",
        password="benchmark password 123",
        display_name=label,
    )
    return info.user_id


def variant(rt: Runtime, **flat: object) -> Runtime:
    """`rt` with some settings changed (flat names, as in the environment), sharing its
    database, caches and retrieval stores: for comparing settings on one index."""
    return rt.with_settings(rt.settings.replace(**flat))
