"""The work each job does, run by a procrastinate worker.

Every task takes the id of its `job_progress` row, marks it running, reports progress into it,
and records the outcome there. A learner's bad input (an EngineError) ends the job with that
message and is never retried; unexpected failures are retried with exponential backoff only
for tasks whose steps are idempotent (ingestion is all-or-nothing and skips a file already
stored; fitting, re-embedding and export can simply run again). Generation is not retried: a
model call costs money.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from procrastinate import App, JobContext, RetryStrategy
from procrastinate.exceptions import JobAborted

from engine import account_data, exports, integrity, library, usage
from engine.domain.vocabulary import JobKind, JobState
from engine.domain.wording import plural
from engine.errors import DatabaseUnavailable, EngineError, VectorStoreUnavailable
from engine.generation import service
from engine.interop.anki_import import import_anki
from engine.jobs import progress as jp
from engine.jobs.fairness import another_learner_waiting, requeue
from engine.jobs.results import (
    AccountDeletionResult,
    AnkiImportResult,
    ExportResult,
    FsrsFitResult,
    GenerateResult,
    IngestResult,
    JobFailure,
    JobResult,
    ReindexResult,
)
from engine.jobs.spool import checkpoint_path, read_spooled, remove_spooled
from engine.practice.preferences import optimise_fsrs
from engine.runtime import Runtime

log = logging.getLogger(__name__)

TRANSIENT = (DatabaseUnavailable, VectorStoreUnavailable)
FAILED_MESSAGE = "Something went wrong while doing this; nothing was saved. Please try again."
# Tasks whose steps are safe to run again after a crash or a transient failure.
RETRYABLE = {
    JobKind.INGEST,
    JobKind.FIT_FSRS,
    JobKind.REINDEX,
    JobKind.EXPORT,
    JobKind.DELETE_ACCOUNT,
    JobKind.IMPORT_ANKI,  # all or nothing, and a re-import updates by guid
}


class JobPaused(Exception):
    """Not an error: raised by a job's body that stepped aside for another learner's job,
    its work kept."""


PAUSED_MESSAGE = (
    "Paused for a moment to let other waiting work start; it continues where it stopped."
)


class Reporter:
    """Progress callback for one job: writes at most every `interval` seconds (and always the
    last step), and raises JobCancelled when the learner asked to cancel."""

    def __init__(self, rt: Runtime, job_id: int, interval: float = 0.4) -> None:
        self.rt, self.job_id, self.interval = rt, job_id, interval
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if now - self._last < self.interval and done < total:
            return
        self._last = now
        jp.report(self.rt, self.job_id, stage=stage, done=done, total=total, message=message)


def _safe(action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception:  # the database may be down; the next worker or the recovery loop decides
        log.exception("could not record a job's outcome")


def run_job(
    rt: Runtime,
    context: JobContext,
    kind: JobKind,
    job_id: int,
    body: Callable[[Any, Reporter], tuple[str, JobResult]],
) -> None:
    """Run `body(row, reporter) -> (message, result)` and record its outcome."""
    row = jp.start(rt, job_id)
    if row is None:  # cancelled while waiting, or already finished
        _cleanup(rt, jp.row(rt, job_id))
        return
    try:
        message, result = body(row, Reporter(rt, job_id))
    except JobPaused:
        _paused(rt, context, kind, job_id, row)
        return
    except jp.JobCancelled:
        _safe(lambda: jp.finish(rt, job_id, outcome=JobState.CANCELLED, message="Cancelled."))
        _cleanup(rt, row)
        raise JobAborted("cancelled by its learner") from None
    except EngineError as e:
        if isinstance(e, TRANSIENT) and _will_retry(rt, context, kind):
            _safe(
                partial(
                    jp.note,
                    rt,
                    job_id,
                    f"{e.user_message} Trying again shortly.",
                    outcome=JobState.QUEUED,
                    stage="waiting",
                )
            )
            raise
        _safe(
            partial(
                jp.finish,
                rt,
                job_id,
                outcome=JobState.FAILED,
                message=e.user_message,
                result=JobFailure.of(e),
            )
        )
        _cleanup(rt, row)
        return
    except Exception as e:
        _unexpected(rt, context, kind, job_id, row, e)
        raise
    jp.finish(rt, job_id, outcome=JobState.DONE, message=message, result=result)
    _cleanup(rt, row)


def _paused(rt: Runtime, context: JobContext, kind: JobKind, job_id: int, row: Any) -> None:
    """Queue a job that stepped aside again, behind the other learners' waiting work."""
    try:
        queue_job_id = requeue(rt, context, kind, job_id=job_id)
    except Exception as e:
        _unexpected(rt, context, kind, job_id, row, e)
        raise
    jp.note(
        rt,
        job_id,
        PAUSED_MESSAGE,
        outcome=JobState.QUEUED,
        stage="waiting",
        queue_job_id=queue_job_id,
    )


