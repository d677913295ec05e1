"""Command line for admins, benchmarks and scripts: `python -m engine COMMAND ...`.

Each capability adds its commands in `engine/cli/<name>.py` with a `register(subparsers)`
function that sets `func` on its parser; `func(args) -> int` returns the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from engine.process import prepare_process

prepare_process()  # before anything imports litellm or Hugging Face code

import engine.cli  # noqa: E402
from engine.errors import EngineError  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in sorted(pkgutil.iter_modules(engine.cli.__path__), key=lambda m: m.name):
        importlib.import_module(f"engine.cli.{module.name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EngineError as e:
        print(f"error: {e.user_message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
