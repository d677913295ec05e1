"""Compare PostgreSQL with Chroma and the data folder per learner; report and repair drift.

PostgreSQL is the source of truth. Drift is what a crash, an older version or a hand on the
files can leave:

- `half-done`: a material still 'indexing' (rows, maybe vectors) or 'deleting';
- `missing-vectors`: chunks of a ready material without a vector;
- `orphan-vectors`: vectors whose chunk is not in PostgreSQL;
- `model-mismatch`: the index was built by another embedding model than configured;
- `stray-collection`: a collection of the learner that the index pointer does not name
  (an interrupted rebuild), or of a learner who no longer exists;
- `stray-file`: an original PDF (or a partial write of one) without its material, or of a
  learner who no longer exists;
- `page-rows`: a ready material whose page rows are not exactly pages 1..page count of it;
- `chunk-text`: chunks whose text no longer matches the hash stored when they were made;
- `corrupt-original`: an original PDF whose content does not match its material's SHA-256;
- `expired-export`: a data export kept past its expiry (`export_ttl_h`);
- `stray-export`: an export file without its finished, undismissed export job (a failed or
  dismissed one, a partial write of a job no longer running, a name of no job of that
  learner), or of a learner who no longer exists;
- `stray-spool`: an upload still in the spool after its job ended, or, naming no learner, one
  that no job refers to (only when older than `UNCLAIMED_SPOOL_AGE`: an upload is written
  just before its job row);
- `open-permissions`: a learner's file or folder that others may read (versions before
  this one wrote originals 0644 in 0755 folders), or one of the shared folders.

Repair finishes half-done work (completing ingestions, finishing deletions), embeds missing
vectors (or rebuilds the whole index on a model mismatch), removes orphans and strays, removes
corrupt originals (the export then gives the stored text), writes page rows again from the
original PDF and re-chunks materials whose chunk text changed, removes expired and stray
exports and spooled uploads, and makes files owner-only.

A missing original is not drift: materials uploaded before originals were kept have none (their
export gives the stored page text).

A check of one learner (`user_id=...`) reads and repairs that learner's rows and files only;
drift that names no learner (`Drift.user_id is None`) is looked for only when checking
everyone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import exports, originals, usage
from engine.db.models import Chunk, JobProgress, Material, MaterialPage, User, VectorIndex
from engine.domain.vocabulary import JobKind
from engine.errors import EngineError
from engine.exports import ExportFile
from engine.jobs.progress import ACTIVE
from engine.jobs.spool import remove_spooled
from engine.library import embed_into, finish_delete, reindex
from engine.library.reclean import reclean_material, restore_pages
from engine.private_files import is_private, make_private
from engine.retrieval.collections import current_collection, lock_vectors
from engine.retrieval.embeddings import model_label
from engine.retrieval.vectors import owner_of
from engine.runtime import Runtime

log = logging.getLogger(__name__)

HALF_DONE = ("indexing", "deleting")
# A spooled upload no job refers to is left alone this long (its job row is written just
# after it, and an upload of the largest allowed file takes seconds).
UNCLAIMED_SPOOL_AGE = dt.timedelta(hours=1)
# engine.jobs.spool: an upload, its PDF password, the vectors of a paused ingestion
SPOOL_NAME = re.compile(r"^[0-9a-f]{32}\.(pdf|pw|vectors\.npz)$")
SPOOL_SUFFIXES = (".pw", ".vectors.npz")


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


@dataclass
class _Disk:
    """The data folder's learner files, listed once per check."""

    originals: dict[int, set[str]]
    exports: list[ExportFile]
    # learner -> spool file names of that learner's finished jobs still on disk
    finished_spool: dict[int, set[str]]

    def exports_of(self, user_id: int) -> list[ExportFile]:
        return [f for f in self.exports if f.user_id == user_id]


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
    page_drift: list[int] = field(default_factory=list)  # material ids
    chunk_drift: dict[int, int] = field(default_factory=dict)  # material id -> chunks
    corrupt: list[str] = field(default_factory=list)  # original file names
    stale_exports: dict[str, str] = field(default_factory=dict)  # name -> 'expired'/'stray'
    spool: set[str] = field(default_factory=set)
    open_paths: list[Path] = field(default_factory=list)


