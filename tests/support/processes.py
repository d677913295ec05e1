"""Real processes for fault tests: a Chroma server, `python -m engine worker` processes and a
PostgreSQL server this test may stop and start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout_s: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{proc.args} exited with {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class ChromaServer:
    def __init__(self, path: Path) -> None:
        self.port = free_port()
        self.log = open(path.parent / "chroma.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "chroma"),
                "run",
                "--path",
                str(path),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_http(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", proc=self.proc)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)
        self.log.close()


def process_env(settings, **extra: str) -> dict[str, str]:  # Settings
    """Environment for a child process sharing this test's database, data, Chroma and model
    cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDWORK_")}
    env.update(
        {
            "DATABASE_URL": settings.database.url or "",
            "GROUNDWORK_DATA_DIR": str(settings.storage.data_dir),
            "GROUNDWORK_EMBEDDED_WORKER": "false",
            "GROUNDWORK_JOBS_HEARTBEAT_S": "0.5",
            "GROUNDWORK_JOBS_STALLED_AFTER_S": "3",
            "GROUNDWORK_JOBS_RETRY_WAIT_S": "1",
            # At the test's own priority: at the default (10 lower) a worker gets a tenth of a
            # core while the other test processes keep both busy, and waits minutes.
            "GROUNDWORK_JOBS_WORKER_NICENESS": "0",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONPATH": str(ROOT),
        }
    )
    if settings.vectors.host:
        env["CHROMA_HOST"], env["CHROMA_PORT"] = settings.vectors.host, str(settings.vectors.port)
    if settings.storage.model_cache_dir:
        # The test's built embedding model: without it a worker builds its own at start
        # (tens of CPU-seconds, at the worker's lowered priority) before it takes a job.
        env["GROUNDWORK_MODEL_CACHE_DIR"] = str(settings.storage.model_cache_dir)
    env.update(extra)
    return env


def start_worker(env: dict[str, str], log: Path, concurrency: int = 1) -> subprocess.Popen:
    out = open(log, "ab")  # noqa: SIM115 - the child owns it
    return subprocess.Popen(
        [sys.executable, "-m", "engine", "worker", "--concurrency", str(concurrency)],
        env=env,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class RestartablePostgres:
    """A PostgreSQL server of its own (pgserver) that a test can stop and start again."""

    def __init__(self, folder: Path) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

        self.server = pgserver.get_server(folder, cleanup_mode="delete")
        self.folder = folder

    def url(self, database: str = "postgres") -> str:
        return self.server.get_uri(database).replace("postgresql://", "postgresql+psycopg://", 1)

    def stop(self) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user
        )

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def close(self) -> None:
        self.server.cleanup()
