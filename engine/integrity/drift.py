"""The drift between PostgreSQL, Chroma and the data folder: `check` (see `engine.integrity`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.domain.vocabulary import MaterialStatus
from engine.integrity.scan import (
    HALF_DONE,
    Disk,
    Learner,
    disk_of,
    gather,
    learner_ids,
    shared_folders,
    unclaimed_spool,
)
from engine.private_files import is_private
from engine.retrieval.embeddings import model_label
from engine.runtime import Runtime


@dataclass(frozen=True)
class Drift:
    """One kind of drift of one learner (`user_id` None: of no learner that can be named)."""

    user_id: int | None
    kind: str
    count: int
    detail: str

    def __str__(self) -> str:
        who = "no learner" if self.user_id is None else f"learner {self.user_id}"
        return f"{who}: {self.kind} ({self.count}) {self.detail}"


def _file_drift(s: Learner) -> list[Drift]:
    """Exports and spooled uploads, for present and deleted learners alike."""
    uid, found = s.user_id, []
    for state in ("expired", "stray"):
        names = sorted(n for n, st in s.stale_exports.items() if st == state)
        if names:
            found.append(Drift(uid, f"{state}-export", len(names), ", ".join(names)))
    if s.spool:
        found.append(
            Drift(uid, "stray-spool", len(s.spool), "upload(s) left after their job ended")
        )
    return found


def _deleted_learner_drift(s: Learner) -> list[Drift]:
    """A learner who no longer exists: their collections and files are strays."""
    uid, found = s.user_id, []
    if s.collections:
        found.append(
            Drift(uid, "stray-collection", len(s.collections), "of a learner who no longer exists")
        )
    if s.files:
        found.append(Drift(uid, "stray-file", len(s.files), "of a learner who no longer exists"))
    return found


def _index_drift(rt: Runtime, s: Learner) -> list[Drift]:
    """Materials left half-done, and vectors or collections that do not match the chunks."""
    uid, found = s.user_id, []
    half = {st: [m for m, (x, _) in s.statuses.items() if x == st] for st in HALF_DONE}
    for status, ids in half.items():
        if ids:
            found.append(
                Drift(uid, "half-done", len(ids), f"material(s) left '{status}': {sorted(ids)}")
            )
    ready = {m for m, (st, _) in s.statuses.items() if st == MaterialStatus.READY}
    missing = [c for c, m in s.chunks.items() if m in ready and c not in s.vectors]
    if missing:
        found.append(Drift(uid, "missing-vectors", len(missing), "chunk(s) without a vector"))
    orphans = [c for c in s.vectors if c not in s.chunks]
    if orphans:
        found.append(
            Drift(
                uid, "orphan-vectors", len(orphans), f"vector(s) without a chunk in {s.collection}"
            )
        )
    wanted = model_label(rt.settings)
    if s.chunks and s.index_model != wanted:
        found.append(
            Drift(
                uid,
                "model-mismatch",
                1,
                f"index built with {s.index_model or 'nothing'}, configured {wanted}",
            )
        )
    strays = [n for n in s.collections if n != s.collection]
    if strays:
        found.append(Drift(uid, "stray-collection", len(strays), ", ".join(strays)))
    return found


def _content_drift(s: Learner) -> list[Drift]:
    """Originals, page rows and chunk text that do not match their materials; open files."""
    uid, found = s.user_id, []
    known = {f"{sha}.pdf" for _, sha in s.statuses.values()}
    stray_files = sorted(s.files - known)
    if stray_files:
        found.append(Drift(uid, "stray-file", len(stray_files), ", ".join(stray_files)))
    if s.corrupt:
        found.append(Drift(uid, "corrupt-original", len(s.corrupt), ", ".join(s.corrupt)))
    if s.page_drift:
        found.append(
            Drift(
                uid,
                "page-rows",
                len(s.page_drift),
                f"material(s) whose page rows do not match: {s.page_drift}",
            )
        )
    if s.chunk_drift:
        found.append(
            Drift(
                uid,
                "chunk-text",
                sum(s.chunk_drift.values()),
                f"chunk(s) not matching their hash in material(s) {sorted(s.chunk_drift)}",
            )
        )
    if s.open_paths:
        found.append(
            Drift(
                uid, "open-permissions", len(s.open_paths), "file(s) or folder(s) others may read"
            )
        )
    return found


def _drift_of(rt: Runtime, s: Learner) -> list[Drift]:
    if not s.exists:
        return _deleted_learner_drift(s) + _file_drift(s)
    return _index_drift(rt, s) + _content_drift(s) + _file_drift(s)


def _unowned_drift(rt: Runtime, disk: Disk, now: dt.datetime) -> list[Drift]:
    found = []
    nameless = [f.name for f in disk.exports if f.user_id is None]
    if nameless:
        found.append(Drift(None, "stray-export", len(nameless), ", ".join(nameless)))
    spool = unclaimed_spool(rt, now)
    if spool:
        found.append(Drift(None, "stray-spool", len(spool), "upload(s) no job refers to"))
    open_folders = [p for p in shared_folders(rt) if p.is_dir() and not is_private(p)]
    if open_folders:
        found.append(
            Drift(
                None, "open-permissions", len(open_folders), ", ".join(p.name for p in open_folders)
            )
        )
    return found


def check(
    rt: Runtime, *, user_id: int | None = None, now: dt.datetime | None = None
) -> list[Drift]:
    """Every drift between PostgreSQL, Chroma and the data folder (one learner or all)."""
    now = now or dt.datetime.now(dt.UTC)
    names = rt.vectors.list_names()
    disk = disk_of(rt, user_id)
    found: list[Drift] = []
    for uid in learner_ids(rt, user_id, names, disk):
        found += _drift_of(rt, gather(rt, uid, names, disk, now))
    if user_id is None:
        found += _unowned_drift(rt, disk, now)
    return found
