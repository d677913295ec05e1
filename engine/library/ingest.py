"""Ingestion: a PDF, or pages already read, becomes a learner's material.

The original file is saved first, then the rows are committed as 'indexing', then the vectors
are written and the material turns 'ready' (`store`). A failure undoes the half-done write at
once; a crash leaves an 'indexing' material that `python -m engine check --repair` completes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from engine import usage
from engine.domain.vocabulary import MaterialStatus
from engine.errors import PdfNoText
from engine.ingestion.chunking import ChunkDraft, chunk_pages
from engine.ingestion.pdf import PageCallback, PdfText, describe_pages, read_pdf
from engine.library.checkpoint import embed_resumably
from engine.library.index import embed_texts
from engine.library.ingest_values import (
    DocumentInput,
    IngestProgress,
    IngestResult,
    IngestStage,
    ProgressCallback,
    StepAside,
)
from engine.library.materials import MaterialInfo, find_duplicate, finish_delete
from engine.library.ocr_quota import ocr_pages_left
from engine.library.quotas import check_quota
from engine.library.store import abandon, store_document
from engine.library.titles import choose_title, clean_title
from engine.originals import remove_original, save_original
from engine.runtime import Runtime
from engine.steps import reached


def ingest_pdf(
    rt: Runtime,
    *,
    user_id: int,
    data: bytes,
    filename: str,
    password: str | None = None,
    title: str | None = None,
    progress: ProgressCallback | None = None,
    step_aside: StepAside | None = None,
) -> IngestResult:
    """Read a PDF, chunk it, embed it and store it for this learner.

    The same file (same SHA-256) uploaded again by the same learner is not stored twice: the
    existing material is returned with `duplicate=True`.

    Args:
        rt: the runtime (settings, database).
        user_id: the learner who owns the material.
        data: the PDF's bytes.
        filename: the uploaded file's name (shown, and a last-resort title).
        password: for encrypted PDFs.
        title: overrides the title taken from the PDF.
        progress: called as pages are read and chunks indexed.
        step_aside: lets the embedding pause (raising `IngestPaused`) and resume.

    Returns:
        The stored (or already present) material.

    Raises:
        PdfTooLarge, PdfEncrypted, PdfMalformed, PdfNoText: the file is refused; nothing
            was stored (PdfTooMuchText: far more text than bytes, see `read_pdf`).
        QuotaExceeded: the learner's library is full or they added their pages for the day;
            nothing was stored.
        VectorStoreUnavailable: Chroma failed; nothing was stored.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    existing = _stored_already(rt, user_id=user_id, sha256=sha256)
    if existing is not None:
        return IngestResult(material=existing, duplicate=True)
    pdf = read_pdf(
        data,
        settings=rt.settings,
        password=password,
        on_page=_reading_reporter(progress),
        ocr_pages_left=ocr_pages_left(rt, user_id=user_id),
    )
    check_quota(rt, user_id=user_id, pages=len(pdf.pages))
    return _ingest_read_pdf(
        rt,
        user_id=user_id,
        pdf=pdf,
        data=data,
        sha256=sha256,
        filename=filename,
        title=title,
        progress=progress,
        step_aside=step_aside,
    )


def _ingest_read_pdf(
    rt: Runtime,
    *,
    user_id: int,
    pdf: PdfText,
    data: bytes,
    sha256: str,
    filename: str,
    title: str | None,
    progress: ProgressCallback | None,
    step_aside: StepAside | None,
) -> IngestResult:
    """Save the original, then store the read pages; the original goes again when that fails
    (unless the same file was stored meanwhile)."""
    save_original(rt, user_id=user_id, sha256=sha256, data=data)
    reached("ingest:original-saved")
    try:
        return ingest_pages(
            rt,
            user_id=user_id,
            pages=pdf.pages,
            title=title or choose_title(pdf.title, pdf.pages, filename, pdf.title_lines),
            filename=filename,
            sha256=sha256,
            size_bytes=len(data),
            pages_without_text=pdf.pages_without_text,
            note=_unreadable_note(pdf),
            progress=progress,
            step_aside=step_aside,
            ocr=pdf,
        )
    except BaseException:
        if find_duplicate(rt, user_id=user_id, sha256=sha256) is None:
            remove_original(rt, user_id=user_id, sha256=sha256)
        raise


def _stored_already(rt: Runtime, *, user_id: int, sha256: str) -> MaterialInfo | None:
    """The learner's material of this file; one left half-written by a crash is removed."""
    existing = find_duplicate(rt, user_id=user_id, sha256=sha256)
    if existing is not None and existing.status == MaterialStatus.DELETING:
        finish_delete(rt, user_id=user_id, material_id=existing.id)  # a crashed delete
        return None
    if existing is not None and existing.status == MaterialStatus.INDEXING:
        # An earlier attempt stopped between its rows and its vectors (the worker was killed);
        # a learner's ingestions run one at a time, so nothing else is writing it.
        abandon(rt, user_id, existing.id)
        return None
    return existing


