"""`python -m engine check`: compare PostgreSQL with the vector store and the data folder, and
repair drift."""

from __future__ import annotations

import argparse

from engine import integrity
from engine.accounts import get_account
from engine.bootstrap import get_runtime


def _check(args: argparse.Namespace) -> int:
    rt = get_runtime()
    user_id = get_account(rt, email=args.user).user_id if args.user else None
    scope = args.user or "all learners"
    found = (
        integrity.repair(rt, user_id=user_id)
        if args.repair
        else integrity.check(rt, user_id=user_id)
    )
    for drift in found:
        print(f"{'repaired' if args.repair else 'drift'}   {drift}")
    if not found:
        print(f"no drift ({scope})")
        return 0
    if not args.repair:
        print(f"{len(found)} drift(s) found ({scope}); run again with --repair to fix them")
        return 1
    left = integrity.check(rt, user_id=user_id)
    for drift in left:
        print(f"remaining  {drift}")
    print("repaired; no drift left" if not left else f"{len(left)} drift(s) remain")
    return 0 if not left else 2


def register(subparsers: argparse._SubParsersAction) -> None:
    about = (
        "compare PostgreSQL with the vector store and the data folder; exit status 0 "
        "when nothing drifted (or --repair fixed it all), 1 when drift was found without "
        "--repair, 2 when drift remains after --repair"
    )
    p = subparsers.add_parser("check", help=about, description=about)
    p.add_argument("--user", metavar="EMAIL", help="only this learner")
    p.add_argument(
        "--repair",
        action="store_true",
        help="finish half-done ingestions and deletions, embed missing vectors "
        "(or rebuild on a model change), remove orphan vectors and strays, "
        "rebuild lost page rows and changed chunk text from the original, "
        "remove corrupt originals, expired or stray exports and leftover "
        "uploads, and make learners' files owner-only",
    )
    p.set_defaults(func=_check)
