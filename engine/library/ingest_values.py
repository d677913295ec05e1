"""What ingestion takes and reports: documents to store, progress, results, and the pause
of a long ingestion (`StepAside`, `IngestPaused`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from engine.library.materials import MaterialInfo


class IngestStage(StrEnum):
    READING = "reading"  # pages are being read from the PDF
    EMBEDDING = "embedding"  # chunks are being embedded
    DONE = "done"


@dataclass(frozen=True)
class IngestResult:
    material: MaterialInfo
    duplicate: bool  # the same file was already in this learner's library


@dataclass(frozen=True)
class IngestProgress:
    """Where an ingestion is (see `IngestStage`)."""

    stage: IngestStage
    pages_read: int
    page_count: int
    chunks_indexed: int
    chunk_count: int
    ocr_page: int | None = None  # the page being read by OCR now, if one is


ProgressCallback = Callable[[IngestProgress], None]


@dataclass(frozen=True)
class StepAside:
    """Lets a long ingestion pause between embedding steps and continue later with its work.

    `should_pause()` is asked after each embedding step while passages remain; when it says
    yes, the vectors made so far are saved to `checkpoint` and `IngestPaused` is raised. The
    same file ingested again with the same `checkpoint` embeds only the passages that remain.
    Nothing is written to the database or the vector store before the embedding is complete.
    """

    should_pause: Callable[[], bool]
    checkpoint: Path


class IngestPaused(Exception):
    """Not an error: the ingestion stepped aside (`StepAside`) and the caller queues the
    work again; nothing was stored yet."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"paused after {done} of {total} passages")
        self.done, self.total = done, total


@dataclass(frozen=True)
class DocumentInput:
    """Extracted text ready for chunking: one entry per page."""

    pages: list[str]
    title: str
    filename: str
    sha256: str
    size_bytes: int
    pages_without_text: list[int]
    note: str | None = None
    ocr_pages: list[int] = field(default_factory=list)
    ocr_confidence: float | None = None
    low_confidence_pages: list[int] = field(default_factory=list)