def _unexpected(
    rt: Runtime, context: JobContext, kind: JobKind, job_id: int, row: Any, e: Exception
) -> None:
    """Record an unexpected failure: retried shortly when safe, else failed and cleaned up."""
    log.error("background job failed", exc_info=e, extra={"job": job_id, "kind": kind})
    if _will_retry(rt, context, kind):
        _safe(
            lambda: jp.note(
                rt,
                job_id,
                "Interrupted by a problem; trying again shortly.",
                outcome=JobState.QUEUED,
                stage="waiting",
            )
        )
    else:
        _safe(
            lambda: jp.finish(
                rt,
                job_id,
                outcome=JobState.FAILED,
                message=FAILED_MESSAGE,
                result=JobFailure.of(e),
            )
        )
        _cleanup(rt, row)


def _will_retry(rt: Runtime, context: JobContext, kind: JobKind) -> bool:
    return kind in RETRYABLE and (context.job.attempts or 0) < rt.settings.jobs.max_retries


def _cleanup(rt: Runtime, row: Any) -> None:
    if row is not None and row.spool_path:
        remove_spooled(rt, path=Path(row.spool_path))


# --- bodies ---------------------------------------------------------------------------------


def _ingest_progress(report: Reporter) -> Callable[[Any], None]:
    """Turn an ingestion's progress (`library.IngestProgress`) into the job's progress."""

    def on_progress(p: library.IngestProgress) -> None:
        if p.stage == library.IngestStage.READING and p.ocr_page is not None:
            message = f"Reading page {p.ocr_page} of {p.page_count} (OCR)"
            report(p.stage, p.pages_read, p.page_count, message)
        elif p.stage == library.IngestStage.READING:
            message = f"Read page {p.pages_read} of {p.page_count}"
            report(p.stage, p.pages_read, p.page_count, message)
        else:
            message = (
                f"Indexed {p.chunks_indexed} of {p.chunk_count} passages "
                f"({p.page_count} pages read)"
            )
            report(p.stage, p.chunks_indexed, p.chunk_count, message)

    return on_progress


PREPARING_MODEL = "Preparing the search model (first start only)…"


def wait_for_model(rt: Runtime, report: Reporter) -> None:
    """Wait for the embedding model the app or worker began loading at start
    (`engine.bootstrap.warm_up`), saying so in the job's progress every second (the learner
    can cancel meanwhile), instead of sitting silently at the first step."""
    if rt.embedder_ready:
        return
    rt.warm_up_embedder()  # no-op when it is loading already
    started = time.monotonic()
    while not rt.wait_for_embedder(1.0):
        waited = int(time.monotonic() - started)
        report("preparing", 0, 0, f"{PREPARING_MODEL} {plural(waited, 'second')}")


