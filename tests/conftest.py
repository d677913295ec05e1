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


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """bcrypt at its lowest cost in this process: hashes are made and checked the same way, in
    a few milliseconds instead of a quarter of a second each (a learner is made in most tests).
    Child processes (the served app, command-line runs) keep the real cost."""
    import functools

    import bcrypt

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bcrypt, "gensalt", functools.partial(bcrypt.gensalt, rounds=4))
        yield


@pytest.fixture(scope="session", autouse=True)
def shared_onnx_embedders() -> Iterator[None]:
    """One loaded ONNX embedder per (model, model folder, threads) in this process, handed to
    every runtime the tests build: most tests build a runtime that embeds, and loading the
    model costs a few tenths of a second each time. The model is read-only, so a runtime sees
    the same vectors either way. Embedders a test builds itself (`OnnxEmbedder(...)`,
    `load_embedder(...)`) still load their own, and so do served apps and child processes."""
    import threading

    from engine.retrieval import embeddings, stores

    loaded: dict[tuple[str, str, int], embeddings.Embedder] = {}
    lock = threading.Lock()
    load_own = stores.load_embedder

    def load_shared(settings: Settings) -> embeddings.Embedder:
        key = (
            settings.embedding.model,
            str(settings.storage.models_dir),
            settings.embedding.threads,
        )
        with lock:
            if key not in loaded:
                embedder = load_own(settings)
                if not isinstance(embedder, embeddings.OnnxEmbedder):
                    return embedder  # torch and hosted models: as the settings say, each time
                loaded[key] = embedder
            return loaded[key]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stores, "load_embedder", load_shared)
        yield


@pytest.fixture
def db_url(database_factory: DatabaseFactory) -> Iterator[str]:
    url = database_factory.create()
    yield url
    database_factory.drop(url)


@pytest.fixture(scope="session")
def shared_model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of locally built models for the whole run (building one takes a while).

    GROUNDWORK_TEST_MODEL_CACHE names a folder kept between runs (for quick local iterations;
    CI leaves it unset and builds the model once per run). Under pytest-xdist the workers of a
    run share one folder, and the first worker to need it builds the default model while the
    others wait, instead of each building its own copy.
    """
    kept = os.environ.get("GROUNDWORK_TEST_MODEL_CACHE")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if kept:
        folder = Path(kept)
    elif worker:
        folder = tmp_path_factory.getbasetemp().parent / "models"
    else:
        return tmp_path_factory.mktemp("models")
    folder.mkdir(parents=True, exist_ok=True)
    if worker:
        _build_default_model_once(folder)
    return folder


def _build_default_model_once(folder: Path) -> None:
    """Build the default (int8) embedding model into `folder` unless another process has."""
    from filelock import FileLock

    from engine.retrieval import onnx_model

    target = onnx_model.cache_path(folder, quantized=True)
    with FileLock(str(folder / ".build.lock")):
        if not target.is_file():
            onnx_model.build(target, quantized=True)


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


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, hand tests to the workers one at a time as each finishes one.

    By default its "load" scheduler first gives every worker a block of a quarter of its
    share of consecutive tests: with the slow tests first (below), one worker got all of them
    in its first block and ran them one after another while the others ran out of work, and
    the run took twice its total divided by the workers. One at a time, the slow tests spread
    over all workers and the short ones fill in behind them. An explicit --maxschedchunk wins.
    """
    if getattr(config.option, "maxschedchunk", 0) is None:  # xdist present, option not given
        config.option.maxschedchunk = 1


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under pytest-xdist's default distribution, the browser tests go to one worker as one
    unit, first (the largest unit leads), and run there one after another while the other
    workers run everything else, one test at a time. Alone they use under a core, mostly
    waiting for the app and Chromium; run after the rest, the machine's other core idled.
    (xdist's own `--dist loadgroup` cannot do this on pytest 9: its group suffix on node ids
    no longer takes.) Any other `--dist` given keeps xdist's own scheduler."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BrowserTestsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "browser" if nodeid.startswith("tests/browser/") else nodeid

    return BrowserTestsTogether(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first: pytest-xdist hands them out before the many short ones, so no worker
    starts a minutes-long test when the others are nearly done (the wall time stays close to
    the total divided by the workers)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
