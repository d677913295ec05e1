"""The library service: ingest PDFs, list/rename/delete/preview materials, search them.

PostgreSQL holds materials, pages and chunks (the source of truth); Chroma holds one vector
per chunk; the data folder keeps the original PDFs. The writes are ordered so that a crash at
any point leaves a state that is complete or that `python -m engine check --repair`
(`engine.integrity`) completes:

- ingest: original file -> rows committed as 'indexing' -> vectors -> 'ready';
- delete: 'deleting' committed -> vectors removed -> rows removed -> original removed;
- rebuild: a new collection filled -> the pointer in PostgreSQL switched -> old one dropped.

Materials that are not 'ready' are never searched; 'deleting' ones are not listed either. A
failure (rather than a crash) undoes the half-done write at once, so a refused or failed file
leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from engine.db.models import Chunk, Material, MaterialPage
from engine.errors import InvalidInput, NotFound, PdfNoText, PdfTooLarge
from engine.ingestion.chunking import chunk_pages, document_text
from engine.ingestion.cleaning import TEXT_PIPELINE_VERSION
from engine.ingestion.pdf import describe_pages, read_pdf
from engine.originals import remove_original, save_original
from engine.retrieval.collections import current_collection, lock_vectors, switch_collection
from engine.retrieval.embeddings import Embedder, get_embedder, model_label
from engine.retrieval.lexical import lexical_tokens
from engine.retrieval.search import Passage, search
from engine.retrieval.vectors import VectorStore, get_vector_store, new_collection_name
from engine.runtime import Runtime
from engine.steps import reached

log = logging.getLogger(__name__)

TITLE_MAX = 300


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


@dataclass(frozen=True)
class IngestResult:
    material: MaterialInfo
    duplicate: bool  # the same file was already in this learner's library


@dataclass(frozen=True)
class IngestProgress:
    """Where an ingestion is: stage is 'reading', 'embedding', 'saving' or 'done'."""

    stage: str
    pages_read: int
    page_count: int
    chunks_indexed: int
    chunk_count: int


ProgressCallback = Callable[[IngestProgress], None]


@dataclass(frozen=True)
class PageView:
    number: int
    text: str


def _info(m: Material) -> MaterialInfo:
    return MaterialInfo(
        id=m.id, title=m.title, filename=m.filename, page_count=m.page_count,
        chunk_count=m.chunk_count, size_bytes=m.size_bytes, status=m.status,
        pages_without_text=list(m.pages_without_text or []), note=m.note,
        created_at=m.created_at, embedding_model=m.embedding_model,
    )


# --- titles ---------------------------------------------------------------------------------

_JUNK_TITLE = re.compile(
    r"^(untitled|title|document|microsoft word\b.*|.*\.(docx?|pdf|tex|dvi|indd|qxd)|"
    r"slide \d+|\W*)$", re.IGNORECASE,
)


_DANGLING = frozenset("""a an and as at by for from in into of on or the to with via versus vs
""".split())


def _fit(title: str) -> str:
    """Collapse spaces and fit within TITLE_MAX at a word boundary."""
    title = " ".join(title.split())
    if len(title) <= TITLE_MAX:
        return title
    return title[:TITLE_MAX].rsplit(" ", 1)[0].rstrip(" ,;:-")


def _first_lines_title(page: str) -> str | None:
    """The first line with words, continued over lines while it ends mid-phrase."""
    lines = [" ".join(ln.split()) for ln in page.split("\n")[:10]]
    lines = [ln for ln in lines if ln]
    for i, line in enumerate(lines):
        if sum(c.isalpha() for c in line) < 4 or len(line) > 150:
            continue
        title = line
        for nxt in lines[i + 1:i + 4]:
            last = title.split()[-1].casefold()
            dangling = last in _DANGLING or title.endswith((":", "-", ","))
            # A long first line wrapped onto a short capitalised one ("... for Dynamic" /
            # "Languages"), not onto an author line or a sentence.
            wrapped = (len(title) >= 40 and 1 <= len(nxt.split()) <= 3 and nxt[:1].isupper()
                       and not re.search(r"[,.;@\d]", nxt))
            if not (dangling or wrapped):
                break
            title = f"{title} {nxt}"
        return title
    return None


def choose_title(meta_title: str | None, pages: list[str], filename: str,
                 title_lines: list[str] | None = None) -> str:
    """The document's full title: its metadata title when meaningful, else the first page's
    largest-font lines, else its first lines (never cut mid-phrase), else the file name."""
    largest = " ".join(" ".join(title_lines or []).split())
    if meta_title:
        t = " ".join(meta_title.split())
        if len(t) >= 3 and not _JUNK_TITLE.match(t):
            # The metadata can hold a truncated title: prefer the page's fuller one.
            if (largest.casefold().startswith(t.casefold()) and len(largest) > len(t)
                    and len(largest.split()) <= len(t.split()) + 6 and len(largest) <= 200
                    and not largest.endswith(".")):
                return _fit(largest)
            return _fit(t)
    if (sum(c.isalpha() for c in largest) >= 4 and 2 <= len(largest.split()) <= 30
            and not largest.endswith(".")):
        return _fit(largest)
    for page in pages[:2]:
        found = _first_lines_title(page)
        if found:
            return _fit(found)
    stem = Path(filename).stem.replace("_", " ").strip()
    return _fit(stem or "Untitled material")


def _clean_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise InvalidInput("Enter a title.")
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"Keep the title to {TITLE_MAX} characters or fewer.")
    return title


# --- ingestion ------------------------------------------------------------------------------


def find_duplicate(session_factory: sessionmaker[Session], *, user_id: int,
                   sha256: str) -> MaterialInfo | None:
    with session_factory() as session:
        m = session.scalar(select(Material).where(Material.user_id == user_id,
                                                  Material.sha256 == sha256))
        return _info(m) if m else None


def ingest_pdf(
    rt: Runtime,
    *,
    user_id: int,
    data: bytes,
    filename: str,
    password: str | None = None,
    title: str | None = None,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """Read a PDF, chunk it, embed it and store it for this learner.

    The same file (same SHA-256) uploaded again by the same learner is not stored twice: the
    existing material is returned with `duplicate=True`.

    Args:
        rt: the runtime (settings, database).
        user_id: the learner who owns the material.
        data: the PDF's bytes.
        filename: the uploaded file's name (shown, and a last-resort title).
        password: for encrypted PDFs.
        title: overrides the title taken from the PDF.
        progress: called as pages are read and chunks indexed.

    Returns:
        The stored (or already present) material.

    Raises:
        PdfTooLarge, PdfEncrypted, PdfMalformed, PdfNoText: the file is refused; nothing
            was stored.
        VectorStoreUnavailable: Chroma failed; nothing was stored.
    """
    s = rt.settings
    if len(data) > s.ingestion.upload_max_mb * 1024 * 1024:
        raise PdfTooLarge(f"This file is larger than the {s.ingestion.upload_max_mb} MB limit.")
    sha256 = hashlib.sha256(data).hexdigest()
    existing = find_duplicate(rt.session_factory, user_id=user_id, sha256=sha256)
    if existing is not None and existing.status == "deleting":
        finish_delete(rt, user_id=user_id, material_id=existing.id)  # a crashed delete
    elif existing is not None:
        return IngestResult(material=existing, duplicate=True)

    def on_page(read: int, total: int) -> None:
        if progress:
            progress(IngestProgress("reading", read, total, 0, 0))

    pdf = read_pdf(data, settings=s, password=password, on_page=on_page)
    note = None
    if pdf.pages_without_text:
        note = (f"No text could be read on {describe_pages(pdf.pages_without_text)} "
                "(scanned, image-only or unreadable); those pages are not searchable.")
    save_original(s, user_id, sha256, data)
    reached("ingest:original-saved")
    try:
        result = ingest_pages(
        rt, user_id=user_id, pages=pdf.pages,
        title=title or choose_title(pdf.title, pdf.pages, filename, pdf.title_lines),
        filename=filename, sha256=sha256, size_bytes=len(data),
            pages_without_text=pdf.pages_without_text, note=note, progress=progress,
        )
    except BaseException:
        if find_duplicate(rt.session_factory, user_id=user_id, sha256=sha256) is None:
            remove_original(s, user_id, sha256)
        raise
    return result


def ingest_pages(
    rt: Runtime,
    *,
    user_id: int,
    pages: list[str],
    title: str,
    filename: str,
    sha256: str,
    size_bytes: int,
    pages_without_text: list[int] | None = None,
    note: str | None = None,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """Chunk, embed and store already-extracted page texts (the second half of `ingest_pdf`)."""
    doc = DocumentInput(pages=pages, title=title, filename=filename, sha256=sha256,
                        size_bytes=size_bytes, pages_without_text=pages_without_text or [],
                        note=note)
    page_count = len(pages)

    def report(done: int, total: int, stage: str = "embedding") -> None:
        if progress:
            progress(IngestProgress(stage, page_count, page_count, done, total))

    result = ingest_documents(rt, user_id=user_id, documents=[doc], on_chunks=report)[0]
    if isinstance(result, Exception):
        raise result
    report(result.material.chunk_count, result.material.chunk_count, "done")
    return result


@dataclass(frozen=True)
class DocumentInput:
    """Extracted text ready for chunking: one entry per page."""

    pages: list[str]
    title: str
    filename: str
    sha256: str
    size_bytes: int
    pages_without_text: list[int]
    note: str | None = None


def ingest_documents(
    rt: Runtime,
    *,
    user_id: int,
    documents: list[DocumentInput],
    on_chunks: Callable[[int, int], None] | None = None,
) -> list[IngestResult | PdfNoText]:
    """Chunk, embed (in batches across documents) and store several documents, each as its own
    material with its own all-or-nothing write. A document without text gives a `PdfNoText`
    in its place; storage failures raise.
    """
    s = rt.settings
    prepared = []
    for doc in documents:
        drafts = chunk_pages(doc.pages, chunk_tokens=s.ingestion.chunk_tokens,
                             overlap_tokens=s.ingestion.chunk_overlap_tokens)
        prepared.append(drafts)
    texts = [d.text for drafts in prepared for d in drafts]
    embedder = get_embedder(s)
    step = max(1, s.embedding.batch_size) * 4
    parts = []
    if on_chunks:
        on_chunks(0, len(texts))
    for start in range(0, len(texts), step):
        parts.append(embedder.embed_documents(texts[start:start + step]))
        if on_chunks:
            on_chunks(min(len(texts), start + step), len(texts))
    vectors = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)

    results: list[IngestResult | PdfNoText] = []
    offset = 0
    for doc, drafts in zip(documents, prepared, strict=True):
        if not drafts:
            results.append(PdfNoText("This PDF has no text that can be read."))
            continue
        title = _clean_title(doc.title)
        lexical = [" ".join(lexical_tokens(d.text)) for d in drafts]
        doc_vectors = vectors[offset:offset + len(drafts)]
        offset += len(drafts)
        material = _store(rt, user_id=user_id, pages=doc.pages, title=title,
                          filename=doc.filename, sha256=doc.sha256, size_bytes=doc.size_bytes,
                          pages_without_text=doc.pages_without_text, note=doc.note,
                          drafts=drafts, lexical=lexical, vectors=doc_vectors,
                          model=embedder.model_name)
        if material is None:  # the same file was stored concurrently
            existing = find_duplicate(rt.session_factory, user_id=user_id, sha256=doc.sha256)
            assert existing is not None
            results.append(IngestResult(material=existing, duplicate=True))
            continue
        log.info("material ingested", extra={"user_id": user_id, "material_id": material.id,
                                             "pages": len(doc.pages), "chunks": len(drafts)})
        results.append(IngestResult(material=material, duplicate=False))
    return results


def _store(rt: Runtime, *, user_id, pages, title, filename, sha256, size_bytes,  # noqa: ANN001
           pages_without_text, note, drafts, lexical, vectors, model) -> MaterialInfo | None:
    """Rows (committed as 'indexing'), then vectors, then 'ready'. None when the file is
    already stored. On failure the half-written material is removed again."""
    try:
        with rt.session_factory.begin() as session:
            material = Material(
                user_id=user_id, title=title, filename=filename[:300], sha256=sha256,
                size_bytes=size_bytes, page_count=len(pages), chunk_count=len(drafts),
                status="indexing", pages_without_text=pages_without_text, note=note,
                embedding_model=model, text_version=TEXT_PIPELINE_VERSION,
            )
            session.add(material)
            session.flush()
            material_id = material.id
            _, offsets = document_text(pages)
            session.execute(insert(MaterialPage), [
                {"material_id": material_id, "number": i + 1, "user_id": user_id,
                 "text": text, "char_start": offsets[i]} for i, text in enumerate(pages)
            ])
            chunk_ids = list(session.scalars(
                insert(Chunk).returning(Chunk.id, sort_by_parameter_order=True),
                [{"user_id": user_id, "material_id": material_id, "ordinal": d.ordinal,
                  "text": d.text, "page_start": d.page_start, "page_end": d.page_end,
                  "char_start": d.char_start, "char_end": d.char_end, "heading": d.heading,
                  "token_count": d.token_count, "content_hash": d.content_hash,
                  "lexical": lex} for d, lex in zip(drafts, lexical, strict=True)],
            ))
    except IntegrityError as e:
        if "uq_materials_user_sha256" in str(e.orig):
            return None
        raise
    reached("ingest:rows-committed")
    try:
        with rt.session_factory.begin() as session:
            lock_vectors(session, user_id)
            get_vector_store(rt.settings).add(
                current_collection(session, user_id), user_id=user_id, chunk_ids=chunk_ids,
                material_ids=[material_id] * len(chunk_ids), embeddings=vectors, model=model)
            reached("ingest:vectors-written")
            m = session.get_one(Material, material_id)
            m.status = "ready"
            session.flush()
            return _info(m)
    except BaseException:
        _abandon(rt, user_id, material_id)
        raise


def _abandon(rt: Runtime, user_id: int, material_id: int) -> None:
    """Remove a material whose ingestion failed (left 'deleting' for `check --repair` when
    even that fails, e.g. while the vector store is down)."""
    try:
        with rt.session_factory.begin() as session:
            session.execute(Material.__table__.update().where(Material.id == material_id)
                            .values(status="deleting"))
        finish_delete(rt, user_id=user_id, material_id=material_id, keep_original=True)
    except Exception:  # logged: the material is invisible; `check --repair` finishes it
        log.exception("could not remove a failed ingestion",
                      extra={"user_id": user_id, "material_id": material_id})


# --- materials ------------------------------------------------------------------------------


def _owned(session: Session, user_id: int, material_id: int, *,
           deleting: bool = False) -> Material:
    m = session.scalar(select(Material).where(Material.id == material_id,
                                              Material.user_id == user_id))
    if m is None or (m.status == "deleting" and not deleting):
        raise NotFound("That material is not in your library (it may have been deleted).")
    return m


def list_materials(session_factory: sessionmaker[Session], *, user_id: int) -> list[MaterialInfo]:
    """The learner's materials, newest first."""
    with session_factory() as session:
        rows = session.scalars(select(Material).where(Material.user_id == user_id,
                                                      Material.status != "deleting")
                               .order_by(Material.created_at.desc(), Material.id.desc()))
        return [_info(m) for m in rows]