def _finished_spool(rt: Runtime, user_id: int | None) -> dict[int, set[str]]:
    spool = rt.settings.storage.spool_path
    q = select(JobProgress.user_id, JobProgress.spool_path).where(
        JobProgress.spool_path.is_not(None),
        JobProgress.outcome.not_in(ACTIVE),
        JobProgress.user_id.is_not(None),
    )
    if user_id is not None:
        q = q.where(JobProgress.user_id == user_id)
    found: dict[int, set[str]] = {}
    with rt.session_factory() as session:
        rows = session.execute(q).all()
    for uid, path in rows:
        if uid is None or path is None:  # the query asked for set ones only
            continue
        name = Path(path).name
        on_disk = {
            n
            for n in (name, *(Path(name).with_suffix(x).name for x in SPOOL_SUFFIXES))
            if (spool / n).is_file()
        }
        if on_disk:
            found.setdefault(uid, set()).update(on_disk)
    return found


def _disk(rt: Runtime, user_id: int | None) -> _Disk:
    return _Disk(
        originals=originals.stored_originals(rt),
        exports=exports.stored_exports(rt),
        finished_spool=_finished_spool(rt, user_id),
    )


def _learner_ids(rt: Runtime, user_id: int | None, names: list[str], disk: _Disk) -> list[int]:
    if user_id is not None:
        return [user_id]
    with rt.session_factory() as session:
        ids = set(session.scalars(select(Material.user_id).distinct()))
        ids |= set(session.scalars(select(VectorIndex.user_id)))
    ids |= {o for o in map(owner_of, names) if o is not None}
    ids |= {f.user_id for f in disk.exports if f.user_id is not None}
    return sorted(ids | set(disk.originals) | set(disk.finished_spool))


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while piece := f.read(1 << 20):
            digest.update(piece)
    return digest.hexdigest()


def _page_drift(session: Session, user_id: int) -> list[int]:
    """Ready materials whose page rows (of this learner) are not exactly 1..page_count."""
    pages = (
        select(
            MaterialPage.material_id,
            func.count().label("n"),
            func.max(MaterialPage.number).label("last"),
        )
        .where(MaterialPage.user_id == user_id)
        .group_by(MaterialPage.material_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(Material.id)
            .outerjoin(pages, pages.c.material_id == Material.id)
            .where(
                Material.user_id == user_id,
                Material.status == "ready",
                (func.coalesce(pages.c.n, 0) != Material.page_count)
                | (func.coalesce(pages.c.last, 0) != Material.page_count),
            )
            .order_by(Material.id)
        )
    )


def _chunk_drift(session: Session, user_id: int) -> dict[int, int]:
    """Material id -> chunks whose text's SHA-256 is not their stored content hash."""
    actual = func.encode(func.sha256(func.convert_to(Chunk.text, "UTF8")), "hex")
    return dict(
        session.execute(
            select(Chunk.material_id, func.count())
            .where(Chunk.user_id == user_id, actual != Chunk.content_hash)
            .group_by(Chunk.material_id)
        ).all()
    )


def _export_state(
    rt: Runtime, f: ExportFile, job: JobProgress | None, now: dt.datetime
) -> str | None:
    """'expired' or 'stray' for an export file that should go, None for one to keep."""
    if job is None or job.user_id != f.user_id or job.kind != JobKind.EXPORT:
        return "stray"
    if job.outcome in ACTIVE:
        return None  # being written (a partial file) or about to be recorded as done
    if f.partial or job.outcome != "done" or job.dismissed or job.finished_at is None:
        return "stray"
    return "expired" if exports.expires_at(rt, job.finished_at) <= now else None


