"""Hybrid search over one learner's library: BM25 (bm25s) fused with dense vectors (Chroma)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.db.models import Chunk, Material
from engine.domain.passage import Passage
from engine.retrieval.collections import current_collection
from engine.retrieval.embeddings import model_label
from engine.retrieval.fusion import weighted_fusion
from engine.retrieval.lexical import LexicalIndex

if TYPE_CHECKING:
    from engine.runtime import Runtime

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 2000


def library_fingerprint(session: Session, user_id: int) -> tuple[int, int, int]:
    """Changes whenever a material becomes searchable or stops being so (ids are never
    reused; only 'ready' materials are searched)."""
    row = session.execute(
        select(func.count(Material.id), func.coalesce(func.max(Material.id), 0),
               func.coalesce(func.sum(Material.chunk_count), 0))
        .where(Material.user_id == user_id, Material.status == "ready")
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def lexical_index(rt: Runtime, session: Session, user_id: int) -> LexicalIndex:
    """The learner's BM25 index from the runtime's cache, rebuilt only when their library
    changed (checked against PostgreSQL on every call, so a change made by another process is
    seen)."""
    cache = rt.lexical_indexes
    key = (user_id,)
    fingerprint = library_fingerprint(session, user_id)
    index = cache.get(key, fingerprint)
    if index is not None:
        return index
    rows = session.execute(
        select(Chunk.id, Chunk.material_id, Chunk.lexical)
        .join(Material, Material.id == Chunk.material_id)
        .where(Chunk.user_id == user_id, Material.status == "ready").order_by(Chunk.id)
    ).all()
    index = LexicalIndex.build([r[0] for r in rows], [r[1] for r in rows],
                               [r[2].split() for r in rows])
    cache.put(key, fingerprint, index)
    return index


def search(rt: Runtime, *, user_id: int, query: str, k: int = 8,
           material_ids: list[int] | None = None) -> list[Passage]:
    """The learner's best passages for a query, best first.

    Only this learner's chunks are ever considered (their own BM25 index, their own vector
    collection, and a final read filtered by user id).

    Args:
        rt: the runtime (database, vector store, embedder, BM25 index cache, settings).
        user_id: the learner searching.
        query: free text (a question, keywords...).
        k: how many passages to return.
        material_ids: restrict to these materials of the learner (None = all).

    Returns:
        Up to `k` passages with text, chunk id, material id and title, page range and a
        fused score in [0, 1].
    """
    with rt.session_factory.begin() as session:
        return search_in(rt, session, user_id=user_id, query=query, k=k,
                         material_ids=material_ids)


def search_in(rt: Runtime, session: Session, *, user_id: int, query: str, k: int = 8,
              material_ids: list[int] | None = None) -> list[Passage]:
    """`search` inside the caller's unit of work (for services that search as one step of a
    larger operation, e.g. the tutor's turn or picking passages for generation)."""
    settings = rt.settings
    query = query.strip()[:MAX_QUERY_CHARS]
    if not query or k <= 0 or (material_ids is not None and not material_ids):
        return []
    n = max(settings.retrieval.candidates, k)
    index = lexical_index(rt, session, user_id)
    if index.chunk_ids.size == 0:
        return []
    positions, lex_scores = index.top(query, n, material_ids)
    lexical = {int(index.chunk_ids[p]): float(s) for p, s in zip(positions, lex_scores,
                                                                   strict=True)}
    dense = _dense_scores(rt, session, user_id=user_id, query=query, n=n,
                          material_ids=material_ids, lexical=lexical)
    if dense and lexical:
        # Give dense-only candidates their true BM25 score (often small but not zero).
        all_scores = index.scores(query)
        for chunk_id in dense:
            position = index.position_of.get(chunk_id)
            if chunk_id not in lexical and position is not None:
                lexical[chunk_id] = float(all_scores[position])
    fused = weighted_fusion(lexical, dense, dense_weight=settings.retrieval.dense_weight)
    return _read_passages(session, user_id, fused[:k])


def _dense_scores(rt: Runtime, session: Session, *, user_id: int, query: str, n: int,
                  material_ids: list[int] | None, lexical: dict[int, float]
                  ) -> dict[int, float]:
    """Cosine similarity of the query to the `n` nearest chunks and to every lexical
    candidate; empty when the learner's vectors are missing or from another model."""
    dense: dict[int, float] = {}
    store = rt.vectors
    collection = current_collection(session, user_id)
    if store.model_of(collection) != model_label(rt.settings):
        log.warning("vector index stale or missing; lexical ranking only",
                    extra={"user_id": user_id})
        return dense
    embedding = rt.embedder.embed_query(query)
    for hit in store.query(collection, embedding=embedding, k=n, material_ids=material_ids):
        dense[hit.chunk_id] = hit.similarity
    # Give lexical-only candidates their true cosine similarity too.
    missing = [c for c in lexical if c not in dense]
    dense.update(store.similarities(collection, embedding=embedding, chunk_ids=missing))
    return dense


def _read_passages(session: Session, user_id: int, ranked: list[tuple[int, float]]
                   ) -> list[Passage]:
    """The ranked chunks as passages, in rank order (skipping any deleted meanwhile)."""
    top = [cid for cid, _ in ranked]
    scores = dict(ranked)
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