def get_material(session_factory: sessionmaker[Session], *, user_id: int,
                 material_id: int) -> MaterialInfo:
    with session_factory() as session:
        return _info(_owned(session, user_id, material_id))


def rename_material(session_factory: sessionmaker[Session], *, user_id: int, material_id: int,
                    title: str) -> MaterialInfo:
    """Change a material's title. Raises InvalidInput for an empty or too long title."""
    title = _clean_title(title)
    with session_factory.begin() as session:
        m = _owned(session, user_id, material_id)
        m.title = title
        session.flush()
        return _info(m)


def material_pages(session_factory: sessionmaker[Session], *, user_id: int, material_id: int,
                   first: int = 1, last: int | None = None) -> list[PageView]:
    """The text of the material's pages `first`..`last` (1-based, inclusive), for preview."""
    with session_factory() as session:
        _owned(session, user_id, material_id)
        q = (select(MaterialPage.number, MaterialPage.text)
             .where(MaterialPage.material_id == material_id, MaterialPage.user_id == user_id,
                    MaterialPage.number >= first).order_by(MaterialPage.number))
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
        m.status = "deleting"
    reached("delete:marked")
    try:
        _delete_vectors(rt, user_id, material_id)
    except BaseException:
        # A failure (not a crash): the rows are intact, so the material stays in the library.
        with rt.session_factory.begin() as session:
            session.execute(Material.__table__.update().where(
                Material.id == material_id, Material.status == "deleting").values(status="ready"))
        raise
    finish_delete(rt, user_id=user_id, material_id=material_id)
    log.info("material deleted", extra={"user_id": user_id, "material_id": material_id})


