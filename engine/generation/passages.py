"""Which passages of the learner's materials a generation request uses: spread over the chosen
materials, found by a topic search, or (offline) those mentioning the topic's words."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.db.models import Chunk, Material, Question
from engine.domain.passage import Passage
from engine.domain.vocabulary import MaterialStatus
from engine.errors import NoMaterials, NotFound, NothingGenerated
from engine.search import search_in

if TYPE_CHECKING:
    from engine.runtime import Runtime

MIN_CHUNK_CHARS = 120
# With a topic, passages scoring under this share of the best match are left out.
TOPIC_RELATIVE_SCORE = 0.3
_TOPIC_STOP = frozenset("the and for with from that this what how are was".split())


def user_materials(
    session: Session, user_id: int, material_ids: Sequence[int] | None
) -> dict[int, Material]:
    """The learner's ready materials (the chosen ones, or all).

    Raises:
        NotFound: a chosen material is not the learner's.
        NoMaterials: none of them has text to generate from.
    """
    q = select(Material).where(Material.user_id == user_id, Material.status == MaterialStatus.READY)
    if material_ids:
        q = q.where(Material.id.in_(list(material_ids)))
    materials = {m.id: m for m in session.scalars(q)}
    if material_ids:
        missing = set(material_ids) - set(materials)
        if missing:
            raise NotFound(
                "One of the chosen materials is not in your library (it may have "
                "been deleted). Reload the page and choose again."
            )
    if not any(m.chunk_count > 0 for m in materials.values()):
        raise NoMaterials(
            "There is no material to generate from yet. Upload a PDF in the Library first."
            if not material_ids
            else "The chosen materials have no readable text to generate from."
        )
    return materials


def chunk_passage(chunk: Chunk, title: str) -> Passage:
    return Passage(
        chunk_id=chunk.id,
        material_id=chunk.material_id,
        material_title=title,
        text=chunk.text,
        page_start=chunk.page_start,
        page_end=chunk.page_end,
    )


def trusted_pages(material: Material, page_start: int, page_end: int) -> bool:
    """Whether a passage on these pages may be asked about: not wholly on pages that OCR read
    with low confidence (their text may be wrong)."""
    low = set(material.low_confidence_pages or [])
    return not low or any(p not in low for p in range(page_start, page_end + 1))


def _usable_chunks(
    session: Session, user_id: int, materials: dict[int, Material]
) -> dict[int, list[tuple[int, int]]]:
    """Per material, its chunks in order as (chunk id, questions already made from it); short
    chunks are left out unless there are only short ones."""
    used = dict(
        session.execute(
            select(Question.source_chunk_id, func.count())
            .where(Question.user_id == user_id, Question.source_chunk_id.is_not(None))
            .group_by(Question.source_chunk_id)
        ).all()
    )
    rows = [
        (cid, mid, ordinal, length)
        for cid, mid, ordinal, length, start, end in session.execute(
            select(
                Chunk.id,
                Chunk.material_id,
                Chunk.ordinal,
                func.length(Chunk.text),
                Chunk.page_start,
                Chunk.page_end,
            )
            .where(Chunk.user_id == user_id, Chunk.material_id.in_(list(materials)))
            .order_by(Chunk.material_id, Chunk.ordinal)
        ).all()
        if trusted_pages(materials[mid], start, end)
    ]
    by_material: dict[int, list[tuple[int, int]]] = {}
    for cid, mid, _ordinal, length in rows:
        if length >= MIN_CHUNK_CHARS:
            by_material.setdefault(mid, []).append((cid, used.get(cid, 0)))
    if not by_material:  # only short chunks: use them anyway
        for cid, mid, _ordinal, _length in rows:
            by_material.setdefault(mid, []).append((cid, used.get(cid, 0)))
    return by_material


def spread_passages(
    session: Session, user_id: int, materials: dict[int, Material], n: int
) -> list[Passage]:
    """No topic: chunks spread evenly over the chosen materials, least-questioned first, so a
    repeated request moves on to new material rather than repeating itself."""
    by_material = _usable_chunks(session, user_id, materials)
    # Per material: the least-used chunks, taken evenly from across the document.
    picks: list[list[int]] = []
    share = max(1, math.ceil(n / max(1, len(by_material))))
    for mid in sorted(by_material):
        used = by_material[mid]  # (chunk id, questions made from it)
        least = min(u for _, u in used)
        fresh = [cid for cid, u in used if u == least] or [cid for cid, _ in used]
        step = max(1, len(fresh) / share)
        picks.append([fresh[int(i * step)] for i in range(min(share, len(fresh)))])
    chosen: list[int] = []
    for i in range(max(len(p) for p in picks)):  # interleave materials
        chosen.extend(p[i] for p in picks if i < len(p))
    chosen = chosen[:n]
    chunks = {
        c.id: c
        for c in session.scalars(
            select(Chunk).where(Chunk.user_id == user_id, Chunk.id.in_(chosen))
        )
    }
    return [
        chunk_passage(chunks[cid], materials[chunks[cid].material_id].title)
        for cid in chosen
        if cid in chunks
    ]


def topic_passages(
    rt: Runtime, session: Session, user_id: int, materials: dict[int, Material], topic: str, n: int
) -> list[Passage]:
    """The passages the library's hybrid search finds for the topic, those matching it well."""

    hits = search_in(rt, session, user_id=user_id, query=topic, k=n, material_ids=list(materials))
    # Focus: keep the passages that match the topic well, not the whole ranked library.
    floor = TOPIC_RELATIVE_SCORE * max((h.score for h in hits), default=0.0)
    return [
        h
        for h in hits
        if h.score >= floor and trusted_pages(materials[h.material_id], h.page_start, h.page_end)
    ]


def _topic_words(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[^\W\d_]{3,}", text.casefold())} - _TOPIC_STOP


def offline_topic_passages(
    session: Session, user_id: int, materials: dict[int, Material], topic: str, n: int
) -> list[Passage]:
    """Offline: the passages that mention the topic's words (stems compared), those that
    mention most of them first. Raises NothingGenerated when none does."""
    wanted = _topic_words(topic)
    scored = []
    for chunk in session.scalars(
        select(Chunk)
        .where(Chunk.user_id == user_id, Chunk.material_id.in_(list(materials)))
        .order_by(Chunk.material_id, Chunk.ordinal)
    ):
        hits = len(wanted & _topic_words(chunk.text))
        if hits and trusted_pages(materials[chunk.material_id], chunk.page_start, chunk.page_end):
            scored.append((-hits, chunk.material_id, chunk.ordinal, chunk))
    if not scored:
        raise NothingGenerated(
            f"Nothing in the chosen materials mentions '{topic}'. "
            "Try other words or leave the topic empty."
        )
    best = min(s[0] for s in scored)
    # Keep the passages that mention as many topic words as the best ones do.
    chosen = sorted(s for s in scored if s[0] == best)[:n]
    return [chunk_passage(c, materials[c.material_id].title) for *_, c in chosen]
