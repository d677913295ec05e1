"""Interop commands: import an Anki package into a learner's bank."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from engine.bootstrap import get_runtime
from engine.cli.library import _user_id
from engine.errors import NotFound
from engine.interop.anki_import import import_anki


def _import_anki(args: argparse.Namespace) -> int:
    rt = get_runtime()
    path = Path(args.path)
    if not path.is_file():
        raise NotFound(f"No such file: {path}")
    # With --json, stdout holds only the summary: account messages go to stderr.
    with contextlib.redirect_stdout(sys.stderr if args.json else sys.stdout):
        user_id = _user_id(rt, args.user, create=args.create_user, show_password=args.show_password)
    summary = import_anki(rt, user_id=user_id, data=path.read_bytes())
    if args.json:
        print(json.dumps(summary.as_json()))
    else:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(summary.skipped.items())) or "none"
        print(
            f"imported {path}: {summary.notes} notes, {summary.questions} questions "
            f"({summary.created} new, {summary.updated} updated), {summary.reviews} "
            f"reviews, {summary.media} pictures; skipped: {skipped}"
        )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "import-anki",
        help="import an Anki deck (.apkg/.colpkg) with its review history into a learner's bank",
    )
    p.add_argument("path", metavar="FILE", help="the .apkg or .colpkg file")
    p.add_argument("--user", required=True, metavar="EMAIL", help="the learner's email")
    p.add_argument(
        "--create-user",
        action="store_true",
        help="create the learner when no account has that email",
    )
    p.add_argument(
        "--show-password",
        action="store_true",
        help="print a generated password for a created learner",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"notes", "questions", "reviews", "media", "skipped"} as JSON',
    )
    p.set_defaults(func=_import_anki)