def finish_delete(rt: Runtime, *, user_id: int, material_id: int,
                  keep_original: bool = False) -> None:
    """Remove the vectors, rows and file of a material marked 'deleting' (idempotent)."""
    _delete_vectors(rt, user_id, material_id)
    reached("delete:vectors-removed")
    with rt.session_factory.begin() as session:
        sha256 = session.scalar(select(Material.sha256).where(
            Material.id == material_id, Material.user_id == user_id,
            Material.status == "deleting"))
        if sha256 is None:
            return
        session.execute(delete(Chunk).where(Chunk.material_id == material_id,
                                            Chunk.user_id == user_id))
        session.execute(delete(MaterialPage).where(MaterialPage.material_id == material_id))
        session.execute(delete(Material).where(Material.id == material_id))
    reached("delete:rows-removed")
    if not keep_original:
        remove_original(rt.settings, user_id, sha256)


def _delete_vectors(rt: Runtime, user_id: int, material_id: int) -> None:
    with rt.session_factory.begin() as session:
        lock_vectors(session, user_id)
        get_vector_store(rt.settings).delete_material(current_collection(session, user_id),
                                                      material_id=material_id)


# --- search and index upkeep ----------------------------------------------------------------


def search_library(rt: Runtime, *, user_id: int, query: str, k: int = 8,
                   material_ids: list[int] | None = None) -> list[Passage]:
    """`engine.retrieval.search` with its own session, for pages and the CLI."""
    if len(query.strip()) == 0:
        raise InvalidInput("Type something to search for.")
    with rt.session_factory() as session:
        return search(session, user_id=user_id, query=query, k=k, material_ids=material_ids,
                      settings=rt.settings)


