"""Retrieval quality of the library's hybrid search on a BEIR-like dataset.

    python -m bench.retrieval --corpus C --queries Q --qrels R [--limit N]

Every corpus document is indexed through the same path as a PDF's pages (chunking, embedding,
PostgreSQL rows, Chroma vectors, BM25 tokens), as one material per document. Each query is run
through `engine.search.search`; a document's rank is that of its best chunk. Printed beside
it, from the same index and run: BM25 alone (bm25s), dense alone (Chroma), reciprocal rank
fusion (k=60), and the fused score at several dense weights with a two-fold cross-validated
estimate (weight chosen on half the queries, scored on the other half).

Pseudo-relevance feedback (`engine/retrieval/feedback.py`) is measured the same way: the
search with feedback (the default) beside the same search without it, and its parameters tuned
on half the queries and scored on the other half, over a small grid (two-fold on odd/even
query ids, and the mean, lowest and highest over 10 random halvings).

Ends with `RESULT ndcg10=... recall10=... nofb_ndcg10=... bm25_ndcg10=... dense_ndcg10=...
cv_ndcg10=...` (cv: the feedback parameters cross-validated).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

from bench._library import bench_runtime, bench_user, variant

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cranfield"


def load(corpus: Path, queries: Path, qrels: Path):
    docs = [json.loads(line) for line in corpus.open(encoding="utf-8") if line.strip()]
    qs = {}
    for line in queries.open(encoding="utf-8"):
        if line.strip():
            q = json.loads(line)
            qs[str(q["_id"])] = q["text"]
    rel: dict[str, dict[str, int]] = defaultdict(dict)
    with qrels.open(encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t"):
            if not row or row[0] in ("query-id", "query_id"):
                continue
            if int(row[2]) > 0:
                rel[str(row[0])][str(row[1])] = int(row[2])
    qs = {qid: text for qid, text in qs.items() if qid in rel}
    return docs, qs, rel


def ndcg_at(ranking: list[str], rels: dict[str, int], k: int = 10) -> float:
    """nDCG@k with linear gains (as trec_eval / BEIR compute it)."""
    dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted(rels.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranking: list[str], rels: dict[str, int], k: int = 10) -> float:
    return len(set(ranking[:k]) & set(rels)) / len(rels) if rels else 0.0


def to_docs(chunk_ranking: list[int], doc_of_chunk: dict[int, str]) -> list[str]:
    seen: list[str] = []
    for cid in chunk_ranking:
        d = doc_of_chunk.get(cid)
        if d is not None and d not in seen:
            seen.append(d)
    return seen


def first_relevant(
    rankings: dict[str, list[str]], rel: dict[str, dict[str, int]], qids: list[str]
) -> float:
    """Share of queries whose first result is a judged-relevant document (what the tutor's
    first citation needs)."""
    return sum(1 for q in qids if rankings[q] and rel[q].get(rankings[q][0], 0) > 0) / len(qids)


def evaluate(
    rankings: dict[str, list[str]], rel: dict[str, dict[str, int]], qids: list[str]
) -> tuple[float, float]:
    n = [ndcg_at(rankings[q], rel[q]) for q in qids]
    r = [recall_at(rankings[q], rel[q]) for q in qids]
    return sum(n) / len(n), sum(r) / len(r)


FEEDBACK_GRID = {
    "retrieval_feedback_passages": (10, 15),
    "retrieval_feedback_terms": (20, 40),
    "retrieval_feedback_dense_shift": (1.0, 2.0, 3.0),
    "retrieval_feedback_dense_weight": (0.7, 0.8),
}


def run_queries(
    rt, user: int, queries: dict[str, str], doc_of_chunk: dict[int, str], k: int
) -> tuple[dict[str, list[str]], list[float]]:
    """Each query's document ranking through the product's search, and its time in ms."""
    from engine.search import search_in

    rankings, times = {}, []
    with rt.session_factory() as session:
        for qid, text in queries.items():
            started = time.perf_counter()
            hits = search_in(rt, session, user_id=user, query=text, k=k)
            times.append((time.perf_counter() - started) * 1000)
            rankings[qid] = to_docs([h.chunk_id for h in hits], doc_of_chunk)
    return rankings, times


def cross_validate(
    per_query: dict[object, dict[str, float]], folds: list[list[str]]
) -> tuple[float, list[object]]:
    """Pooled nDCG of the setting chosen on one fold, scored on the other (both ways)."""
    pooled, chosen = [], []
    for tune, test in ((folds[0], folds[1]), (folds[1], folds[0])):
        best = max(per_query, key=lambda p: sum(per_query[p][q] for q in tune))
        chosen.append(best)
        pooled += [per_query[best][q] for q in test]
    return sum(pooled) / len(pooled), chosen


def feedback_sweep(rt, user: int, queries: dict[str, str], rel, doc_of_chunk, k: int) -> float:
    import itertools
    import random

    qids = sorted(queries)
    per_query: dict[object, dict[str, float]] = {}
    for values in itertools.product(*FEEDBACK_GRID.values()):
        point = dict(zip(FEEDBACK_GRID, values, strict=True))
        rankings, _ = run_queries(variant(rt, **point), user, queries, doc_of_chunk, k)
        per_query[values] = {q: ndcg_at(rankings[q], rel[q]) for q in qids}
        mean = sum(per_query[values].values()) / len(qids)
        label = " ".join(
            f"{name.removeprefix('retrieval_feedback_')}={value}" for name, value in point.items()
        )
        print(f"  {label}  nDCG@10={mean:.4f}", flush=True)
    cv, chosen = cross_validate(per_query, [qids[0::2], qids[1::2]])
    print(
        f"two-fold cross-validation (odd/even ids): chose {chosen[0]} and {chosen[1]}; "
        f"pooled {cv:.4f}"
    )
    rng = random.Random(0)
    splits = []
    for _ in range(10):
        shuffled = rng.sample(qids, len(qids))
        half = len(shuffled) // 2
        splits.append(cross_validate(per_query, [shuffled[:half], shuffled[half:]])[0])
    print(
        f"10 random halvings: mean {sum(splits) / len(splits):.4f}, lowest {min(splits):.4f},"
        f" highest {max(splits):.4f}"
    )
    return cv


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=DEFAULT_DATA / "corpus.jsonl")
    p.add_argument("--queries", type=Path, default=DEFAULT_DATA / "queries.jsonl")
    p.add_argument("--qrels", type=Path, default=DEFAULT_DATA / "qrels.tsv")
    p.add_argument("--limit", type=int, default=None, help="index only the first N documents")
    p.add_argument("--candidates", type=int, default=100, help="depth of each ranking")
    p.add_argument(
        "--embedding", default=None, help="embedding model setting (default: the configured one)"
    )
    args = p.parse_args(argv)
    for path in (args.corpus, args.queries, args.qrels):
        if not path.is_file():
            print(f"missing {path} (see ../shared/data/README.md)", file=sys.stderr)
            return 2

    from engine import library
    from engine.retrieval.fusion import reciprocal_rank_fusion, weighted_fusion
    from engine.retrieval.vectors import collection_name
    from engine.search import lexical_index, search_in

    docs, queries, rel = load(args.corpus, args.queries, args.qrels)
    if args.limit:
        docs = docs[: args.limit]
    rt = bench_runtime(**({"embedding_model": args.embedding} if args.embedding else {}))
    s = rt.settings
    user = bench_user(rt)
    print(f"dataset: {len(docs)} documents, {len(queries)} queries with judgements")
    print(
        f"settings: embedding={s.embedding.model} chunk_tokens={s.ingestion.chunk_tokens} "
        f"overlap={s.ingestion.chunk_overlap_tokens} dense_weight={s.retrieval.dense_weight} "
        f"candidates={s.retrieval.candidates}"
    )

    started = time.perf_counter()
    doc_of_material: dict[int, str] = {}
    batch: list = []
    ids: list[str] = []

    def flush() -> None:
        results = library.ingest_documents(rt, user_id=user, documents=batch)
        for doc_id, res in zip(ids, results, strict=True):
            if res is None:
                continue
            doc_of_material[res.material.id] = doc_id
        print(f"  indexed {len(doc_of_material)}/{len(docs)} documents", flush=True)
        batch.clear()
        ids.clear()

    for d in docs:
        title = (d.get("title") or "").strip()
        text = d.get("text") or ""
        body = text if title and text.startswith(title.rstrip(" .")) else f"{title}\n{text}"
        body = body.strip() or str(d["_id"])
        batch.append(
            library.DocumentInput(
                pages=[body],
                title=(title or f"document {d['_id']}")[:300],
                filename=f"{d['_id']}.txt",
                sha256=hashlib.sha256(f"{d['_id']}\0{body}".encode()).hexdigest(),
                size_bytes=len(body.encode()),
                pages_without_text=[],
            )
        )
        ids.append(str(d["_id"]))
        if len(batch) == 200:
            flush()
    if batch:
        flush()
    index_s = time.perf_counter() - started

    store = rt.vectors
    embedder = rt.embedder
    ours: dict[str, list[str]] = {}
    lex_rank: dict[str, list[int]] = {}
    dense_rank: dict[str, list[int]] = {}
    lex_scores: dict[str, dict[int, float]] = {}
    dense_scores: dict[str, dict[int, float]] = {}
    with rt.session_factory() as session:
        index = lexical_index(rt, session, user)
        doc_of_chunk = {
            int(c): doc_of_material[int(m)]
            for c, m in zip(index.chunk_ids, index.material_ids, strict=True)
        }
        for qid, text in queries.items():
            hits = search_in(rt, session, user_id=user, query=text, k=args.candidates)
            ours[qid] = to_docs([h.chunk_id for h in hits], doc_of_chunk)
            positions, scores = index.top(text, args.candidates)
            lex_rank[qid] = [int(index.chunk_ids[p]) for p in positions]
            all_scores = index.scores(text)
            hits_d = store.query(
                collection_name(user), embedding=embedder.embed_query(text), k=args.candidates
            )
            dense_rank[qid] = [h.chunk_id for h in hits_d]
            dense_scores[qid] = {h.chunk_id: h.similarity for h in hits_d}
            lex_scores[qid] = {
                int(index.chunk_ids[p]): float(sc) for p, sc in zip(positions, scores, strict=True)
            }
            for h in hits_d:
                lex_scores[qid].setdefault(
                    h.chunk_id, float(all_scores[index.position_of[h.chunk_id]])
                )
            dense_scores[qid].update(
                store.similarities(
                    collection_name(user),
                    embedding=embedder.embed_query(text),
                    chunk_ids=[c for c in lex_scores[qid] if c not in dense_scores[qid]],
                )
            )

    qids = sorted(queries)
    docs_of = {q: to_docs(lex_rank[q], doc_of_chunk) for q in qids}
    bm25 = evaluate(docs_of, rel, qids)
    dense = evaluate({q: to_docs(dense_rank[q], doc_of_chunk) for q in qids}, rel, qids)
    rrf = evaluate(
        {
            q: to_docs(
                [c for c, _ in reciprocal_rank_fusion(lex_rank[q], dense_rank[q])], doc_of_chunk
            )
            for q in qids
        },
        rel,
        qids,
    )
    hybrid = evaluate(ours, rel, qids)
    _, with_times = run_queries(rt, user, queries, doc_of_chunk, args.candidates)
    plain_rankings, plain_times = run_queries(
        variant(rt, retrieval_feedback_passages=0), user, queries, doc_of_chunk, args.candidates
    )
    plain = evaluate(plain_rankings, rel, qids)

    weights = [round(0.4 + 0.05 * i, 2) for i in range(11)]

    def weighted(w: float, subset: list[str]) -> tuple[float, float]:
        return evaluate(
            {
                q: to_docs(
                    [c for c, _ in weighted_fusion(lex_scores[q], dense_scores[q], dense_weight=w)],
                    doc_of_chunk,
                )
                for q in subset
            },
            rel,
            subset,
        )

    print(f"\nindexing: {index_s:.1f}s for {len(docs)} documents ({len(doc_of_chunk)} chunks)")
    print("\nsweep of the dense weight (all queries):")
    for w in weights:
        n, r = weighted(w, qids)
        print(f"  dense_weight={w:.2f}  nDCG@10={n:.3f}  recall@10={r:.3f}")
    folds = [qids[0::2], qids[1::2]]
    cv = []
    for tune, test in ((folds[0], folds[1]), (folds[1], folds[0])):
        best = max(weights, key=lambda w: weighted(w, tune)[0])
        n, _ = weighted(best, test)
        cv.append((best, n, len(test)))
    cv_ndcg = sum(n * size for _, n, size in cv) / sum(size for *_, size in cv)
    print(
        "two-fold cross-validation (weight tuned on one half, scored on the other): "
        + ", ".join(f"w={w:.2f} -> {n:.3f}" for w, n, _ in cv)
        + f"; pooled {cv_ndcg:.3f}"
    )

    print("\nfeedback parameters (all queries), then cross-validated:")
    fb_cv = feedback_sweep(rt, user, queries, rel, doc_of_chunk, args.candidates)

    def p50(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    print(
        f"\nsearch time per query (k={args.candidates}): with feedback p50 "
        f"{p50(with_times):.1f} ms, without {p50(plain_times):.1f} ms"
    )
    print("\n                       nDCG@10  recall@10")
    print(f"ours (hybrid search)    {hybrid[0]:.3f}    {hybrid[1]:.3f}")
    print(f"same without feedback   {plain[0]:.3f}    {plain[1]:.3f}")
    p1, plain_p1 = first_relevant(ours, rel, qids), first_relevant(plain_rankings, rel, qids)
    print(f"first result relevant: {100 * p1:.1f}% with feedback, {100 * plain_p1:.1f}% without")
    print(f"BM25 alone (bm25s)      {bm25[0]:.3f}    {bm25[1]:.3f}")
    print(f"dense alone (MiniLM)    {dense[0]:.3f}    {dense[1]:.3f}")
    print(f"RRF k=60 of the two     {rrf[0]:.3f}    {rrf[1]:.3f}")
    print(
        "anchors (../shared/data/README.md, these queries): bm25s 0.355/0.411, "
        "all-MiniLM-L6-v2 0.344/0.399, RRF 0.385/0.445; full query set: bm25s 0.354, "
        "MiniLM 0.358, RRF 0.392, PostgreSQL ts_rank 0.304. Target: nDCG@10 >= 0.44 "
        "cross-validated."
    )
    print(
        f"RESULT ndcg10={hybrid[0]:.4f} recall10={hybrid[1]:.4f} nofb_ndcg10={plain[0]:.4f} "
        f"bm25_ndcg10={bm25[0]:.4f} dense_ndcg10={dense[0]:.4f} rrf_ndcg10={rrf[0]:.4f} "
        f"weight_cv_ndcg10={cv_ndcg:.4f} cv_ndcg10={fb_cv:.4f} p1_pct={100 * p1:.1f} "
        f"nofb_p1_pct={100 * plain_p1:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
