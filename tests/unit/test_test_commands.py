"""The documented test commands are the ones CI runs: README's full-suite command is `.ci/run`'s
(which only adds pip's -q), and CONTRIBUTING's tiers quote README's commands."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bash_blocks(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, re.S)]


def _readme_suite_command() -> str:
    [command] = [b for b in _bash_blocks(ROOT / "README.md") if "requirements-dev.txt" in b]
    return command


def _readme_quick_tier() -> str:
    [command] = [b for b in _bash_blocks(ROOT / "README.md") if "not slow" in b]
    return command


def test_ci_runs_the_readme_test_command():
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    at = lines.index("# The README's test command, verbatim:")
    ci_command = lines[at + 1].replace("pip install -q ", "pip install ")
    assert ci_command == _readme_suite_command()


def test_the_suite_runs_on_several_workers():
    # One run on several workers; the browser tests go to one of them together (tests/conftest.py).
    assert re.search(r"pytest -n \d+$", _readme_suite_command())
    assert re.search(r"pytest -n \d+ ", _readme_quick_tier())


def test_contributing_quotes_the_readme_test_tiers():
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    full = " && ".join(_readme_suite_command().split(" && ")[2:])
    assert f"`{full}`" in contributing
    assert f"`{_readme_quick_tier()}`" in contributing


def test_browser_tests_are_one_unit_of_xdist_work_and_the_rest_one_test_each():
    from types import SimpleNamespace

    from tests.conftest import pytest_xdist_make_scheduler

    values = {"dist": "load", "tx": ["4*popen"]}
    config = SimpleNamespace(getvalue=values.__getitem__, option=SimpleNamespace())
    scheduler = pytest_xdist_make_scheduler(config, None)
    scopes = {
        scheduler._split_scope(nodeid)
        for nodeid in (
            "tests/browser/test_auth_browser.py::test_a",
            "tests/browser/test_practice_browser.py::test_b",
        )
    }
    assert scopes == {"browser"}
    one, other = "tests/unit/test_x.py::test_a[1]", "tests/unit/test_x.py::test_a[2]"
    assert scheduler._split_scope(one) == one and scheduler._split_scope(other) == other
    values["dist"] = "loadfile"  # another distribution asked for: xdist's own scheduler
    assert pytest_xdist_make_scheduler(config, None) is None
