"""Compare PostgreSQL with Chroma and the data folder per learner; report and repair drift.

PostgreSQL is the source of truth. Drift is what a crash (or an older version) can leave:

- `half-done`: a material still 'indexing' (rows, maybe vectors) or 'deleting';
- `missing-vectors`: chunks of a ready material without a vector;
- `orphan-vectors`: vectors whose chunk is not in PostgreSQL;
- `model-mismatch`: the index was built by another embedding model than configured;
- `stray-collection`: a collection of the learner that the index pointer does not name
  (an interrupted rebuild), or of a learner who no longer exists;
- `stray-file`: an original PDF without its material, or of a learner who no longer exists.

Repair finishes half-done work (completing ingestions, finishing deletions), embeds missing
vectors (or rebuilds the whole index on a model mismatch), removes orphans and strays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from engine import originals, usage
from engine.db.models import Chunk, Material, User, VectorIndex
from engine.library import embed_into, finish_delete, reindex
from engine.retrieval.collections import current_collection, lock_vectors
from engine.retrieval.embeddings import model_label
from engine.retrieval.vectors import owner_of
from engine.runtime import Runtime

log = logging.getLogger(__name__)

HALF_DONE = ("indexing", "deleting")


@dataclass(frozen=True)
class Drift:
    user_id: int
    kind: str
    count: int
    detail: str

    def __str__(self) -> str:
        return f"learner {self.user_id}: {self.kind} ({self.count}) {self.detail}"


@dataclass
class _Learner:
    """What PostgreSQL, Chroma and the data folder hold for one learner."""

    user_id: int
    exists: bool
    collection: str
    statuses: dict[int, tuple[str, str]]  # material id -> (status, sha256)
    chunks: dict[int, int]  # chunk id -> material id
    vectors: dict[int, int]  # chunk id -> material id, in the current collection
    index_model: str | None
    collections: list[str]  # every collection owned by the learner
    files: set[str]


def _learner_ids(rt: Runtime, user_id: int | None, names: list[str],
                 files: dict[int, set[str]]) -> list[int]:
    if user_id is not None:
        return [user_id]
    with rt.session_factory() as session:
        ids = set(session.scalars(select(Material.user_id).distinct()))
        ids |= set(session.scalars(select(VectorIndex.user_id)))
    ids |= {o for o in map(owner_of, names) if o is not None}
    return sorted(ids | set(files))


def _gather(rt: Runtime, user_id: int, names: list[str],
            files: dict[int, set[str]]) -> _Learner:
    store = rt.vectors
    with rt.session_factory() as session:
        exists = session.get(User, user_id) is not None
        collection = current_collection(session, user_id)
        statuses = {m: (st, sha) for m, st, sha in session.execute(
            select(Material.id, Material.status, Material.sha256)
            .where(Material.user_id == user_id))}
        chunks = {c: m for c, m in session.execute(
            select(Chunk.id, Chunk.material_id).where(Chunk.user_id == user_id))}
    return _Learner(
        user_id=user_id, exists=exists, collection=collection, statuses=statuses,
        chunks=chunks, vectors=store.chunk_ids(collection) if exists else {},
        index_model=store.model_of(collection) if exists else None,
        collections=[n for n in names if owner_of(n) == user_id],
        files=files.get(user_id, set()),
    )


def _drift_of(rt: Runtime, s: _Learner) -> list[Drift]:
    uid = s.user_id
    if not s.exists:
        found = []
        if s.collections:
            found.append(Drift(uid, "stray-collection", len(s.collections),
                               "of a learner who no longer exists"))
        if s.files:
            found.append(Drift(uid, "stray-file", len(s.files),
                               "of a learner who no longer exists"))
        return found
    found = []
    half = {st: [m for m, (x, _) in s.statuses.items() if x == st] for st in HALF_DONE}
    for status, ids in half.items():
        if ids:
            found.append(Drift(uid, "half-done", len(ids),
                               f"material(s) left '{status}': {sorted(ids)}"))
    ready = {m for m, (st, _) in s.statuses.items() if st == "ready"}
    missing = [c for c, m in s.chunks.items() if m in ready and c not in s.vectors]
    if missing:
        found.append(Drift(uid, "missing-vectors", len(missing), "chunk(s) without a vector"))
    orphans = [c for c in s.vectors if c not in s.chunks]
    if orphans:
        found.append(Drift(uid, "orphan-vectors", len(orphans),
                           f"vector(s) without a chunk in {s.collection}"))
    wanted = model_label(rt.settings)
    if s.chunks and s.index_model != wanted:
        found.append(Drift(uid, "model-mismatch", 1,
                           f"index built with {s.index_model or 'nothing'}, configured {wanted}"))
    strays = [n for n in s.collections if n != s.collection]
    if strays:
        found.append(Drift(uid, "stray-collection", len(strays), ", ".join(strays)))
    known = {f"{sha}.pdf" for _, sha in s.statuses.values()}
    stray_files = sorted(s.files - known)
    if stray_files:
        found.append(Drift(uid, "stray-file", len(stray_files), ", ".join(stray_files)))
    return found


def check(rt: Runtime, *, user_id: int | None = None) -> list[Drift]:
    """Every drift between PostgreSQL, Chroma and the data folder (one learner or all)."""
    names = rt.vectors.list_names()
    files = originals.stored_originals(rt)
    found: list[Drift] = []
    for uid in _learner_ids(rt, user_id, names, files):
        found += _drift_of(rt, _gather(rt, uid, names, files))
    return found


def _repair_learner(rt: Runtime, s: _Learner) -> None:
    store = rt.vectors
    if not s.exists:
        for name in s.collections:
            store.drop(name)
        originals.remove_user_originals(rt, user_id=s.user_id)
        return
    for material_id, (status, _) in s.statuses.items():
        if status == "deleting":
            finish_delete(rt, user_id=s.user_id, material_id=material_id)
    if s.chunks and s.index_model != model_label(rt.settings):
        reindex(rt, user_id=s.user_id)
    else:
        _fill_and_prune(rt, s.user_id)
    with rt.session_factory.begin() as session:
        session.execute(Material.__table__.update().where(
            Material.user_id == s.user_id, Material.status == "indexing").values(status="ready"))
        current = current_collection(session, s.user_id)
    for name in s.collections:
        if name != current:
            store.drop(name)
    with rt.session_factory() as session:
        known = {f"{sha}.pdf" for sha in session.scalars(
            select(Material.sha256).where(Material.user_id == s.user_id))}
    for name in s.files - known:
        originals.remove_file(rt, user_id=s.user_id, name=name)


def _fill_and_prune(rt: Runtime, user_id: int) -> None:
    """Embed chunks that have no vector; remove vectors that have no chunk."""
    store = rt.vectors
    # Repairs are the installation's work: logged, never refused by the learner's limits.
    embedder = usage.embedder_for(rt, user_id=user_id, limited=False)
    with rt.session_factory.begin() as session:
        lock_vectors(session, user_id)
        collection = current_collection(session, user_id)
        rows = session.execute(
            select(Chunk.id, Chunk.material_id, Chunk.text)
            .join(Material, Material.id == Chunk.material_id)
            .where(Chunk.user_id == user_id, Material.status != "deleting")
            .order_by(Chunk.id)).all()
        have = store.chunk_ids(collection)
        embed_into(store, embedder, collection, user_id=user_id,
                   rows=[r for r in rows if r[0] not in have],
                   batch=max(1, rt.settings.embedding.batch_size) * 4)
        live = {r[0] for r in rows}
        store.delete_chunks(collection, chunk_ids=[c for c in have if c not in live])


def repair(rt: Runtime, *, user_id: int | None = None) -> list[Drift]:
    """Repair every drift `check` finds; returns what was found (and repaired)."""
    found = check(rt, user_id=user_id)
    names = rt.vectors.list_names()
    files = originals.stored_originals(rt)
    for uid in sorted({d.user_id for d in found}):
        _repair_learner(rt, _gather(rt, uid, names, files))
        log.info("drift repaired", extra={"user_id": uid})
    return found
