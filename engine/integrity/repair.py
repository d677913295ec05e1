"""Mending the drift `check` finds: `repair` (see `engine.integrity`)."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from engine import exports, originals, usage
from engine.db.models import Chunk, Material
from engine.domain.vocabulary import MaterialStatus
from engine.errors import EngineError
from engine.integrity.drift import Drift, check
from engine.integrity.scan import Learner, disk_of, gather, shared_folders, unclaimed_spool
from engine.jobs.spool import remove_spooled
from engine.library import embed_into, finish_delete, reindex
from engine.library.reclean import reclean_material, restore_pages
from engine.private_files import is_private, make_private
from engine.retrieval.collections import current_collection, lock_vectors
from engine.retrieval.embeddings import model_label
from engine.runtime import Runtime

log = logging.getLogger(__name__)


def _remove_stale_files(rt: Runtime, s: Learner) -> None:
    for name in s.stale_exports:
        exports.remove_export_file(rt, name)
    spool = rt.settings.storage.spool_path
    for name in s.spool:
        remove_spooled(rt, path=spool / name)


def _repair_learner(rt: Runtime, s: Learner) -> None:
    store = rt.vectors
    _remove_stale_files(rt, s)
    if not s.exists:
        for name in s.collections:
            store.drop(name)
        originals.remove_user_originals(rt, user_id=s.user_id)
        exports.remove_user_exports(rt, user_id=s.user_id)
        return
    for material_id, (status, _) in s.statuses.items():
        if status == MaterialStatus.DELETING:
            finish_delete(rt, user_id=s.user_id, material_id=material_id)
    if s.chunks and s.index_model != model_label(rt.settings):
        reindex(rt, user_id=s.user_id)
    else:
        _fill_and_prune(rt, s.user_id)
    with rt.session_factory.begin() as session:
        session.execute(
            Material.__table__.update()
            .where(Material.user_id == s.user_id, Material.status == MaterialStatus.INDEXING)
            .values(status="ready")
        )
        current = current_collection(session, s.user_id)
    for name in s.collections:
        if name != current:
            store.drop(name)
    with rt.session_factory() as session:
        known = {
            f"{sha}.pdf"
            for sha in session.scalars(select(Material.sha256).where(Material.user_id == s.user_id))
        }
    for name in (s.files - known) | set(s.corrupt):
        originals.remove_file(rt, user_id=s.user_id, name=name)
    _rebuild_text(rt, s)
    for path in s.open_paths:
        if path.exists():
            make_private(path)


def _rebuild_text(rt: Runtime, s: Learner) -> None:
    """Page rows again from the original; chunks again from the pages (both re-embedded)."""
    for material_id in sorted(set(s.page_drift) | set(s.chunk_drift)):
        try:
            if material_id in s.page_drift:
                if not restore_pages(rt, user_id=s.user_id, material_id=material_id):
                    log.warning(
                        "page rows not restored: no readable original with as many pages",
                        extra={"user_id": s.user_id, "material_id": material_id},
                    )
            else:
                reclean_material(rt, user_id=s.user_id, material_id=material_id)
        except EngineError as e:  # the drift stays reported; the next run tries again
            log.warning(
                "material text not rebuilt",
                extra={"user_id": s.user_id, "material_id": material_id, "reason": e.user_message},
            )


def _repair_unowned(rt: Runtime, now: dt.datetime) -> None:
    for f in exports.stored_exports(rt):
        if f.user_id is None:
            exports.remove_export_file(rt, f.name)
    for path in unclaimed_spool(rt, now):
        path.unlink(missing_ok=True)
    for folder in shared_folders(rt):
        if folder.is_dir() and not is_private(folder):
            make_private(folder)


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
            .where(Chunk.user_id == user_id, Material.status != MaterialStatus.DELETING)
            .order_by(Chunk.id)
        ).all()
        have = store.chunk_ids(collection)
        embed_into(
            store,
            embedder,
            collection,
            user_id=user_id,
            rows=[r for r in rows if r[0] not in have],
            batch=max(1, rt.settings.embedding.batch_size) * 4,
        )
        live = {r[0] for r in rows}
        store.delete_chunks(collection, chunk_ids=[c for c in have if c not in live])


def repair(
    rt: Runtime, *, user_id: int | None = None, now: dt.datetime | None = None
) -> list[Drift]:
    """Repair every drift `check` finds; returns what was found (and repaired)."""
    now = now or dt.datetime.now(dt.UTC)
    found = check(rt, user_id=user_id, now=now)
    names = rt.vectors.list_names()
    disk = disk_of(rt, user_id)
    for uid in sorted({d.user_id for d in found if d.user_id is not None}):
        _repair_learner(rt, gather(rt, uid, names, disk, now))
        log.info("drift repaired", extra={"user_id": uid})
    if any(d.user_id is None for d in found):
        _repair_unowned(rt, now)
        log.info("drift of no learner repaired")
    return found
