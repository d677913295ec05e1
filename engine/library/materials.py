"""A learner's materials: list, open, preview, rename and delete them."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.db.models import Chunk, Material, MaterialPage
from engine.domain.language import is_supported
from engine.domain.vocabulary import MaterialStatus
from engine.errors import NotFound
from engine.library.titles import clean_title
from engine.originals import remove_original
from engine.retrieval.collections import current_collection, lock_vectors
from engine.runtime import Runtime
from engine.steps import reached

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaterialInfo:
    id: int
    title: str
    filename: str
    page_count: int
    chunk_count: int
    size_bytes: int
    status: str
    pages_without_text: list[int]
    note: str | None
    created_at: dt.datetime
    embedding_model: str | None
    language: str | None = None  # ISO 639-1; None: stored before languages were detected

    @property
    def offline_supported(self) -> bool:
        """Whether offline questions can be made from it (None: not known yet, assumed)."""
        return self.language is None or is_supported(self.language)

    ocr_pages: list[int] = field(default_factory=list)
    ocr_confidence: float | None = None
    low_confidence_pages: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class PageView:
    number: int
    text: str


def material_info(m: Material) -> MaterialInfo:
    return MaterialInfo(
        id=m.id,
        title=m.title,
        filename=m.filename,
        page_count=m.page_count,
        chunk_count=m.chunk_count,
        size_bytes=m.size_bytes,
        status=m.status,
        pages_without_text=list(m.pages_without_text or []),
        note=m.note,
        created_at=m.created_at,
        embedding_model=m.embedding_model,
        language=m.language,
        ocr_pages=list(m.ocr_pages or []),
        ocr_confidence=m.ocr_confidence,
        low_confidence_pages=list(m.low_confidence_pages or []),
    )


def find_duplicate(rt: Runtime, *, user_id: int, sha256: str) -> MaterialInfo | None:
    """The learner's material made from the file with this SHA-256, if there is one."""
    with rt.session_factory() as session:
        m = session.scalar(
            select(Material).where(Material.user_id == user_id, Material.sha256 == sha256)
        )
        return material_info(m) if m else None


def _owned(session: Session, user_id: int, material_id: int, *, deleting: bool = False) -> Material:
    m = session.scalar(
        select(Material).where(Material.id == material_id, Material.user_id == user_id)
    )
    if m is None or (m.status == MaterialStatus.DELETING and not deleting):
        raise NotFound("That material is not in your library (it may have been deleted).")
    return m


def list_materials(rt: Runtime, *, user_id: int) -> list[MaterialInfo]:
    """The learner's materials, newest first."""
    with rt.session_factory() as session:
        rows = session.scalars(
            select(Material)
            .where(Material.user_id == user_id, Material.status != MaterialStatus.DELETING)
            .order_by(Material.created_at.desc(), Material.id.desc())
        )
        return [material_info(m) for m in rows]


def get_material(rt: Runtime, *, user_id: int, material_id: int) -> MaterialInfo:
    """One of the learner's materials.

    Raises:
        NotFound: not this learner's material, or being deleted.
    """
    with rt.session_factory() as session:
        return material_info(_owned(session, user_id, material_id))


def rename_material(rt: Runtime, *, user_id: int, material_id: int, title: str) -> MaterialInfo:
    """Change a material's title. Raises InvalidInput for an empty or too long title."""
    title = clean_title(title)
    with rt.session_factory.begin() as session:
        m = _owned(session, user_id, material_id)
        m.title = title
        session.flush()
        return material_info(m)


def material_pages(
    rt: Runtime, *, user_id: int, material_id: int, first: int = 1, last: int | None = None
) -> list[PageView]:
    """The text of the material's pages `first`..`last` (1-based, inclusive), for preview."""
    with rt.session_factory() as session:
        _owned(session, user_id, material_id)
        q = (
            select(MaterialPage.number, MaterialPage.text)
            .where(
                MaterialPage.material_id == material_id,
                MaterialPage.user_id == user_id,
                MaterialPage.number >= first,
            )
            .order_by(MaterialPage.number)
        )
        if last is not None:
            q = q.where(MaterialPage.number <= last)
        return [PageView(number=n, text=t) for n, t in session.execute(q)]


def delete_material(rt: Runtime, *, user_id: int, material_id: int) -> None:
    """Delete a material, its pages, chunks, vectors and original file.

    The material is first marked 'deleting' (from then on it is neither listed nor searched),
    then its vectors go, then its rows, then the file: a crash in between leaves a 'deleting'
    material (or a stray file) that `python -m engine check --repair` finishes removing.
    """
    with rt.session_factory.begin() as session:
        m = _owned(session, user_id, material_id, deleting=True)
        m.status = MaterialStatus.DELETING
    reached("delete:marked")
    try:
        _delete_vectors(rt, user_id, material_id)
    except BaseException:
        # A failure (not a crash): the rows are intact, so the material stays in the library.
        with rt.session_factory.begin() as session:
            session.execute(
                Material.__table__.update()
                .where(Material.id == material_id, Material.status == MaterialStatus.DELETING)
                .values(status=MaterialStatus.READY)
            )
        raise
    finish_delete(rt, user_id=user_id, material_id=material_id)
    log.info("material deleted", extra={"user_id": user_id, "material_id": material_id})


def finish_delete(
    rt: Runtime, *, user_id: int, material_id: int, keep_original: bool = False
) -> None:
    """Remove the vectors, rows and file of a material marked 'deleting' (idempotent)."""
    _delete_vectors(rt, user_id, material_id)
    reached("delete:vectors-removed")
    with rt.session_factory.begin() as session:
        sha256 = session.scalar(
            select(Material.sha256).where(
                Material.id == material_id,
                Material.user_id == user_id,
                Material.status == MaterialStatus.DELETING,
            )
        )
        if sha256 is None:
            return
        session.execute(
            delete(Chunk).where(Chunk.material_id == material_id, Chunk.user_id == user_id)
        )
        session.execute(delete(MaterialPage).where(MaterialPage.material_id == material_id))
        session.execute(delete(Material).where(Material.id == material_id))
    reached("delete:rows-removed")
    if not keep_original:
        remove_original(rt, user_id=user_id, sha256=sha256)


def _delete_vectors(rt: Runtime, user_id: int, material_id: int) -> None:
    with rt.session_factory.begin() as session:
        lock_vectors(session, user_id)
        rt.vectors.delete_material(current_collection(session, user_id), material_id=material_id)
