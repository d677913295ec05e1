"""What a finished job leaves for the pages: one frozen result type per job kind, or a failure
with an error kind (`JobErrorKind`) that pages branch on.

Results are kept in the progress row's JSON column as plain dicts (`to_dict`) and read back
with `parse_result`, which also reads rows written before these types existed (whose error
was the failing exception's class name).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any, Self

from engine.domain.vocabulary import JobKind, JobState
from engine.errors import EngineError, PdfEncrypted, RateLimited

log = logging.getLogger(__name__)


class JobErrorKind(StrEnum):
    """Why a job failed, as far as a page treats it differently."""

    PDF_ENCRYPTED = "PdfEncrypted"  # the PDF needs its password (or the one given is wrong)
    RATE_LIMITED = "RateLimited"  # a per-learner or provider limit: try again later
    REFUSED = "refused"  # any other EngineError: its message says what to do
    UNEXPECTED = "unexpected"  # a crash; nothing was saved


def error_kind(e: BaseException) -> JobErrorKind:
    """The kind of a job's failure from the exception that ended it."""
    if isinstance(e, PdfEncrypted):
        return JobErrorKind.PDF_ENCRYPTED
    if isinstance(e, RateLimited):
        return JobErrorKind.RATE_LIMITED
    if isinstance(e, EngineError):
        return JobErrorKind.REFUSED
    return JobErrorKind.UNEXPECTED


def _subclass_names(cls: type) -> set[str]:
    names = {cls.__name__}
    sub: type
    for sub in cls.__subclasses__():
        names |= _subclass_names(sub)
    return names


# Rows finished before this module existed hold the exception's class name as their error.
_OLD_RATE_LIMITED = {"RateLimited", "ProviderRateLimited", "QuotaExceeded", "TooManyPendingUploads"}


def _stored_error_kind(value: str) -> JobErrorKind:
    if value in JobErrorKind._value2member_map_:
        return JobErrorKind(value)
    if value in _OLD_RATE_LIMITED:
        return JobErrorKind.RATE_LIMITED
    if value in _subclass_names(EngineError):
        return JobErrorKind.REFUSED
    return JobErrorKind.UNEXPECTED


class _Stored:
    """Kept as a dict in the progress row; unknown keys are ignored when read back."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class JobFailure(_Stored):
    """A job that failed: `error` says how pages treat it; `rejections` counts the rejected
    candidates by reason when a generation produced nothing usable."""

    error: JobErrorKind
    rejections: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.error.value}
        if self.rejections:
            out["rejections"] = dict(self.rejections)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        rejections = data.get("rejections")
        return cls(
            error=_stored_error_kind(str(data.get("error", ""))),
            rejections=dict(rejections) if isinstance(rejections, dict) else {},
        )

    @classmethod
    def of(cls, e: BaseException) -> Self:
        rejections = getattr(e, "rejections", None) if isinstance(e, EngineError) else None
        return cls(error=error_kind(e), rejections=dict(rejections or {}))


@dataclass(frozen=True)
class IngestResult(_Stored):
    material_id: int
    title: str
    duplicate: bool
    pages: int
    chunks: int
    note: str | None = None
    ocr_pages: int = 0


@dataclass(frozen=True)
class GenerateResult(_Stored):
    """`drafts` are `Draft.to_dict()` dicts, waiting for the learner's review;
    `rejections` are readable lines ("2 × Not grounded")."""

    drafts: list[dict[str, Any]]
    requested: int
    rejections: list[str]
    generator: str
    cost: float
    cached: int
    note: str | None = None


@dataclass(frozen=True)
class FsrsFitResult(_Stored):
    adopted: bool
    n_reviews: int


@dataclass(frozen=True)
class ReindexResult(_Stored):
    chunks: int


@dataclass(frozen=True)
class ExportResult(_Stored):
    file: str  # the zip's name in the exports folder
    bytes: int


@dataclass(frozen=True)
class AnkiImportResult(_Stored):
    """What an Anki import did (engine.interop.anki_import.ImportSummary)."""

    notes: int
    questions: int
    created: int
    updated: int
    reviews: int
    media: int
    skipped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountDeletionResult(_Stored):
    """Nothing to show: the row itself goes with the account."""


JobResult = (
    IngestResult
    | GenerateResult
    | FsrsFitResult
    | ReindexResult
    | ExportResult
    | AccountDeletionResult
    | AnkiImportResult
    | JobFailure
)

RESULT_TYPES: dict[JobKind, type[_Stored]] = {
    JobKind.INGEST: IngestResult,
    JobKind.GENERATE: GenerateResult,
    JobKind.FIT_FSRS: FsrsFitResult,
    JobKind.REINDEX: ReindexResult,
    JobKind.EXPORT: ExportResult,
    JobKind.DELETE_ACCOUNT: AccountDeletionResult,
    JobKind.IMPORT_ANKI: AnkiImportResult,
}


def parse_result(kind: JobKind, outcome: JobState, data: dict[str, Any] | None) -> JobResult | None:
    """The typed result of a progress row (None while it runs, when cancelled, or when a row
    holds none or one this version cannot read)."""
    if data is None:
        return None
    if "error" in data:
        return JobFailure.from_dict(data)
    cls = RESULT_TYPES.get(kind)
    if outcome is not JobState.DONE or cls is None:
        return None
    try:
        return cls.from_dict(data)  # type: ignore[return-value]
    except TypeError:  # a field missing: a row this version does not know how to read
        log.warning("unreadable job result", extra={"kind": kind.value, "keys": sorted(data)})
        return None
