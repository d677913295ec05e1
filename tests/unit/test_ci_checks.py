"""CI (`.ci/run`) lints, format-checks and type-checks before it runs the tests, and still runs
the README's test command verbatim. Read from the files only: nothing is run."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKS = (".venv/bin/ruff check .", ".venv/bin/ruff format --check .", ".venv/bin/mypy")


def _commands() -> list[str]:
    """The command lines of .ci/run (comments and blank lines left out)."""
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def _readme_test_command() -> str:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    found = [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if "requirements-dev.txt" in line and "pytest" in line
    ]
    assert len(found) == 1, found
    return found[0]


def test_lint_format_and_type_checks_run_before_the_tests():
    commands = _commands()
    assert "set -euo pipefail" in commands  # a failing check stops CI
    first_test = next(i for i, c in enumerate(commands) if "pytest" in c)
    install = next(i for i, c in enumerate(commands) if "pip install" in c)
    for check in CHECKS:
        assert check in commands, f"{check!r} missing from .ci/run"
        at = commands.index(check)
        assert install < at < first_test, f"{check!r} must run after the install, before pytest"


def test_ci_runs_the_readme_test_command_verbatim():
    commands = _commands()
    readme = _readme_test_command()
    assert readme in commands
    assert commands.index(readme) > max(commands.index(check) for check in CHECKS)


def test_the_rule_set_and_type_checker_settings_are_explicit():
    # A new ruff release changes its default rules; CI enforces the ones chosen here.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lint = config["tool"]["ruff"]["lint"]
    assert {"E", "F", "I", "B", "BLE", "RUF100"} <= set(lint["select"])
    mypy = config["tool"]["mypy"]
    assert mypy["files"] == ["engine"]
    assert mypy["check_untyped_defs"] and mypy["warn_unused_ignores"]
    dev = (ROOT / "requirements-dev.txt").read_text().split()
    assert any(r.startswith("ruff==") for r in dev) and any(r.startswith("mypy==") for r in dev)
