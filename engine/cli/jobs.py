"""Worker command: `python -m engine worker [--concurrency N]` runs queued jobs until stopped."""

from __future__ import annotations

import argparse

from engine.bootstrap import get_runtime, run_worker


def _worker(args: argparse.Namespace) -> int:
    rt = get_runtime()
    print(
        f"worker running {args.concurrency or rt.settings.jobs.worker_concurrency} job(s) at a "
        "time; stop with Ctrl+C",
        flush=True,
    )
    run_worker(rt, concurrency=args.concurrency)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "worker",
        help="run background jobs (ingestion, generation, "
        "fitting, re-indexing, export) until stopped",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=None,
        metavar="N",
        help="jobs run at the same time (default: GROUNDWORK_WORKER_CONCURRENCY, 2)",
    )
    p.set_defaults(func=_worker)
