"""Hybrid search over one learner's library: BM25 (bm25s) fused with dense vectors (Chroma)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.config import Settings, get_settings
from engine.db.models import Chunk, Material
from engine.retrieval.collections import current_collection
from engine.retrieval.embeddings import get_embedder, model_label
from engine.retrieval.fusion import weighted_fusion
from engine.retrieval.lexical import INDEX_CACHE, LexicalIndex
from engine.retrieval.vectors import get_vector_store

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 2000


@dataclass(frozen=True)
class Passage:
    """One search result: a chunk of a learner's material with its provenance."""

    chunk_id: int
    material_id: int
    material_title: str
    text: str
    page_start: int
    page_end: int
    score: float
    heading: str | None = None

    @property
    def pages(self) -> str:
        """'p. 4' or 'pp. 4–5', for citations."""
        if self.page_start == self.page_end:
            return f"p. {self.page_start}"
        return f"pp. {self.page_start}\u2013{self.page_end}"


def library_fingerprint(session: Session, user_id: int) -> tuple[int, int, int]:
    """Changes whenever a material becomes searchable or stops being so (ids are never
    reused; only 'ready' materials are searched)."""
    row = session.execute(
        select(func.count(Material.id), func.coalesce(func.max(Material.id), 0),
               func.coalesce(func.sum(Material.chunk_count), 0))
        .where(Material.user_id == user_id, Material.status == "ready")
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def lexical_index(session: Session, user_id: int, budget_bytes: int | None = None
                  ) -> LexicalIndex:
    """The learner's BM25 index, rebuilt only when their library changed (checked against
    PostgreSQL on every call, so a change made by another process is seen)."""
    bind = session.get_bind()
    key = (bind.url.render_as_string(hide_password=True), user_id)
    fingerprint = library_fingerprint(session, user_id)
    index = INDEX_CACHE.get(key, fingerprint)
    if index is not None:
        return index
    rows = session.execute(
        select(Chunk.id, Chunk.material_id, Chunk.lexical)
        .join(Material, Material.id == Chunk.material_id)
        .where(Chunk.user_id == user_id, Material.status == "ready").order_by(Chunk.id)
    ).all()
    index = LexicalIndex.build([r[0] for r in rows], [r[1] for r in rows],
                               [r[2].split() for r in rows])
    INDEX_CACHE.put(key, fingerprint, index, budget_bytes)
    return index


def search(
    session: Session,
    *,
    user_id: int,
    query: str,
    k: int = 8,
    material_ids: list[int] | None = None,
    settings: Settings | None = None,
) -> list[Passage]:
    """The learner's best passages for a query, best first.

    Only this learner's chunks are ever considered (their own BM25 index, their own vector
    collection, and a final read filtered by user id).

    Args:
        session: an open database session.
        user_id: the learner searching.
        query: free text (a question, keywords...).
        k: how many passages to return.
        material_ids: restrict to these materials of the learner (None = all).
        settings: defaults to `get_settings()`.

    Returns:
        Up to `k` passages with text, chunk id, material id and title, page range and a
        fused score in [0, 1].
    """
    settings = settings or get_settings()
    query = query.strip()[:MAX_QUERY_CHARS]
    if not query or k <= 0 or (material_ids is not None and not material_ids):
        return []
    n = max(settings.retrieval.candidates, k)

    index = lexical_index(session, user_id, settings.retrieval.cache_budget_mb * 1024 * 1024)
    if index.chunk_ids.size == 0:
        return []
    positions, lex_scores = index.top(query, n, material_ids)
    lexical = {int(index.chunk_ids[p]): float(s) for p, s in zip(positions, lex_scores,
                                                                   strict=True)}

    dense: dict[int, float] = {}
    store = get_vector_store(settings)
    collection = current_collection(session, user_id)
    if store.model_of(collection) == model_label(settings):
        embedding = get_embedder(settings).embed_query(query)
        for hit in store.query(collection, embedding=embedding, k=n,
                               material_ids=material_ids):
            dense[hit.chunk_id] = hit.similarity
        # Give lexical-only candidates their true cosine similarity too.
        missing = [c for c in lexical if c not in dense]
        dense.update(store.similarities(collection, embedding=embedding,
                                        chunk_ids=missing))
    else:
        log.warning("vector index stale or missing; lexical ranking only",
                    extra={"user_id": user_id})

    if dense and lexical:
        # Give dense-only candidates their true BM25 score (often small but not zero).
        all_scores = index.scores(query)
        for chunk_id in dense:
            position = index.position_of.get(chunk_id)
            if chunk_id not in lexical and position is not None:
                lexical[chunk_id] = float(all_scores[position])

    fused = weighted_fusion(lexical, dense, dense_weight=settings.retrieval.dense_weight)
    top = [cid for cid, _ in fused[:k]]
    scores = dict(fused)
    rows = session.execute(
        select(Chunk, Material.title).join(Material, Material.id == Chunk.material_id)
        .where(Chunk.user_id == user_id, Chunk.id.in_(top), Material.status == "ready")
    ).all()
    by_id = {chunk.id: (chunk, title) for chunk, title in rows}
    passages = []
    for cid in top:
        if cid not in by_id:  # deleted between ranking and reading
            continue
        chunk, title = by_id[cid]
        passages.append(Passage(
            chunk_id=chunk.id, material_id=chunk.material_id, material_title=title,
            text=chunk.text, page_start=chunk.page_start, page_end=chunk.page_end,
            score=round(float(scores[cid]), 4), heading=chunk.heading,
        ))
    return passages