def ingest_body(rt: Runtime) -> Callable[[Any, Reporter], tuple[str, IngestResult]]:

    def body(row: Any, report: Reporter) -> tuple[str, IngestResult]:
        data, password = read_spooled(rt, path=Path(row.spool_path))
        wait_for_model(rt, report)
        started = time.monotonic()

        def should_pause() -> bool:
            return (
                time.monotonic() - started >= rt.settings.jobs.fair_slice_s
                and another_learner_waiting(rt, row.user_id)
            )

        step_aside = library.StepAside(
            should_pause=should_pause, checkpoint=checkpoint_path(Path(row.spool_path))
        )
        try:
            r = library.ingest_pdf(
                rt,
                user_id=row.user_id,
                data=data,
                filename=row.label,
                password=password,
                progress=_ingest_progress(report),
                step_aside=step_aside,
            )
        except library.IngestPaused as e:
            raise JobPaused(str(e)) from None
        m = r.material
        result = IngestResult(
            material_id=m.id,
            title=m.title,
            duplicate=r.duplicate,
            pages=m.page_count,
            chunks=m.chunk_count,
            note=m.note,
            ocr_pages=len(m.ocr_pages),
        )
        if r.duplicate:
            return "Already in your library; nothing was added.", result
        return (
            f"Added: {plural(m.page_count, 'page')}, {plural(m.chunk_count, 'passage')}.",
            result,
        )

    return body


def generate_body(rt: Runtime) -> Callable[[Any, Reporter], tuple[str, GenerateResult]]:

    def body(row: Any, report: Reporter) -> tuple[str, GenerateResult]:
        params = row.params or {}

        def on_progress(p: service.Progress) -> None:
            report("generating", p.done, p.total, p.message)

        r = service.generate_questions(
            rt,
            user_id=row.user_id,
            material_ids=params.get("material_ids") or None,
            topic=params.get("topic") or None,
            question_type=params.get("question_type", "mix"),
            difficulty=int(params.get("difficulty", 3)),
            count=int(params.get("count", 5)),
            on_progress=on_progress,
        )
        result = GenerateResult(
            drafts=[d.to_dict() for d in r.drafts],
            requested=r.requested,
            rejections=r.rejection_summary(),
            generator=r.generator,
            cost=r.cost_usd,
            cached=r.cached_calls,
            note=r.note,
        )
        return f"{plural(len(r.drafts), 'question')} ready for review.", result

    return body


def fit_fsrs_body(rt: Runtime) -> Callable[[Any, Reporter], tuple[str, FsrsFitResult]]:

    def body(row: Any, report: Reporter) -> tuple[str, FsrsFitResult]:
        report("fitting", 0, 1, "Fitting FSRS to your answers")
        r = optimise_fsrs(rt, user_id=row.user_id)
        return r.message, FsrsFitResult(adopted=r.adopted, n_reviews=r.n_reviews)

    return body


def reindex_body(rt: Runtime) -> Callable[[Any, Reporter], tuple[str, ReindexResult]]:

    def body(row: Any, report: Reporter) -> tuple[str, ReindexResult]:
        def on_progress(done: int, total: int) -> None:
            report("embedding", done, total, f"Embedded {done} of {total} passages")

        wait_for_model(rt, report)
        total = library.reindex(rt, user_id=row.user_id, progress=on_progress)
        return f"Search index updated ({plural(total, 'passage')}).", ReindexResult(chunks=total)

    return body


def export_body(rt: Runtime) -> Callable[[Any, Reporter], tuple[str, ExportResult]]:

    def body(row: Any, report: Reporter) -> tuple[str, ExportResult]:
        report("exporting", 0, 1, "Collecting your data")
        exports.exports_folder(rt)
        dest = exports.export_file(rt, user_id=row.user_id, job_id=row.id)
        account_data.export_account(rt, user_id=row.user_id, dest=dest)
        # Only the newest export is offered: older ones of this learner go now.
        exports.remove_user_exports(rt, user_id=row.user_id, keep=dest)
        result = ExportResult(file=dest.name, bytes=dest.stat().st_size)
        return "Your export is ready to download.", result

    return body


