"""`python -m engine generate`: generate questions for a learner from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from engine.accounts import get_account
from engine.bank.service import save_questions
from engine.bootstrap import get_runtime
from engine.generation import service

if TYPE_CHECKING:
    from engine.generation.drafts import Draft


def _generate(args: argparse.Namespace) -> int:
    rt = get_runtime()
    account = get_account(rt, email=args.user)

    def progress(p: service.Progress) -> None:
        if not args.json:
            print(f"  {p.message} ({p.done}/{p.total})", file=sys.stderr)

    result = service.generate_questions(
        rt,
        user_id=account.user_id,
        material_ids=args.material or None,
        topic=args.topic,
        question_type=args.type,
        difficulty=args.difficulty,
        count=args.count,
        on_progress=progress,
    )
    ids: list[int | None] = [None] * len(result.drafts)
    if args.accept:
        ids = list(save_questions(rt, user_id=account.user_id, drafts=result.drafts))
    for draft, qid in zip(result.drafts, ids, strict=True):
        if args.json:
            print(json.dumps(_draft_record(draft, qid), ensure_ascii=False))
        else:
            _print_draft(draft)
    summary = (
        f"{len(result.drafts)} of {result.requested} question(s) "
        f"({result.generator}{', ' + result.model if result.model else ''})"
        f"{', saved' if args.accept else ', not saved (use --accept)'}"
    )
    if result.rejections:
        summary += "; rejected: " + ", ".join(result.rejection_summary())
    print(summary, file=sys.stderr)
    return 0


def _draft_record(draft: Draft, qid: int | None) -> dict[str, Any]:
    """A generated question as one JSON line (`id`: its bank id when saved)."""
    return {
        "id": qid,
        "type": draft.type,
        "stem": draft.stem,
        "options": draft.options,
        "correct_index": draft.correct_index,
        "answer": draft.answer,
        "key_points": draft.key_points,
        "explanation": draft.explanation,
        "difficulty": draft.difficulty,
        "excerpt": draft.excerpt,
        "page_start": draft.page_start,
        "page_end": draft.page_end,
        "material_id": draft.material_id,
        "material_title": draft.material_title,
        "chunk_ids": draft.chunk_ids,
        "generator": draft.generator,
        "model": draft.model,
        "prompt_version": draft.prompt_version,
    }


def _print_draft(draft: Draft) -> None:
    """A generated question for people: stem, options (the right one starred), source."""
    print(f"[{draft.type}] {draft.stem}")
    if draft.options:
        for i, o in enumerate(draft.options):
            print(f"   {'*' if i == draft.correct_index else ' '} {o}")
    else:
        print(f"   answer: {draft.answer}")
    print(f"   source: {draft.material_title}, p. {draft.page_start}: \u201c{draft.excerpt}\u201d")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "generate", help="generate questions from a learner's materials (preview unless --accept)"
    )
    p.add_argument("--user", required=True, help="the learner's email")
    p.add_argument(
        "--material",
        type=int,
        action="append",
        help="material id (repeat for several; default: all)",
    )
    p.add_argument("--topic", help="focus on this topic (used as the retrieval query)")
    p.add_argument("--type", choices=["mcq", "cloze", "short", "mix"], default="mix")
    p.add_argument("--difficulty", type=int, default=3, help="1 (recall) to 5 (hard)")
    p.add_argument("--count", type=int, default=5)
    p.add_argument("--accept", action="store_true", help="save the questions to the bank")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=_generate)
