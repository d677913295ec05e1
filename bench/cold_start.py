"""Cold start of the app: `streamlit run app.py` on an empty data folder until the sign-up page
is on screen (embedded PostgreSQL initialised, migrations applied), and a warm restart on the
same folder. Anchor: a bare `streamlit run` of a one-line app, measured in the same run.

    python -m bench.cold_start [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_and_render(script: str, data_dir: Path, wait_text: str, browser) -> float:
    port = _port()
    env = {**os.environ, "GROUNDWORK_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            script,
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        page = browser.new_page()
        deadline = time.monotonic() + 120
        while True:
            try:
                page.goto(f"http://127.0.0.1:{port}", timeout=2000)
                break
            except Exception:  # server not listening yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        page.get_by_text(wait_text).first.wait_for(timeout=120_000)
        elapsed = time.perf_counter() - start
        page.close()
        return elapsed
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    bare_dir = Path(tempfile.mkdtemp(prefix="gw-bare-"))
    bare = bare_dir / "bare.py"
    bare.write_text('import streamlit as st\nst.title("Bare page")\n')
    cold, warm, anchor = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        for _ in range(args.runs):
            data = Path(tempfile.mkdtemp(prefix="gw-cold-"))
            cold.append(_serve_and_render("app.py", data, "Welcome to Groundwork", browser))
            warm.append(_serve_and_render("app.py", data, "Welcome to Groundwork", browser))
            anchor.append(_serve_and_render(str(bare), data, "Bare page", browser))
            shutil.rmtree(data, ignore_errors=True)
        browser.close()
    shutil.rmtree(bare_dir, ignore_errors=True)
    med = statistics.median
    print(
        f"cold start (empty data folder: init PostgreSQL + migrate + first page): "
        f"median {med(cold):.1f} s  runs {[round(x, 1) for x in cold]}"
    )
    print(
        f"warm start (existing data folder): median {med(warm):.1f} s  runs "
        f"{[round(x, 1) for x in warm]}"
    )
    print(f"anchor: bare streamlit one-line page: median {med(anchor):.1f} s")
    print(
        f"RESULT cold_start_s={med(cold):.2f} warm_start_s={med(warm):.2f} "
        f"bare_streamlit_s={med(anchor):.2f}"
    )


if __name__ == "__main__":
    main()
