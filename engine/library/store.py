"""Storing an ingested document: its rows committed as 'indexing', then its vectors, then
'ready'; a failure removes the half-written material at once (see `engine.library`)."""

from __future__ import annotations

import logging

import numpy as np
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.db.models import Chunk, Material, MaterialPage
from engine.domain.language import page_languages
from engine.domain.vocabulary import MaterialStatus
from engine.ingestion.chunking import ChunkDraft, document_text
from engine.ingestion.cleaning import TEXT_PIPELINE_VERSION
from engine.library.ingest_values import DocumentInput, IngestResult
from engine.library.materials import MaterialInfo, find_duplicate, finish_delete, material_info
from engine.library.quotas import reserve_pages
from engine.originals import original_path, remove_original
from engine.retrieval.collections import current_collection, lock_vectors
from engine.retrieval.lexical import lexical_tokens
from engine.runtime import Runtime
from engine.steps import reached

log = logging.getLogger(__name__)


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


def store_document(
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
            _reserve(session, rt, user_id=user_id, doc=doc)
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
        abandon(rt, user_id, material_id)
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


def _reserve(session: Session, rt: Runtime, *, user_id: int, doc: DocumentInput) -> None:
    """The document's pages (and its pages read by OCR) against the learner's quotas."""
    reserve_pages(
        session, rt.settings, user_id=user_id, pages=len(doc.pages), ocr_pages=len(doc.ocr_pages)
    )


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


def abandon(rt: Runtime, user_id: int, material_id: int) -> None:
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
