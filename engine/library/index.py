"""A learner's search index: the vectors of their chunks in Chroma, searched, counted, checked
against the configured embedding model and rebuilt with it.

The library reaches the vector store and the embedder through the runtime (`rt.vectors`,
`rt.embedder`; a hosted model through `usage.embedder_for`, metered per learner).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import usage
from engine.db.models import Chunk, Material
from engine.domain.passage import Passage
from engine.domain.vocabulary import MaterialStatus
from engine.errors import InvalidInput
from engine.retrieval.collections import current_collection, lock_vectors, switch_collection
from engine.retrieval.embeddings import Embedder, model_label
from engine.retrieval.vectors import VectorStore, new_collection_name
from engine.runtime import Runtime
from engine.search import search
from engine.steps import reached

Progress = Callable[[int, int], None]  # (done, total)


def embedding_step(rt: Runtime) -> int:
    """How many texts go to the embedder at once (a few of its own batches)."""
    return max(1, rt.settings.embedding.batch_size) * 4


def embed_texts(
    rt: Runtime, embedder: Embedder, texts: list[str], *, progress: Progress | None = None
) -> np.ndarray:
    """The vectors of `texts`, one row each, embedded a step at a time."""
    step = embedding_step(rt)
    parts = []
    for start in range(0, len(texts), step):
        parts.append(embedder.embed_documents(texts[start : start + step]))
        if progress:
            progress(min(len(texts), start + step), len(texts))
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


def search_library(
    rt: Runtime, *, user_id: int, query: str, k: int = 8, material_ids: list[int] | None = None
) -> list[Passage]:
    """`engine.search.search` with its own session, for pages and the CLI.

    Raises:
        InvalidInput: an empty query.
    """
    if len(query.strip()) == 0:
        raise InvalidInput("Type something to search for.")
    return search(rt, user_id=user_id, query=query, k=k, material_ids=material_ids)


def index_model(rt: Runtime, *, user_id: int) -> str | None:
    """The embedding model of the learner's index in use (None when there is none)."""
    with rt.session_factory() as session:
        name = current_collection(session, user_id)
    return rt.vectors.model_of(name)


def vector_count(rt: Runtime, *, user_id: int) -> int:
    """How many vectors the learner's index in use holds."""
    with rt.session_factory() as session:
        name = current_collection(session, user_id)
    return rt.vectors.count(name)


def index_is_current(rt: Runtime, *, user_id: int) -> bool:
    """False when the learner's vectors were built by another embedding model than configured.

    Only searchable materials count: a material still being read has its passages saved before
    its first vectors (and collection) exist, which is not a stale index."""
    store = rt.vectors
    with rt.session_factory() as session:
        has_chunks = session.scalar(
            select(Chunk.id)
            .join(Material, Material.id == Chunk.material_id)
            .where(Chunk.user_id == user_id, Material.status == MaterialStatus.READY)
            .limit(1)
        )
        name = current_collection(session, user_id)
    if has_chunks is None:
        return True
    return store.model_of(name) == model_label(rt.settings)


def _live_chunks(session: Session, user_id: int) -> list[tuple[int, int, str]]:
    """(chunk id, material id, text) of every chunk whose material is not being deleted."""
    return [
        (chunk_id, material_id, text)
        for chunk_id, material_id, text in session.execute(
            select(Chunk.id, Chunk.material_id, Chunk.text)
            .join(Material, Material.id == Chunk.material_id)
            .where(Chunk.user_id == user_id, Material.status != MaterialStatus.DELETING)
            .order_by(Chunk.id)
        )
    ]


def embed_into(
    store: VectorStore,
    embedder: Embedder,
    name: str,
    *,
    user_id: int,
    rows: list[tuple[int, int, str]],
    batch: int,
    progress: Progress | None = None,
) -> None:
    """Embed these chunk rows and store their vectors in the collection `name`."""
    total = len(rows)
    for start in range(0, total, batch):
        part = rows[start : start + batch]
        store.add(
            name,
            user_id=user_id,
            chunk_ids=[r[0] for r in part],
            material_ids=[r[1] for r in part],
            embeddings=embedder.embed_documents([r[2] for r in part]),
            model=embedder.model_name,
        )
        if progress:
            progress(min(total, start + batch), total)


def reindex(rt: Runtime, *, user_id: int, progress: Progress | None = None) -> int:
    """Re-embed all of a learner's chunks with the configured model; returns the chunk count.

    The vectors are built in a new collection; the pointer in PostgreSQL switches to it only
    when it is complete (under the learner's vector lock, after catching up with materials
    added or deleted meanwhile), and the old collection is dropped last. An interrupted
    rebuild leaves the previous (still searchable) index in use.
    """
    store, batch = rt.vectors, embedding_step(rt)
    # A rebuild follows a change of model: logged, never refused by the learner's limits.
    embedder = usage.embedder_for(rt, user_id=user_id, limited=False)
    with rt.session_factory() as session:
        old = current_collection(session, user_id)
        rows = _live_chunks(session, user_id)
    new = new_collection_name(user_id)
    store.create(new, model=embedder.model_name)
    try:
        if progress:
            progress(0, len(rows))
        embed_into(store, embedder, new, user_id=user_id, rows=rows, batch=batch, progress=progress)
        reached("rebuild:collection-filled")
        with rt.session_factory.begin() as session:
            lock_vectors(session, user_id)
            live = {r[0]: r for r in _live_chunks(session, user_id)}
            have = store.chunk_ids(new)
            embed_into(
                store,
                embedder,
                new,
                user_id=user_id,
                batch=batch,
                rows=[r for cid, r in live.items() if cid not in have],
            )
            store.delete_chunks(new, chunk_ids=[c for c in have if c not in live])
            switch_collection(session, user_id, new)
            session.execute(
                Material.__table__.update()
                .where(Material.user_id == user_id)
                .values(embedding_model=embedder.model_name)
            )
    except BaseException:
        store.drop(new)
        raise
    reached("rebuild:pointer-switched")
    if old != new:
        store.drop(old)
    return len(live)