def _reading_reporter(progress: ProgressCallback | None) -> PageCallback | None:
    if progress is None:
        return None

    def on_page(read: int, total: int, ocr_page: int | None) -> None:
        progress(IngestProgress(IngestStage.READING, read, total, 0, 0, ocr_page))

    return on_page


def _unreadable_note(pdf: PdfText) -> str | None:
    notes = []
    if pdf.pages_without_text:
        notes.append(
            f"No text could be read on {describe_pages(pdf.pages_without_text)} "
            "(scanned, image-only or unreadable); those pages are not searchable."
        )
    if pdf.unsupported_script_pages:
        notes.append(
            f"OCR does not read the script of this document ({pdf.unsupported_script}"
            f"), so {describe_pages(pdf.unsupported_script_pages)} stayed unread."
        )
    if pdf.low_confidence_pages:
        notes.append(
            f"OCR was unsure of {describe_pages(pdf.low_confidence_pages)}; they are "
            "searchable but left out of question generation."
        )
    return " ".join(notes) or None


def ingest_pages(
    rt: Runtime,
    *,
    user_id: int,
    pages: list[str],
    title: str,
    filename: str,
    sha256: str,
    size_bytes: int,
    pages_without_text: list[int] | None = None,
    note: str | None = None,
    progress: ProgressCallback | None = None,
    step_aside: StepAside | None = None,
    ocr: PdfText | None = None,
) -> IngestResult:
    """Chunk, embed and store already-extracted page texts (the second half of `ingest_pdf`);
    `ocr` gives which pages were read by OCR and how confidently.

    Raises:
        PdfNoText: the pages hold no text; nothing was stored.
        InvalidInput: an empty or too long title.
        QuotaExceeded: over the learner's page quotas; nothing was stored.
    """
    doc, drafts = _prepared(
        rt,
        DocumentInput(
            pages=pages,
            title=title,
            filename=filename,
            sha256=sha256,
            size_bytes=size_bytes,
            pages_without_text=pages_without_text or [],
            note=note,
            ocr_pages=ocr.ocr_pages if ocr else [],
            ocr_confidence=ocr.ocr_confidence if ocr else None,
            low_confidence_pages=ocr.low_confidence_pages if ocr else [],
        ),
    )
    if not drafts:
        raise PdfNoText("This PDF has no text that can be read.")
    page_count = len(pages)

    def report(done: int, total: int, stage: IngestStage = IngestStage.EMBEDDING) -> None:
        if progress:
            progress(IngestProgress(stage, page_count, page_count, done, total))

    [result] = _embed_and_store(
        rt, user_id=user_id, prepared=[(doc, drafts)], on_chunks=report, step_aside=step_aside
    )
    report(result.material.chunk_count, result.material.chunk_count, IngestStage.DONE)
    return result


def ingest_documents(
    rt: Runtime,
    *,
    user_id: int,
    documents: list[DocumentInput],
    on_chunks: Callable[[int, int], None] | None = None,
) -> list[IngestResult | None]:
    """Chunk, embed (in batches across documents) and store several documents, each as its own
    material with its own all-or-nothing write. A document without text is not stored: None
    stands in its place.

    Raises:
        InvalidInput: a document's title is empty or too long; nothing was stored.
    """
    prepared = [_prepared(rt, doc) for doc in documents]
    stored = iter(
        _embed_and_store(
            rt, user_id=user_id, prepared=[p for p in prepared if p[1]], on_chunks=on_chunks
        )
    )
    return [next(stored) if drafts else None for _, drafts in prepared]


def _prepared(rt: Runtime, doc: DocumentInput) -> tuple[DocumentInput, list[ChunkDraft]]:
    """The document's chunks (none when it has no text) and the document with its title
    checked."""
    s = rt.settings
    drafts = chunk_pages(
        doc.pages,
        chunk_tokens=s.ingestion.chunk_tokens,
        overlap_tokens=s.ingestion.chunk_overlap_tokens,
    )
    if not drafts:
        return doc, []
    return replace(doc, title=clean_title(doc.title)), drafts


def _embed_and_store(
    rt: Runtime,
    *,
    user_id: int,
    prepared: list[tuple[DocumentInput, list[ChunkDraft]]],
    on_chunks: Callable[[int, int], None] | None,
    step_aside: StepAside | None = None,
) -> list[IngestResult]:
    """Embed the chunks of all these documents in shared batches, then store each."""
    embedder = usage.embedder_for(rt, user_id=user_id)
    texts = [d.text for _, drafts in prepared for d in drafts]
    if on_chunks:
        on_chunks(0, len(texts))
    if step_aside is None:
        vectors = embed_texts(rt, embedder, texts, progress=on_chunks)
    else:
        vectors = embed_resumably(rt, embedder, texts, step_aside=step_aside, progress=on_chunks)
    results = []
    offset = 0
    for doc, drafts in prepared:
        results.append(
            store_document(
                rt,
                user_id=user_id,
                doc=doc,
                drafts=drafts,
                vectors=vectors[offset : offset + len(drafts)],
                model=embedder.model_name,
            )
        )
        offset += len(drafts)
    return results
