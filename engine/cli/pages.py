"""`python -m engine pages`: a material's pages as read, one JSON line each (for scripts)."""

from __future__ import annotations

import argparse
import json

from engine.bootstrap import get_runtime
from engine.cli.library import _user_id
from engine.library import material_pages
from engine.library.materials import get_material


def _pages(args: argparse.Namespace) -> int:
    rt = get_runtime()
    user_id = _user_id(rt, args.user, create=False)
    material = get_material(rt, user_id=user_id, material_id=args.material)
    ocr = set(material.ocr_pages)
    for page in material_pages(
        rt, user_id=user_id, material_id=args.material, first=1, last=material.page_count
    ):
        print(
            json.dumps(
                {"page": page.number, "text": page.text, "ocr": page.number in ocr},
                ensure_ascii=False,
            )
        )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("pages", help="print a learner's material page by page (JSON)")
    p.add_argument("--user", required=True, metavar="EMAIL", help="the learner's email")
    p.add_argument("--material", required=True, type=int, metavar="ID", help="material id")
    p.set_defaults(func=_pages)
