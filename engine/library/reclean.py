"""Bring materials made by an older text pipeline up to date (`python -m engine reindex`).

A material records the `TEXT_PIPELINE_VERSION` its pages and chunks were made with. An older
one is read again from its stored original PDF (or, when there is none or it cannot be read,
its stored page text is cleaned again), re-chunked and re-embedded. Rows and vectors change
together under the learner's vector lock, and questions keep pointing at the chunk that now
holds their excerpt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from engine import usage
from engine.db.models import Chunk, Material, MaterialPage, Question
from engine.domain.language import page_languages
from engine.domain.vocabulary import MaterialStatus
from engine.errors import EngineError, NotFound, PdfNoText
from engine.ingestion.chunking import ChunkDraft, chunk_pages, document_text
from engine.ingestion.cleaning import TEXT_PIPELINE_VERSION, clean_pages
from engine.ingestion.pdf import read_pdf
from engine.library.index import embed_texts
from engine.library.store import chunk_rows, lexical_column
from engine.originals import original_path
from engine.retrieval.collections import current_collection, lock_vectors
from engine.runtime import Runtime

log = logging.getLogger(__name__)


def outdated_materials(rt: Runtime, *, user_id: int | None = None) -> list[tuple[int, int]]:
    """(user id, material id) of ready materials made by an older text pipeline version."""
    q = (
        select(Material.user_id, Material.id)
        .where(
            Material.text_version < TEXT_PIPELINE_VERSION, Material.status == MaterialStatus.READY
        )
        .order_by(Material.user_id, Material.id)
    )
    if user_id is not None:
        q = q.where(Material.user_id == user_id)
    with rt.session_factory() as session:
        return [(u, m) for u, m in session.execute(q)]


def _current_pages(rt: Runtime, m: Material, stored: list[str]) -> tuple[list[str], set[int]]:
    """The pages read again from the original PDF when it is there, else re-cleaned."""
    path = original_path(rt, user_id=m.user_id, sha256=m.sha256)
    if path.is_file():
        try:
            # No new OCR: a material with OCR pages is re-cleaned from its stored text.
            pdf = read_pdf(path.read_bytes(), settings=rt.settings, ocr_pages_left=0)
        except EngineError as e:  # e.g. encrypted: the password was not kept
            log.info(
                "original not re-read; cleaning stored text",
                extra={"material_id": m.id, "reason": type(e).__name__},
            )
        else:
            if len(pdf.pages) == len(stored):
                return pdf.pages, set(pdf.pages_without_text)
    pages, unreadable = clean_pages(stored)
    return pages, set(m.pages_without_text or []) | set(unreadable)


def reclean_material(
    rt: Runtime,
    *,
    user_id: int,
    material_id: int,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Re-read or re-clean one material, re-chunk and re-embed it; returns its chunk count.

    Raises:
        NotFound: not this learner's material.
        PdfNoText: nothing usable is left after cleaning (the material is left as it was).
    """
    s = rt.settings
    with rt.session_factory() as session:
        m = session.scalar(
            select(Material).where(Material.id == material_id, Material.user_id == user_id)
        )
        if m is None:
            raise NotFound("That material is not in your library (it may have been deleted).")
        stored = list(
            session.scalars(
                select(MaterialPage.text)
                .where(MaterialPage.material_id == material_id, MaterialPage.user_id == user_id)
                .order_by(MaterialPage.number)
            )
        )
        pages, without = _current_pages(rt, m, stored)
    without |= {i + 1 for i, p in enumerate(pages) if not p.strip()}
    drafts = chunk_pages(
        pages,
        chunk_tokens=s.ingestion.chunk_tokens,
        overlap_tokens=s.ingestion.chunk_overlap_tokens,
    )
    if not drafts:
        raise PdfNoText(
            "After cleaning, this material has no usable text left; it was kept as it was."
        )
    # Re-cleaning is the operator's work (a newer text pipeline): logged, never refused by the
    # learner's limits.
    embedder = usage.embedder_for(rt, user_id=user_id, limited=False)
    vectors = embed_texts(rt, embedder, [d.text for d in drafts], progress=progress)
    _replace_chunks(
        rt,
        user_id=user_id,
        material_id=material_id,
        pages=pages,
        without=sorted(without),
        drafts=drafts,
        vectors=vectors,
        model=embedder.model_name,
    )
    return len(drafts)


