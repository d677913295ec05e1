"""Shared fixtures: real PostgreSQL per test, settings pointing at temp folders, learners."""

from __future__ import annotations

from engine.process import prepare_process

# Before anything imports litellm or Hugging Face libraries: no network at run time.
prepare_process()

import itertools  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from engine.bootstrap import create_runtime  # noqa: E402
from engine.config import Settings, get_settings  # noqa: E402
from engine.runtime import Runtime  # noqa: E402

# The OpenAI-compatible stub server fixture:
from tests.support.llm_stub import llm_stub  # noqa: E402, F401
from tests.support.pg import DatabaseFactory, server_url  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def database_factory() -> Iterator[DatabaseFactory]:
    # Not under pytest's basetemp: concurrent pytest runs prune each other's old basetemps,
    # which would delete a live cluster. pgserver removes this folder when the session ends.
    root = Path(tempfile.mkdtemp(prefix="groundwork-test-pg-"))
    factory = DatabaseFactory(server_url(root))
    yield factory
    factory.close()


@pytest.fixture
def db_url(database_factory: DatabaseFactory) -> Iterator[str]:
    url = database_factory.create()
    yield url
    database_factory.drop(url)


@pytest.fixture(scope="session")
def shared_model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of locally built models for the whole run (building one takes a while).

    GROUNDWORK_TEST_MODEL_CACHE names a folder kept between runs (for quick local iterations;
    CI leaves it unset and builds the model once per run).
    """
    kept = os.environ.get("GROUNDWORK_TEST_MODEL_CACHE")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def settings(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_model_cache: Path
) -> Settings:
    """Settings for one test: its own database and data folder; no LLM configured."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("GROUNDWORK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GROUNDWORK_MODEL_CACHE_DIR", str(shared_model_cache))
    get_settings.cache_clear()
    s = get_settings()
    yield s
    get_settings.cache_clear()


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = create_runtime(settings, migrate=False)
    yield rt
    rt.close()


@pytest.fixture
def session_factory(runtime: Runtime):
    return runtime.session_factory


_emails = itertools.count(1)


@pytest.fixture
def make_user(runtime: Runtime) -> Callable[..., int]:
    """Create a learner (onboarded unless told otherwise) and return its user id."""
    from engine import accounts, profiles

    def _make(
        email: str | None = None,
        *,
        password: str = "correct horse battery staple",
        display_name: str = "Test Learner",
        onboarded: bool = True,
    ) -> int:
        email = email or f"learner{next(_emails)}@example.com"
        info = accounts.register_user(
            runtime,
            email=email,
            password=password,
            display_name=display_name,
        )
        if onboarded:
            profiles.save_profile(
                runtime,
                user_id=info.user_id,
                display_name=display_name,
                learning_goals="Pass the exam",
                subjects="Testing",
                self_level="intermediate",
                daily_target=20,
                exam_date=None,
                timezone="UTC",
            )
        return info.user_id

    return _make


@pytest.fixture
def shared_data() -> Path:
    """`../shared/data`, or skip when this checkout has none beside it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared evaluation data not found at {SHARED_DATA}")
    return SHARED_DATA
