"""The served app does no busy work: Streamlit's file watcher is off, and the folders that
change at run time (data, virtual environments) stay unwatched even when it is turned on; no
full garbage collection is forced after each run (it delayed every click's last messages)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_config_turns_the_file_watcher_off_and_excludes_busy_folders() -> None:
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["fileWatcherType"] == "none"
    assert {"data", ".venv", "venv"} <= set(server["folderWatchBlacklist"])
    assert server["runOnSave"] is False


def test_streamlit_reads_those_settings_from_the_project_folder() -> None:
    code = (
        "from streamlit import config; "
        "print(config.get_option('server.fileWatcherType')); "
        "print(config.get_option('server.folderWatchBlacklist')); "
        "print(config.get_option('runner.postScriptGC'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.splitlines()
    assert out[0] == "none"
    assert "data" in out[1] and ".venv" in out[1]
    assert out[2] == "False"  # Streamlit's default forces gc.collect(2) after every run


def test_the_page_icon_is_a_file_shipped_with_the_app() -> None:
    """The favicon comes from the app itself, so an offline install shows it (a Material
    icon name makes the browser fetch it from a font server)."""
    import ast

    tree = ast.parse((ROOT / "app.py").read_text())
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "attr", None) == "set_page_config"
    ]
    assert len(calls) == 1
    icon = next(k.value for k in calls[0].keywords if k.arg == "page_icon")
    assert not (isinstance(icon, ast.Constant) and str(icon.value).startswith(":"))
    assignments = {
        t.id: n.value
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    path = ast.unparse(assignments["FAVICON"])
    assert path == "Path(__file__).parent / 'ui' / 'static' / 'favicon.png'"
    png = (ROOT / "ui" / "static" / "favicon.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