def _replace_chunks(
    rt: Runtime,
    *,
    user_id: int,
    material_id: int,
    pages: list[str],
    without: list[int],
    drafts: list[ChunkDraft],
    vectors: np.ndarray,
    model: str,
) -> None:
    store = rt.vectors
    language, page_langs = page_languages(pages)
    lexical = lexical_column(drafts, page_langs)
    new_ids: list[int] = []
    name = None
    try:
        with rt.session_factory.begin() as session:
            lock_vectors(session, user_id)
            name = current_collection(session, user_id)
            m = session.get_one(Material, material_id)
            old_ids = _set_aside_chunks(session, user_id, material_id)
            _rewrite_pages(session, material_id, pages, page_langs)
            new_ids = list(
                session.scalars(
                    insert(Chunk).returning(Chunk.id, sort_by_parameter_order=True),
                    chunk_rows(drafts, lexical, user_id=user_id, material_id=material_id),
                )
            )
            _relink_questions(session, user_id, material_id, drafts, new_ids)
            session.execute(delete(Chunk).where(Chunk.id.in_(old_ids)))
            m.chunk_count, m.pages_without_text = len(drafts), without
            m.text_version, m.embedding_model = TEXT_PIPELINE_VERSION, model
            m.language = language
            store.add(
                name,
                user_id=user_id,
                chunk_ids=new_ids,
                material_ids=[material_id] * len(new_ids),
                embeddings=vectors,
                model=model,
            )
            store.delete_chunks(name, chunk_ids=old_ids)
    except BaseException:
        if name is not None and new_ids:
            _drop_new_vectors(rt, name, new_ids, user_id=user_id, material_id=material_id)
        raise
    log.info(
        "material re-cleaned",
        extra={"user_id": user_id, "material_id": material_id, "chunks": len(new_ids)},
    )


def _set_aside_chunks(session: Session, user_id: int, material_id: int) -> list[int]:
    """The material's chunk ids, their ordinals moved out of the way: old chunks step aside
    (ordinals are unique) until the new ones are linked."""
    old_ids = list(
        session.scalars(
            select(Chunk.id).where(Chunk.material_id == material_id, Chunk.user_id == user_id)
        )
    )
    session.execute(
        Chunk.__table__.update().where(Chunk.id.in_(old_ids)).values(ordinal=-Chunk.ordinal - 1)
    )
    return old_ids


def _rewrite_pages(
    session: Session, material_id: int, pages: list[str], page_langs: list[str]
) -> None:
    """The material's page rows get the new page texts, offsets and languages."""
    _, offsets = document_text(pages)
    for i, text in enumerate(pages):
        session.execute(
            MaterialPage.__table__.update()
            .where(MaterialPage.material_id == material_id, MaterialPage.number == i + 1)
            .values(text=text, char_start=offsets[i], language=page_langs[i])
        )


def _drop_new_vectors(
    rt: Runtime, name: str, new_ids: list[int], *, user_id: int, material_id: int
) -> None:
    """After a failed re-clean: remove the vectors it added (the rows were rolled back)."""
    try:
        rt.vectors.delete_chunks(name, chunk_ids=new_ids)
    except Exception:  # logged: `python -m engine check --repair` removes strays
        log.exception(
            "could not remove vectors of a failed re-clean",
            extra={"user_id": user_id, "material_id": material_id},
        )


def _relink_questions(
    session: Session, user_id: int, material_id: int, drafts: list[ChunkDraft], new_ids: list[int]
) -> None:
    """Point each question at the new chunk holding its excerpt (else its first page)."""

    def squash(text: str) -> str:
        return " ".join(text.split()).casefold()

    texts = [squash(d.text) for d in drafts]
    for q in session.scalars(
        select(Question).where(Question.user_id == user_id, Question.material_id == material_id)
    ):
        excerpt = squash(q.excerpt)[:120]
        best = next((new_ids[i] for i, t in enumerate(texts) if excerpt and excerpt in t), None)
        if best is None:
            best = next(
                (
                    new_ids[i]
                    for i, d in enumerate(drafts)
                    if d.page_start <= q.page_start <= d.page_end
                ),
                None,
            )
        q.source_chunk_id = best
        q.chunk_ids = [best] if best is not None else []


def restore_pages(rt: Runtime, *, user_id: int, material_id: int) -> bool:
    """Write a material's page rows again from its original PDF, then re-chunk and re-embed
    it (`reclean_material`). For page rows lost or damaged outside the app.

    Returns:
        False (and nothing changed) when the original is missing, cannot be read, or has
        another number of pages than the material.

    Raises:
        NotFound: not this learner's material.
    """
    with rt.session_factory() as session:
        m = session.scalar(
            select(Material).where(Material.id == material_id, Material.user_id == user_id)
        )
        if m is None:
            raise NotFound("That material is not in your library (it may have been deleted).")
        path, page_count = original_path(rt, user_id=user_id, sha256=m.sha256), m.page_count
    if not path.is_file():
        return False
    try:
        pdf = read_pdf(path.read_bytes(), settings=rt.settings)
    except EngineError as e:  # e.g. encrypted: the password was not kept
        log.info(
            "original not re-read; pages not restored",
            extra={"material_id": material_id, "reason": type(e).__name__},
        )
        return False
    if len(pdf.pages) != page_count:
        return False
    _, offsets = document_text(pdf.pages)
    with rt.session_factory.begin() as session:
        lock_vectors(session, user_id)
        session.execute(delete(MaterialPage).where(MaterialPage.material_id == material_id))
        session.execute(
            insert(MaterialPage),
            [
                {
                    "material_id": material_id,
                    "number": i + 1,
                    "user_id": user_id,
                    "text": text,
                    "char_start": offsets[i],
                }
                for i, text in enumerate(pdf.pages)
            ],
        )
    reclean_material(rt, user_id=user_id, material_id=material_id)
    log.info("material pages restored", extra={"user_id": user_id, "material_id": material_id})
    return True
