"""Job results as pages read them: typed per kind, failures by error kind, and rows written
before the types existed (dicts whose error was an exception's class name) still readable."""

from __future__ import annotations

import pytest

from engine.domain.vocabulary import JobKind, JobState
from engine.errors import (
    InvalidInput,
    NothingGenerated,
    PdfEncrypted,
    ProviderRateLimited,
    QuotaExceeded,
    RateLimited,
)
from engine.jobs.results import (
    AccountDeletionResult,
    ExportResult,
    FsrsFitResult,
    GenerateResult,
    IngestResult,
    JobErrorKind,
    JobFailure,
    ReindexResult,
    parse_result,
)

# Exactly what the worker stored in `job_progress.result` before typed results.
OLD_INGEST = {
    "material_id": 7,
    "title": "Glaciers",
    "duplicate": False,
    "pages": 3,
    "chunks": 5,
    "note": None,
    "ocr_pages": 0,
}
OLD_GENERATE = {
    "drafts": [{"type": "mcq", "stem": "Which?"}],
    "requested": 3,
    "rejections": ["2 × Not grounded"],
    "generator": "offline",
    "cost": 0.0,
    "cached": 0,
    "note": None,
}


def test_an_old_ingest_row_reads_as_its_typed_result():
    r = parse_result(JobKind.INGEST, JobState.DONE, OLD_INGEST)
    assert r == IngestResult(
        material_id=7, title="Glaciers", duplicate=False, pages=3, chunks=5, ocr_pages=0
    )


def test_an_ingest_row_from_before_ocr_counts_reads_with_none_counted():
    old = {k: v for k, v in OLD_INGEST.items() if k not in ("ocr_pages", "note")}
    r = parse_result(JobKind.INGEST, JobState.DONE, old)
    assert isinstance(r, IngestResult) and r.ocr_pages == 0 and r.note is None


def test_an_old_generate_row_keeps_its_drafts_and_rejections():
    r = parse_result(JobKind.GENERATE, JobState.DONE, OLD_GENERATE)
    assert isinstance(r, GenerateResult)
    assert r.drafts == OLD_GENERATE["drafts"] and r.rejections == ["2 × Not grounded"]


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        (JobKind.FIT_FSRS, {"adopted": True, "n_reviews": 412}, FsrsFitResult(True, 412)),
        (JobKind.REINDEX, {"chunks": 9}, ReindexResult(9)),
        (JobKind.EXPORT, {"file": "u1-j2.zip", "bytes": 2048}, ExportResult("u1-j2.zip", 2048)),
        (JobKind.DELETE_ACCOUNT, {}, AccountDeletionResult()),
    ],
)
def test_every_kind_reads_its_old_row(kind, data, expected):
    assert parse_result(kind, JobState.DONE, data) == expected


@pytest.mark.parametrize(
    ("stored", "kind"),
    [
        ("PdfEncrypted", JobErrorKind.PDF_ENCRYPTED),
        ("RateLimited", JobErrorKind.RATE_LIMITED),
        ("ProviderRateLimited", JobErrorKind.RATE_LIMITED),
        ("QuotaExceeded", JobErrorKind.RATE_LIMITED),
        ("TooManyPendingUploads", JobErrorKind.RATE_LIMITED),
        ("PdfNoText", JobErrorKind.REFUSED),
        ("NothingGenerated", JobErrorKind.REFUSED),
        ("ValueError", JobErrorKind.UNEXPECTED),
        ("OperationalError", JobErrorKind.UNEXPECTED),
    ],
)
def test_an_old_failure_row_reads_its_class_name_as_an_error_kind(stored, kind):
    r = parse_result(JobKind.INGEST, JobState.FAILED, {"error": stored})
    assert r == JobFailure(error=kind)


def test_an_old_generation_failure_keeps_its_rejections():
    old = {"error": "NothingGenerated", "rejections": {"ungrounded": 3}}
    r = parse_result(JobKind.GENERATE, JobState.FAILED, old)
    assert r == JobFailure(error=JobErrorKind.REFUSED, rejections={"ungrounded": 3})


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (PdfEncrypted("needs a password"), JobErrorKind.PDF_ENCRYPTED),
        (RateLimited("slow down"), JobErrorKind.RATE_LIMITED),
        (ProviderRateLimited("provider says wait"), JobErrorKind.RATE_LIMITED),
        (QuotaExceeded("library full"), JobErrorKind.RATE_LIMITED),
        (InvalidInput("no"), JobErrorKind.REFUSED),
        (RuntimeError("crash"), JobErrorKind.UNEXPECTED),
    ],
)
def test_a_failure_is_kept_by_its_error_kind_and_read_back_the_same(error, kind):
    failure = JobFailure.of(error)
    assert failure.error is kind
    assert parse_result(JobKind.GENERATE, JobState.FAILED, failure.to_dict()) == failure


def test_a_failure_keeps_the_rejections_of_a_generation_that_made_nothing():
    failure = JobFailure.of(NothingGenerated("none passed", rejections={"duplicate": 2}))
    stored = failure.to_dict()
    assert stored == {"error": "refused", "rejections": {"duplicate": 2}}
    assert parse_result(JobKind.GENERATE, JobState.FAILED, stored) == failure


def test_new_results_round_trip_through_the_stored_dict():
    ingest = IngestResult(
        material_id=1, title="T", duplicate=True, pages=2, chunks=3, note="n", ocr_pages=1
    )
    assert parse_result(JobKind.INGEST, JobState.DONE, ingest.to_dict()) == ingest
    assert ingest.to_dict() == {
        "material_id": 1,
        "title": "T",
        "duplicate": True,
        "pages": 2,
        "chunks": 3,
        "note": "n",
        "ocr_pages": 1,
    }


def test_no_result_while_running_or_when_cancelled():
    assert parse_result(JobKind.INGEST, JobState.RUNNING, None) is None
    assert parse_result(JobKind.INGEST, JobState.CANCELLED, None) is None
