"""Reader processes started one file ahead: the next file's reader loads Python and pypdf
while this one is read, chunked and embedded, so reading starts at once (starting a reader
costs ~0.15 s of CPU and more wall-clock time on a busy machine, which is most of a one-page
file's reading).

The spare process holds nothing of any file: it waits for its request on stdin, sets its
limits when the request arrives (see `pdf_worker.py`), and exits when its parent does (its
stdin closes). It is used only for the same command and environment it was started with.
"""

from __future__ import annotations

import atexit
import subprocess
import threading

_Key = tuple[tuple[str, ...], tuple[tuple[str, str], ...]]

_lock = threading.Lock()
_spare: tuple[_Key, subprocess.Popen] | None = None


def _spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        close_fds=True,
    )


def start_reader(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A reader process running `command` in `env`, waiting for its request on stdin: the
    spare one when it was started the same way and still runs, else a new one. Either way a
    new spare is started for the next file."""
    global _spare
    key: _Key = (tuple(command), tuple(sorted(env.items())))
    with _lock:
        taken, _spare = _spare, None
    if taken is not None and (taken[0] != key or taken[1].poll() is not None):
        stop_reader(taken[1])
        taken = None
    proc = taken[1] if taken is not None else _spawn(command, env)
    spare = _spawn(command, env)
    kept = False
    with _lock:
        if _spare is None:
            _spare, kept = (key, spare), True
    if not kept:  # another reading started a spare meanwhile
        stop_reader(spare)
    return proc


def stop_reader(proc: subprocess.Popen) -> str:
    """Kill the reader if it still runs, close its pipes; returns what it wrote on stderr."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None and not stream.closed:
            stream.close()
    return stderr


def discard_spare() -> None:
    """Stop the spare reader, if there is one (at exit, and for tests)."""
    global _spare
    with _lock:
        taken, _spare = _spare, None
    if taken is not None:
        stop_reader(taken[1])


atexit.register(discard_spare)
