"""A process killed (SIGKILL) at any step of ingest, delete or rebuild leaves a state that
`python -m engine check` reports and `check --repair` brings back to no drift, with every
surviving material searchable (by its vectors and by hybrid search).

Every process is real: the library operations run through the CLI (or the crash worker for a
delete) and stop at a named step (`engine.steps`), where the test kills them; the check, the
repair and the final verification each run in a fresh process on the same database and
Chroma folder. The processes are forked from one that has only imported the engine and litellm
(`tests.support.forked`), which saves each process seconds of imports and of the
interpreter's final teardown, and nothing else. The materials present before the crash are
ingested in the test's process. Embeddings come from the stub server (fast, deterministic).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import library
from engine.bootstrap import create_runtime
from engine.db.models import Material
from engine.steps import ALL_STEPS
from tests.support.forked import ForkServer
from tests.support.library_pdfs import text_pdf

ROOT = Path(__file__).resolve().parents[2]
MODEL = "openai/stub-embed"
OTHER_MODEL = "openai/stub-embed-b"
KEPT = (
    "Glaciers carve U-shaped valleys as they flow, plucking and grinding the bedrock "
    "beneath the ice over thousands of years."
)
NEW = (
    "Coral reefs are built by colonies of tiny polyps that secrete calcium carbonate "
    "skeletons in warm, shallow seas."
)

# step -> (a drift `check` must report, the files that survive, the index model afterwards)
EXPECTED = {
    "ingest:original-saved": ("stray-file", {"kept.pdf"}, MODEL),
    "ingest:rows-committed": ("half-done", {"kept.pdf", "new.pdf"}, MODEL),
    "ingest:vectors-written": ("half-done", {"kept.pdf", "new.pdf"}, MODEL),
    "delete:marked": ("half-done", {"kept.pdf"}, MODEL),
    "delete:vectors-removed": ("half-done", {"kept.pdf"}, MODEL),
    "delete:rows-removed": ("stray-file", {"kept.pdf"}, MODEL),
    "rebuild:collection-filled": ("stray-collection", {"kept.pdf", "new.pdf"}, OTHER_MODEL),
    "rebuild:pointer-switched": ("stray-collection", {"kept.pdf", "new.pdf"}, OTHER_MODEL),
}


def test_every_step_is_covered():
    assert set(EXPECTED) == set(ALL_STEPS)


def _env(llm_stub, model: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(llm_stub.env_for(GROUNDWORK_EMBEDDING_MODEL=model))
    env.pop("GROUNDWORK_PAUSE_AT", None)
    return env


@pytest.fixture(scope="module")
def forks():
    server = ForkServer()
    yield server
    server.close()


def _run(forks: ForkServer, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return forks.run(args, env=env, cwd=ROOT, timeout=300)


def _run_and_kill_at(
    forks: ForkServer, step: str, args: list[str], env: dict[str, str], marker: Path
) -> None:
    env = {**env, "GROUNDWORK_PAUSE_AT": step, "GROUNDWORK_PAUSE_FILE": str(marker)}
    proc = forks.start(args, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 300  # a hang guard only
        while not (marker.exists() and step in marker.read_text()):
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"the process ended before {step}: {out}\n{err}")
            if time.monotonic() > deadline:
                pytest.fail(f"the process never reached {step}")
            time.sleep(0.05)
    finally:
        proc.kill()  # SIGKILL
        proc.wait()
    assert proc.returncode == -9


@pytest.mark.slow  # a child process per step, killed there
@pytest.mark.parametrize("step", ALL_STEPS)
def test_kill_at_step_then_check_repair(step, runtime, make_user, llm_stub, tmp_path, forks):
    email = f"crash-{step.replace(':', '-')}@example.com"
    user = make_user(email)
    env = _env(llm_stub, MODEL)
    (tmp_path / "kept.pdf").write_bytes(text_pdf([KEPT]))
    (tmp_path / "new.pdf").write_bytes(text_pdf([NEW]))
    new = str(tmp_path / "new.pdf")
    action, _ = step.split(":")

    # The materials there before the crash: ingested here, as a finished ingestion leaves them
    # (a process of its own would only add its start-up to every case).
    before = ["kept.pdf"] if action == "ingest" else ["kept.pdf", "new.pdf"]
    hosted = create_runtime(
        llm_stub.settings_for(runtime.settings, embedding_model=MODEL), migrate=False
    )
    try:
        for name in before:
            data = (tmp_path / name).read_bytes()
            library.ingest_pdf(hosted, user_id=user, data=data, filename=name)
    finally:
        hosted.close()

    marker = tmp_path / "steps.txt"
    if action == "ingest":
        _run_and_kill_at(forks, step, ["-m", "engine", "ingest", new, "--user", email], env, marker)
    elif action == "delete":
        with runtime.session_factory() as s:
            doomed = s.scalar(select(Material.id).where(Material.filename == "new.pdf"))
        _run_and_kill_at(
            forks,
            step,
            ["-m", "tests.support.crash_worker", "delete", email, str(doomed)],
            env,
            marker,
        )
    else:
        env = _env(llm_stub, OTHER_MODEL)
        _run_and_kill_at(
            forks, step, ["-m", "engine", "reindex", "--force", "--user", email], env, marker
        )

    kind, survivors, model = EXPECTED[step]
    found = _run(forks, ["-m", "engine", "check", "--user", email], env)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "drift(s) found" in found.stdout, found.stderr
    assert f"{kind} (" in found.stdout

    repaired = _run(forks, ["-m", "engine", "check", "--repair"], env)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "repaired; no drift left" in repaired.stdout

    verified = _run(forks, ["-m", "tests.support.crash_worker", "verify", email], env)
    assert verified.returncode == 0, verified.stderr
    report = json.loads(verified.stdout)
    assert report["drift"] == []
    assert {m["filename"] for m in report["materials"]} == survivors
    for m in report["materials"]:
        assert m["status"] == "ready" and m["dense_hit"] and m["search_hit"], m
    assert report["vectors"] == report["chunks"]
    assert report["index_model"] == model
    originals = tmp_path / "data" / "originals"
    assert len(list(originals.rglob("*.pdf"))) == len(survivors)
    assert not list(originals.rglob("*.part"))