def import_anki_body(rt: Runtime) -> Callable[[Any, Reporter], tuple[str, AnkiImportResult]]:

    def body(row: Any, report: Reporter) -> tuple[str, AnkiImportResult]:
        data, _ = read_spooled(rt, path=Path(row.spool_path))

        def on_progress(done: int, total: int) -> None:
            report("importing", done, total, f"Imported {done:,} of {total:,} notes")

        s = import_anki(rt, user_id=row.user_id, data=data, progress=on_progress)
        message = (
            f"Imported {plural(s.questions, 'question')} from {plural(s.notes, 'note')} "
            f"and {plural(s.reviews, 'review')}."
        )
        return message, AnkiImportResult(**dataclasses.asdict(s))

    return body


def delete_account_body(
    rt: Runtime,
) -> Callable[[Any, Reporter], tuple[str, AccountDeletionResult]]:

    def body(row: Any, report: Reporter) -> tuple[str, AccountDeletionResult]:
        report("deleting", 0, 1, "Deleting your account")
        # The learner confirmed with email and password when this was queued.
        account_data.delete_account(rt, user_id=row.user_id)
        return "Account deleted.", AccountDeletionResult()  # the row went with the account

    return body


def nightly_check(rt: Runtime) -> tuple[int, int]:
    """Finish account deletions that were interrupted, forget kept model-usage rows older
    than a day, then compare rows, vectors and files for every learner and repair drift
    (expired and stray exports included); (found, left)."""

    if finished := account_data.finish_interrupted_deletions(rt):
        log.warning(
            "nightly check finished interrupted account deletions",
            extra={"accounts": len(finished)},
        )
    usage.prune_forgotten(rt)
    found = integrity.repair(rt, user_id=None)
    left = integrity.check(rt, user_id=None)
    if found:
        log.warning(
            "nightly check repaired drift", extra={"repaired": len(found), "left": len(left)}
        )
    return len(found), len(left)


# --- registration ---------------------------------------------------------------------------


def register_tasks(app: App, rt: Runtime) -> None:
    """Bind every task to `rt` on `app` (a worker's app)."""
    s = rt.settings
    retry = RetryStrategy(
        max_attempts=s.jobs.max_retries, exponential_wait=max(1, int(s.jobs.retry_wait_s))
    )

    @app.task(name=JobKind.INGEST, pass_context=True, retry=retry)
    def ingest(context: JobContext, *, job_id: int) -> None:
        run_job(rt, context, JobKind.INGEST, job_id, ingest_body(rt))

    @app.task(name=JobKind.GENERATE, pass_context=True)
    def generate(context: JobContext, *, job_id: int) -> None:
        run_job(rt, context, JobKind.GENERATE, job_id, generate_body(rt))

    @app.task(name=JobKind.FIT_FSRS, pass_context=True, retry=retry)
    def fit_fsrs(context: JobContext, *, job_id: int) -> None:
        run_job(rt, context, JobKind.FIT_FSRS, job_id, fit_fsrs_body(rt))

    @app.task(name=JobKind.REINDEX, pass_context=True, retry=retry)
    def reindex(context: JobContext, *, job_id: int) -> None:
        run_job(rt, context, JobKind.REINDEX, job_id, reindex_body(rt))

    @app.task(name=JobKind.EXPORT, pass_context=True, retry=retry)
    def export(context: JobContext, *, job_id: int) -> None:
        run_job(rt, context, JobKind.EXPORT, job_id, export_body(rt))

    @app.task(name=JobKind.DELETE_ACCOUNT, pass_context=True, retry=retry)
    def delete_account(context: JobContext, *, job_id: int) -> None:
        run_job(rt, context, JobKind.DELETE_ACCOUNT, job_id, delete_account_body(rt))

    @app.task(name=JobKind.IMPORT_ANKI, pass_context=True, retry=retry)
    def import_from_anki(context: JobContext, *, job_id: int) -> None:
        run_job(rt, context, JobKind.IMPORT_ANKI, job_id, import_anki_body(rt))

    @app.periodic(cron=s.jobs.check_cron, periodic_id="nightly-check")
    @app.task(name=JobKind.CHECK, queueing_lock=JobKind.CHECK)
    def check(timestamp: int) -> None:
        found, left = nightly_check(rt)
        log.info(
            "nightly check done",
            extra={"repaired": found, "left": left, "scheduled_for": timestamp},
        )
