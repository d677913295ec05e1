"""The library service: ingest PDFs, list/rename/delete/preview materials, search them.

PostgreSQL holds materials, pages and chunks (the source of truth); Chroma holds one vector
per chunk. Every write keeps the two consistent: vectors are written while the database
transaction is still open and only then is it committed; a failure at any step rolls the
transaction back and removes any vectors already written, so a refused or failed file leaves
nothing behind.
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

from engine.db.models import Chunk, Material, MaterialPage, Question
from engine.errors import InvalidInput, NotFound, PdfNoText, PdfTooLarge
from engine.ingestion.chunking import chunk_pages, document_text
from engine.ingestion.cleaning import TEXT_PIPELINE_VERSION, clean_pages
from engine.ingestion.pdf import describe_pages, read_pdf
from engine.retrieval.embeddings import get_embedder, model_label
from engine.retrieval.lexical import lexical_tokens
from engine.retrieval.search import Passage, search
from engine.retrieval.vectors import get_vector_store
from engine.runtime import Runtime

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
    if len(data) > s.upload_max_mb * 1024 * 1024:
        raise PdfTooLarge(f"This file is larger than the {s.upload_max_mb} MB limit.")
    sha256 = hashlib.sha256(data).hexdigest()
    existing = find_duplicate(rt.session_factory, user_id=user_id, sha256=sha256)
    if existing is not None:
        return IngestResult(material=existing, duplicate=True)

    def on_page(read: int, total: int) -> None:
        if progress:
            progress(IngestProgress("reading", read, total, 0, 0))

    pdf = read_pdf(data, settings=s, password=password, on_page=on_page)
    note = None
    if pdf.pages_without_text:
        note = (f"No text could be read on {describe_pages(pdf.pages_without_text)} "
                "(scanned, image-only or unreadable); those pages are not searchable.")
    return ingest_pages(
        rt, user_id=user_id, pages=pdf.pages,
        title=title or choose_title(pdf.title, pdf.pages, filename, pdf.title_lines),
        filename=filename, sha256=sha256, size_bytes=len(data),
        pages_without_text=pdf.pages_without_text, note=note, progress=progress,
    )


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
        drafts = chunk_pages(doc.pages, chunk_tokens=s.chunk_tokens,
                             overlap_tokens=s.chunk_overlap_tokens)
        prepared.append(drafts)
    texts = [d.text for drafts in prepared for d in drafts]
    embedder = get_embedder(s)
    step = max(1, s.embedding_batch_size) * 4
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
    """Write rows and vectors; both or neither. None when the file is already stored."""
    store = get_vector_store(rt.settings)
    chunk_ids: list[int] = []
    try:
        with rt.session_factory() as session:
            with session.begin():
                material = Material(
                    user_id=user_id, title=title, filename=filename[:300], sha256=sha256,
                    size_bytes=size_bytes, page_count=len(pages), chunk_count=len(drafts),
                    status="ready", pages_without_text=pages_without_text, note=note,
                    embedding_model=model, text_version=TEXT_PIPELINE_VERSION,
                )
                session.add(material)
                session.flush()
                _, offsets = document_text(pages)
                session.execute(insert(MaterialPage), [
                    {"material_id": material.id, "number": i + 1, "user_id": user_id,
                     "text": text, "char_start": offsets[i]} for i, text in enumerate(pages)
                ])
                chunk_ids = list(session.scalars(
                    insert(Chunk).returning(Chunk.id, sort_by_parameter_order=True),
                    [{"user_id": user_id, "material_id": material.id, "ordinal": d.ordinal,
                      "text": d.text, "page_start": d.page_start, "page_end": d.page_end,
                      "char_start": d.char_start, "char_end": d.char_end, "heading": d.heading,
                      "token_count": d.token_count, "content_hash": d.content_hash,
                      "lexical": lex} for d, lex in zip(drafts, lexical, strict=True)],
                ))
                store.add(user_id=user_id, material_id=material.id, chunk_ids=chunk_ids,
                          embeddings=vectors, model=model)
                info = _info(material)
            # leaving `begin()` committed the transaction
            return info
    except IntegrityError as e:
        _undo_vectors(store, user_id, chunk_ids)
        if "uq_materials_user_sha256" in str(e.orig):
            return None
        raise
    except BaseException:
        _undo_vectors(store, user_id, chunk_ids)
        raise


def _undo_vectors(store, user_id: int, chunk_ids: list[int]) -> None:  # noqa: ANN001
    if not chunk_ids:
        return
    try:
        store.delete_chunks(user_id=user_id, chunk_ids=chunk_ids)
    except Exception:  # logged: the rows were rolled back, stray vectors are never returned
        log.exception("could not remove vectors of a failed ingestion",
                      extra={"user_id": user_id, "chunks": len(chunk_ids)})


# --- materials ------------------------------------------------------------------------------


def _owned(session: Session, user_id: int, material_id: int) -> Material:
    m = session.scalar(select(Material).where(Material.id == material_id,
                                              Material.user_id == user_id))
    if m is None:
        raise NotFound("That material is not in your library (it may have been deleted).")
    return m


def list_materials(session_factory: sessionmaker[Session], *, user_id: int) -> list[MaterialInfo]:
    """The learner's materials, newest first."""
    with session_factory() as session:
        rows = session.scalars(select(Material).where(Material.user_id == user_id)
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
    """Delete a material, its pages, chunks and vectors; all or nothing."""
    store = get_vector_store(rt.settings)
    removed: tuple[list[int], object] | None = None
    model = model_label(rt.settings)
    try:
        with rt.session_factory() as session:
            with session.begin():
                m = _owned(session, user_id, material_id)
                model = m.embedding_model or model
                session.execute(delete(Chunk).where(Chunk.material_id == material_id,
                                                    Chunk.user_id == user_id))
                session.execute(delete(MaterialPage).where(
                    MaterialPage.material_id == material_id))
                session.delete(m)
                session.flush()
                ids, vectors = store.get_material(user_id=user_id, material_id=material_id)
                store.delete_material(user_id=user_id, material_id=material_id)
                removed = (ids, vectors)
    except BaseException:
        if removed is not None and removed[0]:
            # The rows are back (rolled back): put their vectors back too.
            store.add(user_id=user_id, material_id=material_id, chunk_ids=removed[0],
                      embeddings=removed[1], model=model)
        raise
    log.info("material deleted", extra={"user_id": user_id, "material_id": material_id})


# --- search and index upkeep ----------------------------------------------------------------


def search_library(rt: Runtime, *, user_id: int, query: str, k: int = 8,
                   material_ids: list[int] | None = None) -> list[Passage]:
    """`engine.retrieval.search` with its own session, for pages and the CLI."""
    if len(query.strip()) == 0:
        raise InvalidInput("Type something to search for.")
    with rt.session_factory() as session:
        return search(session, user_id=user_id, query=query, k=k, material_ids=material_ids,
                      settings=rt.settings)


def index_is_current(rt: Runtime, *, user_id: int) -> bool:
    """False when the learner's vectors were built by another embedding model than configured."""
    store = get_vector_store(rt.settings)
    with rt.session_factory() as session:
        has_chunks = session.scalar(select(Chunk.id).where(Chunk.user_id == user_id).limit(1))
    if has_chunks is None:
        return True
    return store.model_of(user_id) == model_label(rt.settings)


def reindex(rt: Runtime, *, user_id: int,
            progress: Callable[[int, int], None] | None = None) -> int:
    """Re-embed all of a learner's chunks with the configured model; returns the chunk count.

    The new vectors are built beside the old ones and replace them only when complete, so an
    interrupted rebuild leaves the previous (still searchable) index in place.
    """
    store = get_vector_store(rt.settings)
    embedder = get_embedder(rt.settings)
    with rt.session_factory() as session:
        rows = session.execute(select(Chunk.id, Chunk.material_id, Chunk.text)
                               .where(Chunk.user_id == user_id).order_by(Chunk.id)).all()
    total = len(rows)
    step = max(1, rt.settings.embedding_batch_size) * 4
    with store.rebuild(user_id=user_id, model=embedder.model_name) as staging:
        for start in range(0, total, step):
            part = rows[start:start + step]
            vectors = embedder.embed_documents([r[2] for r in part])
            staging.add(chunk_ids=[r[0] for r in part], material_ids=[r[1] for r in part],
                        embeddings=vectors)
            if progress:
                progress(min(total, start + step), total)
    with rt.session_factory.begin() as session:
        session.execute(Material.__table__.update().where(Material.user_id == user_id)
                        .values(embedding_model=embedder.model_name))
    return total


# --- text pipeline upgrades -----------------------------------------------------------------


def outdated_materials(session_factory: sessionmaker[Session], *,
                       user_id: int | None = None) -> list[tuple[int, int]]:
    """(user id, material id) of materials made by an older text pipeline version."""
    q = select(Material.user_id, Material.id).where(
        Material.text_version < TEXT_PIPELINE_VERSION).order_by(Material.user_id, Material.id)
    if user_id is not None:
        q = q.where(Material.user_id == user_id)
    with session_factory() as session:
        return [(u, m) for u, m in session.execute(q)]


def reclean_material(rt: Runtime, *, user_id: int, material_id: int,
                     progress: Callable[[int, int], None] | None = None) -> int:
    """Re-clean a material's stored page text with the current pipeline, re-chunk and re-embed
    it; returns the new chunk count. All or nothing: rows and vectors change together, and
    questions keep pointing at the chunk that now holds their page and excerpt.
    """
    s = rt.settings
    with rt.session_factory() as session:
        m = _owned(session, user_id, material_id)
        raw = [t for (t,) in session.execute(
            select(MaterialPage.text).where(MaterialPage.material_id == material_id,
                                            MaterialPage.user_id == user_id)
            .order_by(MaterialPage.number))]
        without = set(m.pages_without_text or [])
    pages, unreadable = clean_pages(raw)
    without |= set(unreadable) | {i + 1 for i, p in enumerate(pages) if not p.strip()}
    drafts = chunk_pages(pages, chunk_tokens=s.chunk_tokens, overlap_tokens=s.chunk_overlap_tokens)
    if not drafts:
        raise PdfNoText("After cleaning, this material has no usable text left.")
    embedder = get_embedder(s)
    step = max(1, s.embedding_batch_size) * 4
    parts = []
    for start in range(0, len(drafts), step):
        parts.append(embedder.embed_documents([d.text for d in drafts[start:start + step]]))
        if progress:
            progress(min(len(drafts), start + step), len(drafts))
    vectors = np.concatenate(parts)
    lexical = [" ".join(lexical_tokens(d.text)) for d in drafts]
    _replace_chunks(rt, user_id=user_id, material_id=material_id, pages=pages,
                    without=sorted(without), drafts=drafts, lexical=lexical, vectors=vectors,
                    model=embedder.model_name)
    return len(drafts)


def _replace_chunks(rt: Runtime, *, user_id, material_id, pages, without,  # noqa: ANN001
                    drafts, lexical, vectors, model) -> None:
    store = get_vector_store(rt.settings)
    old_ids, old_vectors = store.get_material(user_id=user_id, material_id=material_id)
    new_ids: list[int] = []
    try:
        with rt.session_factory.begin() as session:
            m = _owned(session, user_id, material_id)
            _, offsets = document_text(pages)
            # Old chunks step aside (ordinals must be unique) until the new ones are linked.
            session.execute(Chunk.__table__.update().where(
                Chunk.material_id == material_id, Chunk.user_id == user_id)
                .values(ordinal=-Chunk.ordinal - 1))
            for i, text in enumerate(pages):
                session.execute(MaterialPage.__table__.update().where(
                    MaterialPage.material_id == material_id, MaterialPage.number == i + 1)
                    .values(text=text, char_start=offsets[i]))
            new_ids = list(session.scalars(
                insert(Chunk).returning(Chunk.id, sort_by_parameter_order=True),
                [{"user_id": user_id, "material_id": material_id, "ordinal": d.ordinal,
                  "text": d.text, "page_start": d.page_start, "page_end": d.page_end,
                  "char_start": d.char_start, "char_end": d.char_end, "heading": d.heading,
                  "token_count": d.token_count, "content_hash": d.content_hash,
                  "lexical": lex} for d, lex in zip(drafts, lexical, strict=True)]))
            _relink_questions(session, user_id, material_id, drafts, new_ids)
            session.execute(delete(Chunk).where(Chunk.material_id == material_id,
                                                Chunk.user_id == user_id,
                                                Chunk.id.not_in(new_ids)))
            m.chunk_count, m.pages_without_text = len(drafts), without
            m.text_version, m.embedding_model = TEXT_PIPELINE_VERSION, model
            store.delete_material(user_id=user_id, material_id=material_id)
            store.add(user_id=user_id, material_id=material_id, chunk_ids=new_ids,
                      embeddings=vectors, model=model)
    except BaseException:
        _undo_vectors(store, user_id, new_ids)
        if old_ids:
            store.add(user_id=user_id, material_id=material_id, chunk_ids=old_ids,
                      embeddings=old_vectors, model=model)
        raise


def _relink_questions(session: Session, user_id: int, material_id: int,
                      drafts: list, new_ids: list[int]) -> None:  # noqa: ANN001
    """Point each question at the new chunk holding its excerpt (else its first page)."""
    questions = session.scalars(select(Question).where(Question.user_id == user_id,
                                                       Question.material_id == material_id))
    squash = lambda t: " ".join(t.split()).casefold()  # noqa: E731
    texts = [squash(d.text) for d in drafts]
    for q in questions:
        excerpt = squash(q.excerpt)[:120]
        best = next((new_ids[i] for i, t in enumerate(texts) if excerpt and excerpt in t), None)
        if best is None:
            best = next((new_ids[i] for i, d in enumerate(drafts)
                         if d.page_start <= q.page_start <= d.page_end), None)
        q.source_chunk_id = best
        q.chunk_ids = [best] if best is not None else []
