"""Hybrid search over one learner's library (and, read-only, the materials shared with the
courses they are enrolled in): BM25 (bm25s) fused with dense vectors (Chroma)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import usage
from engine.courses.materials import shared_libraries
from engine.db.models import Chunk, Material, MaterialPage
from engine.domain.passage import Passage
from engine.domain.vocabulary import MaterialStatus
from engine.retrieval.collections import current_collection
from engine.retrieval.embeddings import model_label
from engine.retrieval.feedback import FeedbackParams, expanded_terms, shifted_query
from engine.retrieval.fusion import weighted_fusion
from engine.retrieval.lexical import LexicalIndex, lexical_tokens

if TYPE_CHECKING:
    from engine.config import Settings
    from engine.runtime import Runtime

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 2000


def library_fingerprint(session: Session, user_id: int) -> tuple[int, int, int]:
    """Changes whenever a material becomes searchable or stops being so (ids are never
    reused; only 'ready' materials are searched)."""
    row = session.execute(
        select(
            func.count(Material.id),
            func.coalesce(func.max(Material.id), 0),
            func.coalesce(func.sum(Material.chunk_count), 0),
        ).where(Material.user_id == user_id, Material.status == MaterialStatus.READY)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def lexical_index(rt: Runtime, session: Session, user_id: int) -> LexicalIndex:
    """The learner's BM25 index from the runtime's cache, rebuilt only when their library
    changed (checked against PostgreSQL on every call, so a change made by another process is
    seen)."""
    cache = rt.lexical_indexes
    key = (user_id,)
    fingerprint = library_fingerprint(session, user_id)
    index = cache.get(key, fingerprint)
    if index is not None:
        return index
    # A chunk is stemmed in the language of its first page (see engine.library.store).
    rows = session.execute(
        select(
            Chunk.id,
            Chunk.material_id,
            Chunk.lexical,
            func.coalesce(MaterialPage.language, Material.language),
        )
        .join(Material, Material.id == Chunk.material_id)
        .outerjoin(
            MaterialPage,
            (MaterialPage.material_id == Chunk.material_id)
            & (MaterialPage.number == Chunk.page_start),
        )
        .where(Chunk.user_id == user_id, Material.status == MaterialStatus.READY)
        .order_by(Chunk.id)
    ).all()
    index = LexicalIndex.build(
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2].split() for r in rows],
        [r[3] for r in rows],
    )
    cache.put(key, fingerprint, index)
    return index


def search(
    rt: Runtime,
    *,
    user_id: int,
    query: str,
    k: int = 8,
    material_ids: list[int] | None = None,
    feedback: bool = True,
) -> list[Passage]:
    """The learner's best passages for a query, best first.

    Only this learner's chunks are ever considered (their own BM25 index, their own vector
    collection, and a final read filtered by user id), and, when `material_ids` is None,
    the chunks of the materials shared with their current courses (`search_with_courses`).

    Args:
        rt: the runtime (database, vector store, embedder, BM25 index cache, settings).
        user_id: the learner searching.
        query: free text (a question, keywords...).
        k: how many passages to return.
        material_ids: restrict to these materials of the learner (None = all).
        feedback: reorder with pseudo-relevance feedback when the settings turn it on
            (better lists, nDCG@10; False keeps the passages closest to the query's own
            words on top, as the tutor wants).

    Returns:
        Up to `k` passages with text, chunk id, material id and title, page range and a
        fused score in [0, 1].
    """
    with rt.session_factory.begin() as session:
        if material_ids is None:
            return search_with_courses(
                rt, session, user_id=user_id, query=query, k=k, feedback=feedback
            )
        return search_in(
            rt,
            session,
            user_id=user_id,
            query=query,
            k=k,
            material_ids=material_ids,
            feedback=feedback,
        )


def search_with_courses(
    rt: Runtime, session: Session, *, user_id: int, query: str, k: int, feedback: bool
) -> list[Passage]:
    """The learner's own passages and those of the materials shared with the courses they
    are enrolled in (searched in each teacher's index, restricted to those materials), best
    first. A course passage's title names its course: "<course>: <material>"."""
    passages = search_in(rt, session, user_id=user_id, query=query, k=k, feedback=feedback)
    for shared in shared_libraries(session, user_id):
        found = search_in(
            rt,
            session,
            user_id=shared.teacher_id,
            query=query,
            k=k,
            material_ids=list(shared.material_ids),
            feedback=feedback,
            embed_as=user_id,
        )
        passages += [
            replace(p, material_title=f"{shared.course_titles[p.material_id]}: {p.material_title}")
            for p in found
        ]
    return sorted(passages, key=lambda p: -p.score)[:k]


@dataclass(frozen=True)
class _FirstStage:
    """A query's first stage: the learner's BM25 index and collection, the query's vector and
    BM25 scores, and the top candidates of each ranking."""

    index: LexicalIndex
    collection: str
    embedding: np.ndarray | None
    scores: np.ndarray
    lexical: dict[int, float]
    dense: dict[int, float]
    n: int


def _first_stage(
    rt: Runtime,
    session: Session,
    *,
    user_id: int,
    query: str,
    k: int,
    material_ids: list[int] | None,
    embed_as: int | None = None,
) -> _FirstStage | None:
    """None when there is nothing to search (an empty query or library, no materials)."""
    if not query or k <= 0 or (material_ids is not None and not material_ids):
        return None
    n = max(rt.settings.retrieval.candidates, k)
    index = lexical_index(rt, session, user_id)
    if index.chunk_ids.size == 0:
        return None
    collection = current_collection(session, user_id)
    # `embed_as`: the learner searching a course's materials (in their teacher's library)
    # pays for the query's embedding, not the teacher.
    embedding = _query_vector(rt, collection, user_id=embed_as or user_id, query=query)
    scores = index.scores(query)
    lexical, dense = _candidates(
        rt,
        index,
        collection,
        scores=scores,
        embedding=embedding,
        n=n,
        material_ids=material_ids,
    )
    return _FirstStage(index, collection, embedding, scores, lexical, dense, n)


def search_in(
    rt: Runtime,
    session: Session,
    *,
    user_id: int,
    query: str,
    k: int = 8,
    material_ids: list[int] | None = None,
    feedback: bool = True,
    embed_as: int | None = None,
) -> list[Passage]:
    """`search` inside the caller's unit of work (for services that search as one step of a
    larger operation, e.g. the tutor's turn or picking passages for generation)."""
    query = query.strip()[:MAX_QUERY_CHARS]
    st = _first_stage(
        rt, session, user_id=user_id, query=query, k=k, material_ids=material_ids, embed_as=embed_as
    )
    if st is None:
        return []
    first = weighted_fusion(st.lexical, st.dense, dense_weight=rt.settings.retrieval.dense_weight)
    params = feedback_params(rt.settings)
    if not (feedback and params.enabled) or st.embedding is None or not st.lexical or not first:
        return _read_passages(session, user_id, first[:k], st.dense)
    ranked = _feedback_ranking(
        rt,
        session,
        st.index,
        st.collection,
        user_id=user_id,
        query=query,
        embedding=st.embedding,
        first=first,
        n=st.n,
        material_ids=material_ids,
        params=params,
    )[:k]
    # A passage's score stays what the query's own words and vector say of it (the tutor's
    # refusal and the topic filter compare it against fixed thresholds); the feedback only
    # reorders.
    shown = _first_stage_scores(
        rt,
        st.index,
        st.collection,
        scores=st.scores,
        embedding=st.embedding,
        lexical=st.lexical,
        dense=st.dense,
        chunk_ids=ranked,
    )
    return _read_passages(session, user_id, [(c, shown[c]) for c in ranked], st.dense)


def feedback_params(settings: Settings) -> FeedbackParams:
    r = settings.retrieval
    return FeedbackParams(
        passages=r.feedback_passages,
        terms=r.feedback_terms,
        query_weight=r.feedback_query_weight,
        dense_passages=r.feedback_dense_passages,
        dense_shift=r.feedback_dense_shift,
        fusion_dense_weight=r.feedback_dense_weight,
    )


def _query_vector(rt: Runtime, collection: str, *, user_id: int, query: str) -> np.ndarray | None:
    """The query's embedding; None when the learner's vectors are missing or from another
    model (then the lexical ranking decides alone)."""
    if rt.vectors.model_of(collection) != model_label(rt.settings):
        log.warning(
            "vector index stale or missing; lexical ranking only", extra={"user_id": user_id}
        )
        return None
    return usage.embedder_for(rt, user_id=user_id).embed_query(query)


def _candidates(
    rt: Runtime,
    index: LexicalIndex,
    collection: str,
    *,
    scores: np.ndarray,
    embedding: np.ndarray | None,
    n: int,
    material_ids: list[int] | None,
) -> tuple[dict[int, float], dict[int, float]]:
    """The `n` best chunks by BM25 `scores` and by cosine to `embedding`, each candidate with
    both scores (the true BM25 of dense-only candidates, the true cosine of lexical-only
    ones)."""
    positions, best = index.best_of(scores, n, material_ids)
    lexical = {int(index.chunk_ids[p]): float(v) for p, v in zip(positions, best, strict=True)}
    dense: dict[int, float] = {}
    if embedding is None:
        return lexical, dense
    for hit in rt.vectors.query(collection, embedding=embedding, k=n, material_ids=material_ids):
        dense[hit.chunk_id] = hit.similarity
    dense.update(
        rt.vectors.similarities(
            collection, embedding=embedding, chunk_ids=[c for c in lexical if c not in dense]
        )
    )
    if lexical:  # no query term anywhere: the dense ranking decides alone
        for chunk_id in dense:
            position = index.position_of.get(chunk_id)
            if chunk_id not in lexical and position is not None:
                lexical[chunk_id] = float(scores[position])
    return lexical, dense


def _feedback_ranking(
    rt: Runtime,
    session: Session,
    index: LexicalIndex,
    collection: str,
    *,
    user_id: int,
    query: str,
    embedding: np.ndarray,
    first: list[tuple[int, float]],
    n: int,
    material_ids: list[int] | None,
    params: FeedbackParams,
) -> list[int]:
    """Chunk ids ranked by the expanded query built from the first ranking's best passages."""
    top = first[: max(params.passages, params.dense_passages)]
    tokens = dict(
        session.execute(
            select(Chunk.id, Chunk.lexical).where(
                Chunk.user_id == user_id, Chunk.id.in_([c for c, _ in top])
            )
        ).all()
    )
    weights = expanded_terms(
        index.query_tokens(query),
        [((tokens.get(c) or "").split(), score) for c, score in top[: params.passages]],
        doc_freq=index.doc_freq,
        n_docs=len(index.chunk_ids),
        params=params,
    )
    near = top[: params.dense_passages]
    vectors = rt.vectors.vectors(collection, chunk_ids=[c for c, _ in near])
    moved = shifted_query(
        embedding,
        np.asarray([vectors[c] for c, _ in near if c in vectors]),
        [score for c, score in near if c in vectors],
        shift=params.dense_shift,
    )
    lexical, dense = _candidates(
        rt,
        index,
        collection,
        scores=index.weighted_scores(weights),
        embedding=moved,
        n=n,
        material_ids=material_ids,
    )
    return [c for c, _ in weighted_fusion(lexical, dense, dense_weight=params.fusion_dense_weight)]


def _first_stage_scores(
    rt: Runtime,
    index: LexicalIndex,
    collection: str,
    *,
    scores: np.ndarray,
    embedding: np.ndarray,
    lexical: dict[int, float],
    dense: dict[int, float],
    chunk_ids: list[int],
) -> dict[int, float]:
    """The first-stage fused score of each chunk, also of chunks only the feedback found."""
    new = [c for c in chunk_ids if c not in lexical or c not in dense]
    if new:
        lexical, dense = dict(lexical), dict(dense)
        for c in new:
            if c in index.position_of:
                lexical.setdefault(c, float(scores[index.position_of[c]]))
        dense.update(
            rt.vectors.similarities(
                collection, embedding=embedding, chunk_ids=[c for c in new if c not in dense]
            )
        )
    return dict(weighted_fusion(lexical, dense, dense_weight=rt.settings.retrieval.dense_weight))


def _read_passages(
    session: Session,
    user_id: int,
    ranked: list[tuple[int, float]],
    cosines: dict[int, float] | None = None,
) -> list[Passage]:
    """The ranked chunks as passages, in rank order (skipping any deleted meanwhile)."""
    top = [cid for cid, _ in ranked]
    scores = dict(ranked)
    rows = session.execute(
        select(Chunk, Material.title)
        .join(Material, Material.id == Chunk.material_id)
        .where(Chunk.user_id == user_id, Chunk.id.in_(top), Material.status == MaterialStatus.READY)
    ).all()
    by_id = {chunk.id: (chunk, title) for chunk, title in rows}
    passages = []
    for cid in top:
        if cid not in by_id:  # deleted between ranking and reading
            continue
        chunk, title = by_id[cid]
        passages.append(
            Passage(
                chunk_id=chunk.id,
                material_id=chunk.material_id,
                material_title=title,
                text=chunk.text,
                page_start=chunk.page_start,
                page_end=chunk.page_end,
                score=round(float(scores[cid]), 4),
                heading=chunk.heading,
                cosine=None if not cosines or cid not in cosines else round(float(cosines[cid]), 4),
            )
        )
    return passages


# Question and function words (English, German, French, Spanish): they say nothing about
# whether a library covers a question, and a small library may not use them at all.
_QUESTION_WORDS = (
    "what which who whom whose when where why how do does did done is are was were be been "
    "can could would should will shall may might must about it its this that these those "
    "there their they them tell me explain describe mean means happen happens work works "
    "was wer wie wo warum wieso weshalb welche welcher welches wann ist sind war waren wird "
    "werden kann können bedeutet bedeuten heißt macht machen der die das ein eine einen "
    "einem einer es sie man mir erkläre beschreibe "
    "que qui quoi quel quelle quels quelles quand où pourquoi comment est sont ce cette "
    "un une le la les des du de qu il elle explique "
    "qué quién cuál cuándo dónde por cómo es son el los las una unos explica"
)


@lru_cache(maxsize=16)
def question_terms(languages: tuple[str, ...] = ("en",)) -> frozenset[str]:
    """The question and function words above, as lexical terms: stemmed as English and in
    each of `languages` (a library's stemmings: a question is stemmed as its library is)."""
    return frozenset(
        t for lang in ("en", *languages) for t in lexical_tokens(_QUESTION_WORDS, lang)
    )


def query_coverage(
    rt: Runtime, session: Session, *, user_id: int, query: str, passages: list[Passage]
) -> tuple[float, float]:
    """How much of the query's wording the learner's library holds: the share of its content
    terms (question and function words left out), each weighted by its inverse document
    frequency in the library, found anywhere in the library, and found in the best-covering
    of `passages`. A term the library lacks weighs as much as its rarest term, so one unknown
    word counts the same in a small library as in a large one."""
    index = lexical_index(rt, session, user_id)
    words = set(index.query_tokens(query[:MAX_QUERY_CHARS]))
    terms = sorted(words - question_terms(index.languages)) or sorted(words)
    n = len(index.chunk_ids)
    if not terms or n == 0 or index.retriever is None:
        return 0.0, 0.0
    freq = {t: index.doc_freq(t) for t in terms}
    idf = {t: float(np.log((n + 1) / (max(freq[t], 1) + 0.5))) + 1.0 for t in terms}
    total = sum(idf.values())
    in_library = sum(idf[t] for t in terms if freq[t] > 0) / total
    best = max(
        (
            sum(idf[t] for t in terms if t in tokens) / total
            for tokens in (set(index.query_tokens(p.text)) for p in passages)
        ),
        default=0.0,
    )
    return in_library, best