def index_model(rt: Runtime, *, user_id: int) -> str | None:
    """The embedding model of the learner's index in use (None when there is none)."""
    with rt.session_factory() as session:
        name = current_collection(session, user_id)
    return get_vector_store(rt.settings).model_of(name)


def vector_count(rt: Runtime, *, user_id: int) -> int:
    """How many vectors the learner's index in use holds."""
    with rt.session_factory() as session:
        name = current_collection(session, user_id)
    return get_vector_store(rt.settings).count(name)


def index_is_current(rt: Runtime, *, user_id: int) -> bool:
    """False when the learner's vectors were built by another embedding model than configured."""
    store = get_vector_store(rt.settings)
    with rt.session_factory() as session:
        has_chunks = session.scalar(select(Chunk.id).where(Chunk.user_id == user_id).limit(1))
        name = current_collection(session, user_id)
    if has_chunks is None:
        return True
    return store.model_of(name) == model_label(rt.settings)


def _live_chunks(session: Session, user_id: int) -> list[tuple[int, int, str]]:
    """(chunk id, material id, text) of every chunk whose material is not being deleted."""
    return [tuple(r) for r in session.execute(
        select(Chunk.id, Chunk.material_id, Chunk.text)
        .join(Material, Material.id == Chunk.material_id)
        .where(Chunk.user_id == user_id, Material.status != "deleting").order_by(Chunk.id))]


