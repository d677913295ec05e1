"""What PostgreSQL, Chroma and the data folder hold, per learner and of no learner: what the
integrity check compares (see `engine.integrity`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import exports, originals
from engine.db.models import Chunk, JobProgress, Material, MaterialPage, User, VectorIndex
from engine.domain.vocabulary import JobKind, JobState, MaterialStatus
from engine.exports import ExportFile
from engine.jobs.progress import ACTIVE
from engine.private_files import is_private
from engine.retrieval.collections import current_collection
from engine.retrieval.vectors import owner_of
from engine.runtime import Runtime

HALF_DONE = ("indexing", "deleting")
# A spooled upload no job refers to is left alone this long (its job row is written just
# after it, and an upload of the largest allowed file takes seconds).
UNCLAIMED_SPOOL_AGE = dt.timedelta(hours=1)
# engine.jobs.spool: an upload, its PDF password, the vectors of a paused ingestion
SPOOL_NAME = re.compile(r"^[0-9a-f]{32}\.(pdf|apkg|pw|vectors\.npz)$")
SPOOL_SUFFIXES = (".pw", ".vectors.npz")


@dataclass
class Disk:
    """The data folder's learner files, listed once per check."""

    originals: dict[int, set[str]]
    exports: list[ExportFile]
    # learner -> spool file names of that learner's finished jobs still on disk
    finished_spool: dict[int, set[str]]

    def exports_of(self, user_id: int) -> list[ExportFile]:
        return [f for f in self.exports if f.user_id == user_id]


@dataclass
class Learner:
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
        if uid is None or path is None:  # the query reads rows that have both
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


def disk_of(rt: Runtime, user_id: int | None) -> Disk:
    return Disk(
        originals=originals.stored_originals(rt),
        exports=exports.stored_exports(rt),
        finished_spool=_finished_spool(rt, user_id),
    )


def learner_ids(rt: Runtime, user_id: int | None, names: list[str], disk: Disk) -> list[int]:
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
                Material.status == MaterialStatus.READY,
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
    if f.partial or job.outcome != JobState.DONE or job.dismissed or job.finished_at is None:
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


def gather(rt: Runtime, user_id: int, names: list[str], disk: Disk, now: dt.datetime) -> Learner:
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
    return Learner(
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


def unclaimed_spool(rt: Runtime, now: dt.datetime) -> list[Path]:
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
            if p  # the query reads rows that have one
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


def shared_folders(rt: Runtime) -> list[Path]:
    """The data folder's own folders of learners' files (the spool folder may be a shared
    one, so its mode is left as it is; the app creates it 0700)."""
    return [originals.originals_root(rt), exports.exports_root(rt)]
