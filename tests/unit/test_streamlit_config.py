"""The served app does no busy work: Streamlit's file watcher is off, and the folders that
change at run time (data, virtual environments) stay unwatched even when it is turned on."""

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
    code = ("from streamlit import config; "
            "print(config.get_option('server.fileWatcherType')); "
            "print(config.get_option('server.folderWatchBlacklist'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=120).stdout.splitlines()
    assert out[0] == "none"
    assert "data" in out[1] and ".venv" in out[1]