def _stale_exports(
    rt: Runtime, files: list[ExportFile], exists: bool, now: dt.datetime
) -> dict[str, str]:
    if not exists:
        return {f.name: "stray" for f in files}
    with rt.session_factory() as session:
        jobs = (
            {
                j.id: j
                for j in session.scalars(
                    select(JobProgress).where(JobProgress.id.in_([f.job_id for f in files]))
                )
            }
            if files
            else {}
        )
        states = {f.name: _export_state(rt, f, jobs.get(f.job_id or 0), now) for f in files}
    return {name: state for name, state in states.items() if state}


def _open_paths(
    rt: Runtime,
    user_id: int,
    keep: set[str],
    kept_exports: list[str],
) -> list[Path]:
    """The learner's folder, kept originals and kept exports that others may read (files
    about to be removed as strays are not counted twice)."""
    folder = originals.originals_root(rt) / str(int(user_id))
    paths = [folder, *(folder / n for n in sorted(keep))] if folder.is_dir() else []
    paths += [exports.exports_root(rt) / n for n in kept_exports]
    return [p for p in paths if p.exists() and not is_private(p)]


def _gather(rt: Runtime, user_id: int, names: list[str], disk: _Disk, now: dt.datetime) -> _Learner:
    store = rt.vectors
    with rt.session_factory() as session:
        exists = session.get(User, user_id) is not None
        collection = current_collection(session, user_id)
        statuses = {
            m: (st, sha)
            for m, st, sha in session.execute(
                select(Material.id, Material.status, Material.sha256).where(
                    Material.user_id == user_id
                )
            )
        }
        chunks = {
            c: m
            for c, m in session.execute(
                select(Chunk.id, Chunk.material_id).where(Chunk.user_id == user_id)
            )
        }
        page_drift = _page_drift(session, user_id) if exists else []
        chunk_drift = _chunk_drift(session, user_id) if exists else {}
    files = disk.originals.get(user_id, set())
    known = {f"{sha}.pdf": sha for _, sha in statuses.values()}
    folder = originals.originals_root(rt) / str(int(user_id))
    corrupt = sorted(
        n
        for n in files & set(known)
        if exists and (folder / n).is_file() and _sha256_of(folder / n) != known[n]
    )
    export_files = disk.exports_of(user_id)
    stale = _stale_exports(rt, export_files, exists, now)
    open_paths = (
        _open_paths(
            rt,
            user_id,
            (files & set(known)) - set(corrupt),
            [f.name for f in export_files if f.name not in stale],
        )
        if exists
        else []
    )
    return _Learner(
        user_id=user_id,
        exists=exists,
        collection=collection,
        statuses=statuses,
        chunks=chunks,
        vectors=store.chunk_ids(collection) if exists else {},
        index_model=store.model_of(collection) if exists else None,
        collections=[n for n in names if owner_of(n) == user_id],
        files=files,
        page_drift=page_drift,
        chunk_drift=chunk_drift,
        corrupt=corrupt,
        stale_exports=stale,
        spool=disk.finished_spool.get(user_id, set()),
        open_paths=open_paths,
    )


def _file_drift(s: _Learner) -> list[Drift]:
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


def _drift_of(rt: Runtime, s: _Learner) -> list[Drift]:
    uid = s.user_id
    if not s.exists:
        found = []
        if s.collections:
            found.append(
                Drift(
                    uid, "stray-collection", len(s.collections), "of a learner who no longer exists"
                )
            )
        if s.files:
            found.append(
                Drift(uid, "stray-file", len(s.files), "of a learner who no longer exists")
            )
        return found + _file_drift(s)
    found = []
    half = {st: [m for m, (x, _) in s.statuses.items() if x == st] for st in HALF_DONE}
    for status, ids in half.items():
        if ids:
            found.append(
                Drift(uid, "half-done", len(ids), f"material(s) left '{status}': {sorted(ids)}")
            )
    ready = {m for m, (st, _) in s.statuses.items() if st == "ready"}
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
    return found + _file_drift(s)


