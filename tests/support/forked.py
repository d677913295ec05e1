"""Command-line processes forked from a process that has already imported the engine.

`python -m engine ...` spends about three seconds of CPU importing the engine and litellm
before it does anything, and the crash tests start several such processes per case. This
module's server imports them once; each command is then a fork of it: a separate process with
its own pid, environment, working folder, output files, database connections and Chroma client,
that a test can kill with SIGKILL. Before the fork nothing has read settings, opened a
connection or created a Chroma client, so a child starts as a fresh `python -m` process would,
minus the imports.

The server refuses to fork while it has more than one thread (a fork carries only the thread
that forks, and a lock another thread held stays held in the child). So numpy's OpenBLAS runs
single-threaded in the server and so in its children (by default it starts a thread pool when
imported, also through chromadb; the commands' numpy work is a few small vectors).

    server = ForkServer()                   # one per test session (per xdist worker)
    proc = server.start(["-m", "engine", "check"], env=env, cwd=ROOT)
    proc.poll(); proc.kill(); proc.wait(); proc.communicate() -> (stdout, stderr)
    server.run(["-m", "engine", "check"], env=env, cwd=ROOT) -> subprocess.CompletedProcess
    server.close()
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What every command imports anyway; imported once in the server.
PRELOAD = [
    "engine.__main__",
    "engine.cli.admin",
    "engine.cli.generation",
    "engine.cli.integrity",
    "engine.cli.interop",
    "engine.cli.item_stats",
    "engine.cli.jobs",
    "engine.cli.library",
    "engine.cli.pages",
    "engine.library",
    "engine.integrity",
    "engine.search",
    "litellm",
    "tests.support.crash_worker",
    # The vector store's client and its Rust bindings (no thread starts on import with
    # OpenBLAS single-threaded; `_serve` checks before every fork).
    "chromadb",
    "chromadb.api.rust",
    "chromadb.telemetry.product.posthog",
    "httpx",
    "httpcore",
]


class ForkedProcess:
    """A child of the fork server, used like a `subprocess.Popen` with files for its output."""

    def __init__(self, server: ForkServer, pid: int, args: list[str], out: Path, err: Path):
        self.server, self.pid, self.args = server, pid, args
        self._out, self._err = out, err
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.server._request({"op": "poll", "pid": self.pid})["code"]
        return self.returncode

    def wait(self, timeout: float = 300) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)

    def communicate(self, timeout: float = 300) -> tuple[str, str]:
        self.wait(timeout)
        out, err = (p.read_text(encoding="utf-8", errors="replace") for p in (self._out, self._err))
        self._out.unlink(missing_ok=True)
        self._err.unlink(missing_ok=True)
        return out, err


class ForkServer:
    def __init__(self) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="groundwork-forked-"))
        self._count = 0
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.forked"],
            cwd=ROOT,
            env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._request({"op": "ready"})

    def _request(self, message: dict) -> dict:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(message) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the fork server ended (exit {self._proc.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def start(self, args: list[str], *, env: dict[str, str], cwd: Path = ROOT) -> ForkedProcess:
        """Fork `python <args>` (args: ["-m", module, ...]) with exactly `env` in `cwd`."""
        if args[0] != "-m":
            raise ValueError("only `-m module ...` commands are forked")
        self._count += 1
        out = self._folder / f"{self._count}.out"
        err = self._folder / f"{self._count}.err"
        pid = self._request(
            {
                "op": "run",
                "module": args[1],
                "argv": args[2:],
                "env": env,
                "cwd": str(cwd),
                "stdout": str(out),
                "stderr": str(err),
            }
        )["pid"]
        return ForkedProcess(self, pid, args, out, err)

    def run(
        self, args: list[str], *, env: dict[str, str], cwd: Path = ROOT, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        proc = self.start(args, env=env, cwd=cwd)
        out, err = proc.communicate(timeout)
        assert proc.returncode is not None
        return subprocess.CompletedProcess(args, proc.returncode, out, err)

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(10)
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        for leftover in self._folder.iterdir():
            leftover.unlink()
        self._folder.rmdir()


# --- the server process -------------------------------------------------------------------


def _become(request: dict) -> None:
    """In the forked child: take the command's environment, folder and output files, then
    run its module as `python -m` does, and end as the interpreter does: the exit code of its
    SystemExit (or 1 and the traceback for an uncaught exception), after waiting for its
    threads and running its atexit functions. Only the interpreter's final teardown of every
    module is skipped (`os._exit`): in a fork it touches each object the server imported, so
    the kernel copies nearly all of the server's memory, which took 1.3 s per command."""
    import atexit
    import runpy
    import threading

    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for fd, target in ((null, 0), (out, 1), (err, 2)):
        os.dup2(fd, target)
        os.close(fd)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - the process's own stdin
    sys.argv = [request["module"], *request["argv"]]
    gc.enable()
    code = 0
    try:
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        code = _exit_code(stop.code)
    except BaseException:  # noqa: BLE001 - printed as the interpreter prints it, exit code 1
        sys.excepthook(*sys.exc_info())
        code = 1
    threading._shutdown()  # type: ignore[attr-defined]  # what the interpreter does at exit
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _exit_code(code: object) -> int:
    """The process exit code `sys.exit(code)` gives, printing a message as Python does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _serve() -> None:
    import importlib

    from engine.process import prepare_process

    prepare_process()
    for name in PRELOAD:
        importlib.import_module(name)
    # The language detector loads its model on first use (about 0.4 s): load it once here.
    from engine.domain.language import detect_language

    detect_language("A sentence in English, long enough for the detector to say so. " * 2)
    # Keep the collector away from what every child shares with the server: a collection
    # walks all objects and so copies their memory into the child (Python's advice for
    # servers that fork). Each child collects its own objects again (`_become`).
    gc.disable()
    gc.freeze()
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "ready":
            reply: dict = {"ok": True}
        elif op == "run":
            threads = len(os.listdir("/proc/self/task"))
            if threads != 1:
                reply = {"error": f"the fork server has {threads} threads: it must not fork"}
            else:
                sys.stdout.flush()
                pid = os.fork()
                if pid == 0:
                    _become(request)
                reply = {"pid": pid}
        elif op == "poll":
            done, status = os.waitpid(request["pid"], os.WNOHANG)
            reply = {"code": os.waitstatus_to_exitcode(status) if done else None}
        else:
            reply = {"error": f"unknown request {op!r}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()