def embed_into(store: VectorStore, embedder: Embedder, name: str, *, user_id: int,
               rows: list[tuple[int, int, str]], batch: int,
               progress: Callable[[int, int], None] | None = None) -> None:
    """Embed these chunk rows and store their vectors in the collection `name`."""
    total = len(rows)
    for start in range(0, total, batch):
        part = rows[start:start + batch]
        store.add(name, user_id=user_id, chunk_ids=[r[0] for r in part],
                  material_ids=[r[1] for r in part],
                  embeddings=embedder.embed_documents([r[2] for r in part]),
                  model=embedder.model_name)
        if progress:
            progress(min(total, start + batch), total)


def reindex(rt: Runtime, *, user_id: int,
            progress: Callable[[int, int], None] | None = None) -> int:
    """Re-embed all of a learner's chunks with the configured model; returns the chunk count.

    The vectors are built in a new collection; the pointer in PostgreSQL switches to it only
    when it is complete (under the learner's vector lock, after catching up with materials
    added or deleted meanwhile), and the old collection is dropped last. An interrupted
    rebuild leaves the previous (still searchable) index in use.
    """
    store = get_vector_store(rt.settings)
    embedder = get_embedder(rt.settings)
    batch = max(1, rt.settings.embedding.batch_size) * 4
    with rt.session_factory() as session:
        old = current_collection(session, user_id)
        rows = _live_chunks(session, user_id)
    new = new_collection_name(user_id)
    store.create(new, model=embedder.model_name)
    try:
        if progress:
            progress(0, len(rows))
        embed_into(store, embedder, new, user_id=user_id, rows=rows, batch=batch,
                   progress=progress)
        reached("rebuild:collection-filled")
        with rt.session_factory.begin() as session:
            lock_vectors(session, user_id)
            live = {r[0]: r for r in _live_chunks(session, user_id)}
            have = store.chunk_ids(new)
            embed_into(store, embedder, new, user_id=user_id, batch=batch,
                       rows=[r for cid, r in live.items() if cid not in have])
            store.delete_chunks(new, chunk_ids=[c for c in have if c not in live])
            switch_collection(session, user_id, new)
            session.execute(Material.__table__.update().where(Material.user_id == user_id)
                            .values(embedding_model=embedder.model_name))
    except BaseException:
        store.drop(new)
        raise
    reached("rebuild:pointer-switched")
    if old != new:
        store.drop(old)
    return len(live)
