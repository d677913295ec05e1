"""Library commands: ingest PDFs for a learner, search a learner's library, rebuild vectors."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Self

from engine import jobs
from engine.accounts import generate_password, get_account, register_user
from engine.bootstrap import get_runtime
from engine.cli.admin import NEW_PASSWORD_ENV, report_generated
from engine.db.models import Material
from engine.domain.vocabulary import JobState
from engine.errors import EngineError, NotFound
from engine.ingestion.cleaning import TEXT_PIPELINE_VERSION
from engine.jobs import JobView, get_job
from engine.jobs.results import IngestResult
from engine.jobs.worker import EmbeddedWorker, live_workers
from engine.library import index_is_current, reindex, search_library
from engine.library.reclean import outdated_materials, reclean_material
from engine.runtime import Runtime


def _user_id(
    rt: Runtime, email: str, *, create: bool, show_password: bool = False, quiet: bool = False
) -> int:
    try:
        return get_account(rt, email=email).user_id
    except NotFound as e:
        if not create:
            raise NotFound(
                f"No learner has the email {email} (add --create-user to create one)."
            ) from e
    given = os.environ.get(NEW_PASSWORD_ENV)
    password = given or generate_password()
    info = register_user(
        rt, email=email, password=password, display_name=email.split("@")[0], by_admin=True
    )
    # With --json, stdout carries only the JSON lines.
    print(
        f"created learner {info.email} (id {info.user_id})",
        file=sys.stderr if quiet else sys.stdout,
    )
    if not given:
        report_generated(info.email, password, show=show_password)
    return info.user_id


def _ingest(args: argparse.Namespace) -> int:
    """Queue each file through the job queue and wait for it: the worker that runs it (the
    app's, or a worker process) is then the only process writing the embedded vector store.
    When no worker is alive, this process runs one of its own for its own jobs only."""
    rt = get_runtime()
    user_id = _user_id(
        rt, args.user, create=args.create_user, show_password=args.show_password, quiet=args.json
    )
    refused = 0
    with _CliJobs(rt) as runner:
        for name in args.paths:
            path = Path(name)
            try:
                if not path.is_file():
                    raise NotFound("no such file")
                with path.open("rb") as source:
                    job_id = jobs.submit_ingestion(
                        rt,
                        user_id=user_id,
                        source=source,
                        filename=path.name,
                        password=args.password,
                        queue=runner.queue,
                    )
                job = runner.wait(job_id, user_id=user_id)
                r = job.result
                if job.outcome is not JobState.DONE or not isinstance(r, IngestResult):
                    raise EngineError(job.message)
            except EngineError as e:
                refused += 1
                if args.json:
                    print(json.dumps({"file": str(path), "refused": e.user_message}), flush=True)
                else:
                    print(f"refused   {path}: {e.user_message}")
                continue
            _report_ingested(path, r, as_json=args.json)
    return 1 if refused else 0


def _report_ingested(path: Path, r: IngestResult, *, as_json: bool) -> None:
    """One line for a file the job stored (or found already stored): JSON or for people."""
    if as_json:
        print(
            json.dumps(
                {
                    "file": str(path),
                    "material_id": r.material_id,
                    "pages": r.pages,
                    "ocr_pages": r.ocr_pages,
                }
            ),
            flush=True,
        )
        return
    if r.duplicate:
        print(f"present   {path}: already in the library as '{r.title}' (material {r.material_id})")
        return
    note = f"; {r.note}" if r.note else ""
    print(
        f"ingested  {path}: '{r.title}', {r.pages} pages, {r.chunks} chunks "
        f"(material {r.material_id}){note}"
    )


class _CliJobs:
    """The command line's jobs: queued on a queue of its own, run by any live worker, or by a
    worker this process starts (for that queue only) when there is none."""

    POLL_S = 0.2

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.queue = f"cli-{os.getpid()}-{secrets.token_hex(4)}"
        self._worker: EmbeddedWorker | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._worker is not None:
            self._worker.stop()

    def wait(self, job_id: int, *, user_id: int) -> JobView:
        """The job once it has finished."""
        waited_for_others = False
        while not (job := get_job(self.rt, job_id, user_id=user_id)).finished:
            if self._worker is None and live_workers(self.rt) == 0:
                self._worker = EmbeddedWorker(self.rt, concurrency=1, queues=[self.queue]).start()
            elif self._worker is None and not waited_for_others:
                waited_for_others = True
                print(f"queued    job {job_id}: waiting for the running worker", flush=True)
            time.sleep(self.POLL_S)
        return job


def _search(args: argparse.Namespace) -> int:
    rt = get_runtime()
    user_id = _user_id(rt, args.user, create=False)
    passages = search_library(rt, user_id=user_id, query=args.query, k=args.k)
    if not passages:
        print("no passages found")
        return 0
    for i, p in enumerate(passages, start=1):
        text = " ".join(p.text.split())
        print(f"{i}. [{p.score:.3f}] {p.material_title}, {p.pages} (chunk {p.chunk_id})")
        print(f"   {text[: args.width]}{'…' if len(text) > args.width else ''}")
    return 0


def _reindex(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    rt = get_runtime()
    only = _user_id(rt, args.user, create=False) if args.user else None
    outdated = outdated_materials(rt, user_id=only)
    failed = 0
    for n, (user_id, material_id) in enumerate(outdated, start=1):
        label = f"material {material_id} ({n}/{len(outdated)})"

        def show(done: int, total: int, label: str = label) -> None:
            print(f"\r{label}: {done}/{total} chunks re-embedded", end="", flush=True)

        try:
            chunks = reclean_material(rt, user_id=user_id, material_id=material_id, progress=show)
        except EngineError as e:
            failed += 1
            print(f"\r{label}: not updated: {e.user_message}")
            continue
        print(f"\r{label}: re-cleaned with text pipeline v{TEXT_PIPELINE_VERSION}, {chunks} chunks")
    if not outdated:
        print(f"all materials use text pipeline v{TEXT_PIPELINE_VERSION}")
    with rt.session_factory() as session:
        users = sorted(set(session.scalars(select(Material.user_id))))
    if only is not None:
        users = [only]
    for user_id in users:
        if index_is_current(rt, user_id=user_id) and not args.force:
            continue

        def progress(done: int, total: int, user_id: int = user_id) -> None:
            print(f"\rlearner {user_id}: {done}/{total} chunks embedded", end="", flush=True)

        total = reindex(rt, user_id=user_id, progress=progress)
        print(f"\rlearner {user_id}: {total} chunks embedded with {rt.settings.embedding.model}")
    return 1 if failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ingest",
        help="add PDFs to a learner's library (queued as jobs: the running app's worker "
        "reads them, or this command runs one when none is alive)",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="PDF files")
    p.add_argument("--user", required=True, metavar="EMAIL", help="the learner's email")
    p.add_argument(
        "--password",
        metavar="PDF_PASSWORD",
        help="the password that opens encrypted PDFs (not the learner's account password)",
    )
    p.add_argument(
        "--create-user",
        action="store_true",
        help="create the learner when no account has this email (account password "
        "from GROUNDWORK_NEW_USER_PASSWORD, else a random one, printed only "
        "with --show-password)",
    )
    p.add_argument(
        "--show-password",
        action="store_true",
        help="print the random account password of a learner created here",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='one JSON line per file: {"file", "material_id", "pages", "ocr_pages"} '
        'or {"file", "refused"}',
    )
    p.set_defaults(func=_ingest)

    p = subparsers.add_parser("search", help="search a learner's library")
    p.add_argument("query", metavar="QUERY")
    p.add_argument("--user", required=True, metavar="EMAIL", help="the learner's email")
    p.add_argument("-k", type=int, default=8, help="number of passages (default 8)")
    p.add_argument("--width", type=int, default=300, help="characters of each passage shown")
    p.set_defaults(func=_search)

    p = subparsers.add_parser(
        "reindex",
        help="re-clean materials made by an older text pipeline and re-embed "
        "libraries built with another embedding model than configured",
    )
    p.add_argument("--user", metavar="EMAIL", help="only this learner")
    p.add_argument("--force", action="store_true", help="re-embed even when up to date")
    p.set_defaults(func=_reindex)