def _unclaimed_spool(rt: Runtime, now: dt.datetime) -> list[Path]:
    """Spool files no job refers to, older than UNCLAIMED_SPOOL_AGE."""
    folder = rt.settings.storage.spool_path
    if not folder.is_dir():
        return []
    with rt.session_factory() as session:
        claimed = {
            Path(p).name
            for p in session.scalars(
                select(JobProgress.spool_path).where(JobProgress.spool_path.is_not(None))
            )
            if p is not None
        }
    claimed |= {Path(n).with_suffix(x).name for n in list(claimed) for x in SPOOL_SUFFIXES}
    cutoff = (now - UNCLAIMED_SPOOL_AGE).timestamp()
    # Only names the app gives uploads: the spool folder may be set to a shared folder.
    return sorted(
        p
        for p in folder.iterdir()
        if SPOOL_NAME.match(p.name)
        and p.name not in claimed
        and p.is_file()
        and p.stat().st_mtime < cutoff
    )


def _shared_folders(rt: Runtime) -> list[Path]:
    """The data folder's own folders of learners' files (the spool folder may be a shared
    one, so its mode is left as it is; the app creates it 0700)."""
    return [originals.originals_root(rt), exports.exports_root(rt)]


def _unowned_drift(rt: Runtime, disk: _Disk, now: dt.datetime) -> list[Drift]:
    found = []
    nameless = [f.name for f in disk.exports if f.user_id is None]
    if nameless:
        found.append(Drift(None, "stray-export", len(nameless), ", ".join(nameless)))
    spool = _unclaimed_spool(rt, now)
    if spool:
        found.append(Drift(None, "stray-spool", len(spool), "upload(s) no job refers to"))
    open_folders = [p for p in _shared_folders(rt) if p.is_dir() and not is_private(p)]
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
    disk = _disk(rt, user_id)
    found: list[Drift] = []
    for uid in _learner_ids(rt, user_id, names, disk):
        found += _drift_of(rt, _gather(rt, uid, names, disk, now))
    if user_id is None:
        found += _unowned_drift(rt, disk, now)
    return found


def _remove_stale_files(rt: Runtime, s: _Learner) -> None:
    for name in s.stale_exports:
        exports.remove_export_file(rt, name)
    spool = rt.settings.storage.spool_path
    for name in s.spool:
        remove_spooled(rt, path=spool / name)


def _repair_learner(rt: Runtime, s: _Learner) -> None:
    store = rt.vectors
    _remove_stale_files(rt, s)
    if not s.exists:
        for name in s.collections:
            store.drop(name)
        originals.remove_user_originals(rt, user_id=s.user_id)
        exports.remove_user_exports(rt, user_id=s.user_id)
        return
    for material_id, (status, _) in s.statuses.items():
        if status == "deleting":
            finish_delete(rt, user_id=s.user_id, material_id=material_id)
    if s.chunks and s.index_model != model_label(rt.settings):
        reindex(rt, user_id=s.user_id)
    else:
        _fill_and_prune(rt, s.user_id)
    with rt.session_factory.begin() as session:
        session.execute(
            Material.__table__.update()
            .where(Material.user_id == s.user_id, Material.status == "indexing")
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


def _rebuild_text(rt: Runtime, s: _Learner) -> None:
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
    for path in _unclaimed_spool(rt, now):
        path.unlink(missing_ok=True)
    for folder in _shared_folders(rt):
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
            .where(Chunk.user_id == user_id, Material.status != "deleting")
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
    disk = _disk(rt, user_id)
    for uid in sorted({d.user_id for d in found if d.user_id is not None}):
        _repair_learner(rt, _gather(rt, uid, names, disk, now))
        log.info("drift repaired", extra={"user_id": uid})
    if any(d.user_id is None for d in found):
        _repair_unowned(rt, now)
        log.info("drift of no learner repaired")
    return found
