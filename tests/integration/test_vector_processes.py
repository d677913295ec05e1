"""A second process that replaces a learner's collection (a rebuild beside the app, an account
deleted and the collection made again) does not break search or ingestion in the first: the
stale collection handle is dropped and the collection reopened once. `engine ingest` beside the
running app never writes the embedded store itself: the app's worker does."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from engine import jobs, library
from engine.bootstrap import create_runtime
from engine.retrieval.vectors import VectorStore
from tests.support.jobs import running_worker
from tests.support.library_pdfs import text_pdf
from tests.support.processes import process_env

# Each test runs a Chroma server or command-line processes beside this one.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SOIL = (
    "Soil forms slowly as rock weathers and organic matter accumulates; a centimetre of "
    "topsoil can take centuries to form."
)
BEES = "Honey bees communicate the direction of flowers with a waggle dance on the comb."


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_search_and_ingest_keep_working_after_a_rebuild_in_another_process(
    runtime, make_user, llm_stub
):
    email = "two-processes@example.com"
    user = make_user(email)
    hosted = llm_stub.settings_for(runtime.settings, embedding_model="openai/stub-embed")
    rt = create_runtime(hosted, migrate=False)
    try:
        soil = library.ingest_pdf(
            rt, user_id=user, data=text_pdf([SOIL]), filename="soil.pdf"
        ).material
        assert (
            library.search_library(rt, user_id=user, query="topsoil centuries")[0].material_id
            == soil.id
        )  # this process now holds the collection open

        env = {**os.environ, **llm_stub.env_for(GROUNDWORK_EMBEDDING_MODEL="openai/stub-embed")}
        _run(["-m", "engine", "reindex", "--force", "--user", email], env)

        hits = library.search_library(rt, user_id=user, query=SOIL)
        assert hits[0].material_id == soil.id
        bees = library.ingest_pdf(
            rt, user_id=user, data=text_pdf([BEES]), filename="bees.pdf"
        ).material
        assert library.search_library(rt, user_id=user, query=BEES)[0].material_id == bees.id
        assert library.vector_count(rt, user_id=user) == soil.chunk_count + bees.chunk_count
    finally:
        rt.close()


def test_cli_ingest_beside_the_running_app_is_written_by_the_apps_worker(
    runtime, make_user, tmp_path, monkeypatch
):
    email = "beside-the-app@example.com"
    user = make_user(email)
    soil = library.ingest_pdf(
        runtime, user_id=user, data=text_pdf([SOIL]), filename="soil.pdf"
    ).material
    assert (
        library.search_library(runtime, user_id=user, query="topsoil centuries")[0].material_id
        == soil.id
    )  # this process (the app) holds the embedded store open
    written_here: list[str] = []
    real = library.ingest_pdf

    def ingest(rt, **kwargs):
        written_here.append(kwargs["filename"])
        return real(rt, **kwargs)

    monkeypatch.setattr(library, "ingest_pdf", ingest)
    pdf = tmp_path / "bees.pdf"
    pdf.write_bytes(text_pdf([BEES]))
    env = process_env(
        runtime.settings,
        GROUNDWORK_JOBS_HEARTBEAT_S="10",
        GROUNDWORK_JOBS_STALLED_AFTER_S="30",
        GROUNDWORK_MODEL_CACHE_DIR=str(runtime.settings.storage.models_dir),
    )
    with running_worker(runtime):  # the app's worker
        out = _run(["-m", "engine", "ingest", "--user", email, str(pdf)], env)

    assert "ingested  " in out and "bees.pdf" in out
    assert written_here == ["bees.pdf"]  # by the app's worker, not by the command's process
    [job] = [j for j in jobs.recent_jobs(runtime, user_id=user) if j.label == "bees.pdf"]
    assert job.outcome == "done"
    bees = job.result.material_id
    assert library.search_library(runtime, user_id=user, query=BEES)[0].material_id == bees
    assert library.search_library(runtime, user_id=user, query=SOIL)[0].material_id == soil.id
    assert library.vector_count(runtime, user_id=user) == soil.chunk_count + job.result.chunks


_REPLACE = textwrap.dedent("""
    import sys
    from pathlib import Path
    import numpy as np
    from engine.retrieval.vectors import VectorStore

    store = VectorStore(path=Path(sys.argv[1]))
    store.drop("gw_user_1")
    if sys.argv[2] == "recreate":
        vectors = np.eye(4, dtype=np.float32)[[1, 2]]
        store.add("gw_user_1", user_id=1, chunk_ids=[7, 8], material_ids=[2, 2],
                  embeddings=vectors, model="m")
""")


def _other_process(path: Path, mode: str) -> None:
    _run(["-c", _REPLACE, str(path), mode], dict(os.environ))


def test_a_collection_replaced_by_another_process_is_reopened(tmp_path):
    path = tmp_path / "chroma"
    store = VectorStore(path=path)
    eye = np.eye(4, dtype=np.float32)
    store.add(
        "gw_user_1", user_id=1, chunk_ids=[1], material_ids=[1], embeddings=eye[[0]], model="m"
    )
    assert [h.chunk_id for h in store.query("gw_user_1", embedding=eye[0], k=1)] == [1]

    _other_process(path, "recreate")

    assert [h.chunk_id for h in store.query("gw_user_1", embedding=eye[1], k=1)] == [7]
    store.add(
        "gw_user_1", user_id=1, chunk_ids=[9], material_ids=[3], embeddings=eye[[3]], model="m"
    )
    assert store.chunk_ids("gw_user_1") == {7: 2, 8: 2, 9: 3}
    assert store.similarities("gw_user_1", embedding=eye[3], chunk_ids=[9]) == {9: 1.0}


def test_a_collection_dropped_by_another_process_reads_as_empty(tmp_path):
    path = tmp_path / "chroma"
    store = VectorStore(path=path)
    eye = np.eye(4, dtype=np.float32)
    store.add(
        "gw_user_1", user_id=1, chunk_ids=[1], material_ids=[1], embeddings=eye[[0]], model="m"
    )
    assert store.count("gw_user_1") == 1

    _other_process(path, "drop")

    assert store.query("gw_user_1", embedding=eye[0], k=1) == []
    assert store.count("gw_user_1") == 0
    assert store.model_of("gw_user_1") is None
    store.delete_material("gw_user_1", material_id=1)  # nothing to delete: no error
    store.add(
        "gw_user_1", user_id=1, chunk_ids=[5], material_ids=[1], embeddings=eye[[2]], model="m"
    )
    assert store.chunk_ids("gw_user_1") == {5: 1}
