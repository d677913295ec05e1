"""Ingestion: a PDF, or pages already read, becomes a learner's material.

The original file is saved first, then the rows are committed as 'indexing', then the vectors
are written and the material turns 'ready'. A failure undoes the half-done write at once; a
crash leaves an 'indexing' material that `python -m engine check --repair` completes.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import usage
from engine.db.models import Chunk, Material, MaterialPage
from engine.domain.language import page_languages
from engine.domain.vocabulary import MaterialStatus
from engine.errors import PdfNoText
from engine.ingestion.chunking import ChunkDraft, chunk_pages, document_text
from engine.ingestion.cleaning import TEXT_PIPELINE_VERSION
from engine.ingestion.pdf import PageCallback, PdfText, describe_pages, read_pdf
from engine.library.index import embed_texts, embedding_step
from engine.library.materials import MaterialInfo, finish_delete, material_info
from engine.library.ocr_quota import ocr_pages_left
from engine.library.quotas import check_quota, reserve_pages
from engine.library.titles import choose_title, clean_title
from engine.originals import original_path, remove_original, save_original
from engine.retrieval.collections import current_collection, lock_vectors
from engine.retrieval.embeddings import Embedder
from engine.retrieval.lexical import lexical_tokens
from engine.runtime import Runtime
from engine.steps import reached

log = logging.getLogger(__name__)


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


def find_duplicate(rt: Runtime, *, user_id: int, sha256: str) -> MaterialInfo | None:
    """The learner's material made from the file with this SHA-256, if there is one."""
    with rt.session_factory() as session:
        m = session.scalar(
            select(Material).where(Material.user_id == user_id, Material.sha256 == sha256)
        )
        return material_info(m) if m else None


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
        _abandon(rt, user_id, existing.id)
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
        vectors = _embed_resumably(rt, embedder, texts, step_aside=step_aside, progress=on_chunks)
    results = []
    offset = 0
    for doc, drafts in prepared:
        results.append(
            _store(
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


def _embed_resumably(
    rt: Runtime,
    embedder: Embedder,
    texts: list[str],
    *,
    step_aside: StepAside,
    progress: Callable[[int, int], None] | None,
) -> np.ndarray:
    """`embed_texts`, starting after the vectors a paused run saved for these same texts, and
    pausing (`IngestPaused`) when `step_aside.should_pause()` says so."""
    key = hashlib.sha256("\0".join([embedder.model_name, *texts]).encode()).hexdigest()
    parts = [v for v in [_load_checkpoint(step_aside.checkpoint, key)] if v is not None]
    start = len(parts[0]) if parts else 0
    if progress and start:
        progress(start, len(texts))
    step = embedding_step(rt)
    for begin in range(start, len(texts), step):
        parts.append(embedder.embed_documents(texts[begin : begin + step]))
        end = min(len(texts), begin + step)
        if progress:
            progress(end, len(texts))
        if end < len(texts) and step_aside.should_pause():
            _save_checkpoint(step_aside.checkpoint, key, np.concatenate(parts))
            raise IngestPaused(end, len(texts))
    step_aside.checkpoint.unlink(missing_ok=True)
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


def _load_checkpoint(path: Path, key: str) -> np.ndarray | None:
    """The vectors a paused run saved for the texts with this key (None: none, or others)."""
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as saved:
        if str(saved["key"]) != key:
            return None
        return saved["vectors"]


def _save_checkpoint(path: Path, key: str, vectors: np.ndarray) -> None:
    """Write atomically, readable by its owner only (it sits beside the spooled upload)."""
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        np.savez(out, key=np.array(key), vectors=vectors)
    os.replace(tmp, path)


def lexical_column(drafts: list[ChunkDraft], page_langs: list[str] | None = None) -> list[str]:
    """Each chunk's lexical tokens, as stored for full-text ranking, stemmed in the language
    of the chunk's first page (`page_langs[i]` is page i + 1's; English without them)."""

    def lang(d: ChunkDraft) -> str:
        return (
            page_langs[d.page_start - 1] if page_langs and d.page_start <= len(page_langs) else "en"
        )

    return [" ".join(lexical_tokens(d.text, lang(d))) for d in drafts]


def chunk_rows(
    drafts: list[ChunkDraft], lexical: list[str], *, user_id: int, material_id: int
) -> list[dict]:
    """The `chunks` rows of a material's chunk drafts."""
    return [
        {
            "user_id": user_id,
            "material_id": material_id,
            "ordinal": d.ordinal,
            "text": d.text,
            "page_start": d.page_start,
            "page_end": d.page_end,
            "char_start": d.char_start,
            "char_end": d.char_end,
            "heading": d.heading,
            "token_count": d.token_count,
            "content_hash": d.content_hash,
            "lexical": lex,
        }
        for d, lex in zip(drafts, lexical, strict=True)
    ]


def _store(
    rt: Runtime,
    *,
    user_id: int,
    doc: DocumentInput,
    drafts: list[ChunkDraft],
    vectors: np.ndarray,
    model: str,
) -> IngestResult:
    """Rows (committed as 'indexing'), then vectors, then 'ready'. When the same file was
    stored meanwhile, that material as a duplicate. On failure the half-written material is
    removed again."""
    languages = page_languages(doc.pages)
    lexical = lexical_column(drafts, languages[1])
    try:
        with rt.session_factory.begin() as session:
            reserve_pages(session, rt.settings, user_id=user_id, pages=len(doc.pages))
            material_id, chunk_ids = _insert_rows(
                session,
                user_id=user_id,
                doc=doc,
                drafts=drafts,
                lexical=lexical,
                model=model,
                languages=languages,
            )
    except IntegrityError as e:
        if "uq_materials_user_sha256" not in str(e.orig):
            raise
        existing = find_duplicate(rt, user_id=user_id, sha256=doc.sha256)
        assert existing is not None
        return IngestResult(material=existing, duplicate=True)
    reached("ingest:rows-committed")
    try:
        material = _write_vectors(
            rt,
            user_id=user_id,
            material_id=material_id,
            chunk_ids=chunk_ids,
            vectors=vectors,
            model=model,
        )
    except BaseException:
        _abandon(rt, user_id, material_id)
        raise
    log.info(
        "material ingested",
        extra={
            "user_id": user_id,
            "material_id": material.id,
            "pages": len(doc.pages),
            "chunks": len(drafts),
        },
    )
    return IngestResult(material=material, duplicate=False)


def _insert_rows(
    session: Session,
    *,
    user_id: int,
    doc: DocumentInput,
    drafts: list[ChunkDraft],
    lexical: list[str],
    model: str,
    languages: tuple[str, list[str]],
) -> tuple[int, list[int]]:
    """The material ('indexing'), its pages and its chunks; returns (material id, chunk ids).
    `languages` is (the material's language, each page's)."""
    material = Material(
        user_id=user_id,
        title=doc.title,
        filename=doc.filename[:300],
        sha256=doc.sha256,
        size_bytes=doc.size_bytes,
        page_count=len(doc.pages),
        chunk_count=len(drafts),
        status=MaterialStatus.INDEXING,
        pages_without_text=doc.pages_without_text,
        note=doc.note,
        embedding_model=model,
        text_version=TEXT_PIPELINE_VERSION,
        language=languages[0],
        ocr_pages=doc.ocr_pages,
        ocr_confidence=doc.ocr_confidence,
        low_confidence_pages=doc.low_confidence_pages,
    )
    session.add(material)
    session.flush()
    material_id = material.id
    _, offsets = document_text(doc.pages)
    session.execute(
        insert(MaterialPage),
        [
            {
                "material_id": material_id,
                "number": i + 1,
                "user_id": user_id,
                "text": text,
                "char_start": offsets[i],
                "language": languages[1][i],
            }
            for i, text in enumerate(doc.pages)
        ],
    )
    chunk_ids = list(
        session.scalars(
            insert(Chunk).returning(Chunk.id, sort_by_parameter_order=True),
            chunk_rows(drafts, lexical, user_id=user_id, material_id=material_id),
        )
    )
    return material_id, chunk_ids


def _write_vectors(
    rt: Runtime,
    *,
    user_id: int,
    material_id: int,
    chunk_ids: list[int],
    vectors: np.ndarray,
    model: str,
) -> MaterialInfo:
    """The material's vectors into the learner's index in use; then the material is 'ready'."""
    with rt.session_factory.begin() as session:
        lock_vectors(session, user_id)
        rt.vectors.add(
            current_collection(session, user_id),
            user_id=user_id,
            chunk_ids=chunk_ids,
            material_ids=[material_id] * len(chunk_ids),
            embeddings=vectors,
            model=model,
        )
        reached("ingest:vectors-written")
        m = session.get_one(Material, material_id)
        m.status = MaterialStatus.READY
        session.flush()
        return material_info(m)


def _abandon(rt: Runtime, user_id: int, material_id: int) -> None:
    """Remove a material whose ingestion failed (left 'deleting' for `check --repair` when
    even that fails, e.g. while the vector store is down)."""
    try:
        with rt.session_factory.begin() as session:
            session.execute(
                Material.__table__.update()
                .where(Material.id == material_id)
                .values(status=MaterialStatus.DELETING)
            )
        finish_delete(rt, user_id=user_id, material_id=material_id, keep_original=True)
    except Exception:  # logged: the material is invisible; `check --repair` finishes it
        log.exception(
            "could not remove a failed ingestion",
            extra={"user_id": user_id, "material_id": material_id},
        )


def undo_interrupted_ingestion(rt: Runtime, *, user_id: int, sha256: str) -> bool:
    """Remove what an ingestion of this file that will not be retried left half-written (the
    original file saved before its rows, or rows committed as 'indexing' with vectors maybe
    not), original file included. True when there was something to remove."""
    existing = find_duplicate(rt, user_id=user_id, sha256=sha256)
    if existing is None:  # stopped after saving the original, before its rows
        path = original_path(rt, user_id=user_id, sha256=sha256)
        if not path.is_file():
            return False
        remove_original(rt, user_id=user_id, sha256=sha256)
        log.info("original of an interrupted ingestion removed", extra={"user_id": user_id})
        return True
    if existing.status != MaterialStatus.INDEXING:
        return False
    with rt.session_factory.begin() as session:
        session.execute(
            Material.__table__.update()
            .where(
                Material.id == existing.id,
                Material.user_id == user_id,
                Material.status == MaterialStatus.INDEXING,
            )
            .values(status=MaterialStatus.DELETING)
        )
    finish_delete(rt, user_id=user_id, material_id=existing.id)
    log.info(
        "interrupted ingestion removed", extra={"user_id": user_id, "material_id": existing.id}
    )
    return True
