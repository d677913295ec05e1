"""The tutor's engine up to the model call, on a BEIR-like dataset plus off-topic questions.

    python -m bench.tutor [--corpus C --queries Q --qrels R --off-topic O --followups F]

The corpus is ingested through the library path for one learner (one material per document).
Every query and off-topic question is asked through `engine.tutor.service.ask` with no model
configured, so the answer is the offline extractive one. Reported:

- answered_in_pct: in-corpus queries answered (not refused); target >= 90;
- refused_off_pct: off-topic questions refused; target >= 90;
- cited_relevant_pct: answered in-corpus queries whose first citation is a relevant document;
- pre_llm_p50_ms / pre_llm_p95_ms: engine time before the first token (history load, rewrite,
  retrieval, prompt build with litellm token counting) for a learner with 50 materials and a
  conversation of 100+ messages; target p50 < 200 ms;
- followup_hit_pct: scripted two-turn conversations on a shared PDF whose rewritten follow-up
  retrieves its expected passage in the top 3; target >= 80.

A sweep of the refusal threshold over the recorded best fused scores is printed (the setting is
tuned on these sets only). Anchors from the same run: retrieval alone (`engine.retrieval.search`)
latency, and the follow-up hit rate when the follow-up is searched as typed.
Ends with `RESULT answered_in_pct=... refused_off_pct=... cited_relevant_pct=...
pre_llm_p50_ms=... pre_llm_p95_ms=... followup_hit_pct=...`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import sys
import time
from pathlib import Path

from bench._library import bench_runtime, bench_user
from bench.retrieval import DEFAULT_DATA, load

HERE = Path(__file__).resolve().parent
SHARED_PDFS = Path(__file__).resolve().parents[2] / "shared" / "data" / "pdf-corpus"


def _pct(values: list[bool]) -> float:
    return 100.0 * sum(values) / len(values) if values else 0.0


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _norm(text: str) -> str:
    text = re.sub(r"-\s+(?=[a-z])", "", text.lower())
    text = text.replace("\ufb01", "fi").replace("\ufb02", "fl")
    return re.sub(r"\s+", " ", text)


def _ingest_docs(rt, user: int, docs: list[dict]) -> dict[int, str]:  # noqa: ANN001
    from engine import library

    doc_of_material: dict[int, str] = {}
    for start in range(0, len(docs), 200):
        batch, ids = [], []
        for d in docs[start:start + 200]:
            title = (d.get("title") or "").strip()
            text = d.get("text") or ""
            body = (text if title and text.startswith(title.rstrip(" .")) else
                    f"{title}\n{text}").strip() or str(d["_id"])
            batch.append(library.DocumentInput(
                pages=[body], title=(title or f"document {d['_id']}")[:300],
                filename=f"{d['_id']}.txt",
                sha256=hashlib.sha256(f"{d['_id']}\0{body}".encode()).hexdigest(),
                size_bytes=len(body.encode()), pages_without_text=[]))
            ids.append(str(d["_id"]))
        for doc_id, res in zip(ids, library.ingest_documents(rt, user_id=user, documents=batch),
                               strict=True):
            if res is not None:
                doc_of_material[res.material.id] = doc_id
        print(f"  indexed {len(doc_of_material)}/{len(docs)} documents", flush=True)
    return doc_of_material


def _ask(rt, user: int, conv: int, text: str, **kw):  # noqa: ANN001, ANN202
    from engine.tutor import service

    return service.ask(rt, user_id=user, conversation_id=conv, message=text, **kw)


def _corpus_runs(rt, user, queries, rel, off_topic, doc_of_material):  # noqa: ANN001, ANN202
    from engine.tutor import store

    conv = store.create_conversation(rt, user_id=user).id
    runs = {"in": [], "off": []}
    for label, items in (("in", queries.items()), ("off", off_topic.items())):
        for qid, text in items:
            # A conversation per question: each is a first message, searched as typed.
            conv = store.create_conversation(rt, user_id=user).id
            turn = _ask(rt, user, conv, text)
            first_doc = None
            if turn.kind == "offline" and turn.message.sentences:
                n = turn.message.sentences[0]["refs"][0]
                source = next(s for s in turn.sources if s["n"] == n)
                first_doc = doc_of_material.get(source["material_id"])
            runs[label].append({
                "qid": qid, "kind": turn.kind, "engine_ms": turn.engine_ms,
                "top": turn.sources[0]["score"] if turn.sources else 0.0,
                "relevant": first_doc is not None and first_doc in rel.get(qid, {})})
    return runs


def _sweep(runs: dict, current: float) -> float:
    print("\nrefusal threshold sweep (best fused score of the retrieved passages):")
    best = (-1.0, current)
    for i in range(30, 81, 2):
        t = i / 100
        answered = _pct([r["top"] >= t for r in runs["in"]])
        refused = _pct([r["top"] < t for r in runs["off"]])
        mark = " <- setting" if abs(t - current) < 1e-9 else ""
        print(f"  threshold={t:.2f}  answered_in={answered:5.1f}%  refused_off={refused:5.1f}%"
              f"{mark}")
        best = max(best, (min(answered, refused), t))
    print(f"best balance (max of min(answered, refused)): threshold={best[1]:.2f} "
          f"({best[0]:.1f}%)")
    return best[1]


def _timing(rt, docs: list[dict], queries: list[str]) -> tuple[list[float],
                                                               list[float]]:  # noqa: ANN001
    from engine.db.models import Conversation
    from engine.retrieval import search_in
    from engine.tutor import store

    user = bench_user(rt, "timing")
    _ingest_docs(rt, user, docs[:50])
    conv = store.create_conversation(rt, user_id=user).id
    with rt.session_factory.begin() as session:
        c = session.get(Conversation, conv)
        for i in range(50):
            q = queries[i % len(queries)]
            store.add_message(session, user_id=user, conversation=c, role="user",
                              kind="question", mode="explain", content=q, search_query=q)
            store.add_message(session, user_id=user, conversation=c, role="assistant",
                              kind="offline", mode="explain",
                              content=(docs[i].get("text") or "")[:900] + " [1]")
    _ask(rt, user, conv, queries[0], build_prompt=True)  # warm-up: tokenizer, caches
    pre, retrieval = [], []
    for q in queries[:40]:
        turn = _ask(rt, user, conv, q, build_prompt=True)
        pre.append(turn.pre_llm_ms)
        with rt.session_factory() as session:
            started = time.perf_counter()
            search_in(rt, session, user_id=user, query=q, k=rt.settings.tutor.context_passages,
                      feedback=False)
            retrieval.append((time.perf_counter() - started) * 1000)
    return pre, retrieval


def _followups(rt, path: Path) -> tuple[list[bool], list[bool]]:  # noqa: ANN001
    from engine import library
    from engine.retrieval import search
    from engine.tutor import store

    items = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    user = bench_user(rt, "followups")
    for name in sorted({i["pdf"] for i in items}):
        library.ingest_pdf(rt, user_id=user, data=(SHARED_PDFS / name).read_bytes(),
                           filename=name)
    hits, raw = [], []
    for item in items:
        conv = store.create_conversation(rt, user_id=user).id
        _ask(rt, user, conv, item["first"])
        turn = _ask(rt, user, conv, item["followup"])
        expect = _norm(item["expect"])
        hits.append(any(expect in _norm(s["text"]) for s in turn.sources[:3]))
        plain = search(rt, user_id=user, query=item["followup"], k=3, feedback=False)
        raw.append(any(expect in _norm(p.text) for p in plain))
        print(f"  {item['_id']}: {'hit ' if hits[-1] else 'MISS'} query={turn.query[:90]!r}")
    return hits, raw


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=DEFAULT_DATA / "corpus.jsonl")
    p.add_argument("--queries", type=Path, default=DEFAULT_DATA / "queries.jsonl")
    p.add_argument("--qrels", type=Path, default=DEFAULT_DATA / "qrels.tsv")
    p.add_argument("--off-topic", type=Path, default=HERE / "data" / "tutor_off_topic.jsonl")
    p.add_argument("--followups", type=Path, default=HERE / "data" / "tutor_followups.jsonl")
    p.add_argument("--limit", type=int, default=None, help="index only the first N documents")
    args = p.parse_args(argv)
    for path in (args.corpus, args.queries, args.qrels, args.off_topic, args.followups):
        if not path.is_file():
            print(f"missing {path} (see ../shared/data/README.md)", file=sys.stderr)
            return 2

    docs, queries, rel = load(args.corpus, args.queries, args.qrels)
    if args.limit:
        docs = docs[: args.limit]
    off_topic = {str(o["_id"]): o["text"] for o in map(json.loads, args.off_topic.open())
                 if o}
    rt = bench_runtime()
    s = rt.settings
    print(f"dataset: {len(docs)} documents, {len(queries)} queries, {len(off_topic)} off-topic")
    print(f"settings: refusal_threshold={s.tutor.refusal_threshold} "
          f"passages={s.tutor.context_passages} dense_weight={s.retrieval.dense_weight} "
          f"history_tokens={s.tutor.history_tokens}")
    user = bench_user(rt)
    started = time.perf_counter()
    doc_of_material = _ingest_docs(rt, user, docs)
    print(f"indexing: {time.perf_counter() - started:.1f}s")

    runs = _corpus_runs(rt, user, queries, rel, off_topic, doc_of_material)
    answered = [r for r in runs["in"] if r["kind"] != "refusal"]
    answered_in = _pct([r["kind"] != "refusal" for r in runs["in"]])
    refused_off = _pct([r["kind"] == "refusal" for r in runs["off"]])
    cited_relevant = _pct([r["relevant"] for r in answered])
    offline_ms = [r["engine_ms"] for r in answered]
    _sweep(runs, s.tutor.refusal_threshold)

    print("\npre-LLM timing: a learner with 50 materials and a 100-message conversation")
    pre, retrieval = _timing(rt, docs, list(queries.values()))
    print("\nfollow-ups (rewritten query must retrieve the expected passage in the top 3):")
    if SHARED_PDFS.is_dir():
        hits, raw = _followups(rt, args.followups)
    else:
        print(f"  skipped: {SHARED_PDFS} not found")
        hits, raw = [], []

    print(f"\nanswered_in: {answered_in:.1f}% of {len(runs['in'])} (target >= 90)")
    print(f"refused_off: {refused_off:.1f}% of {len(runs['off'])} (target >= 90)")
    print(f"cited_relevant: {cited_relevant:.1f}% of {len(answered)} answered "
          "(first citation is a judged-relevant document)")
    print(f"offline answer engine time: p50 {statistics.median(offline_ms):.0f} ms, "
          f"p95 {_quantile(offline_ms, 0.95):.0f} ms (target < 1000 ms)")
    print(f"pre-LLM: p50 {statistics.median(pre):.0f} ms, p95 {_quantile(pre, 0.95):.0f} ms "
          f"(target p50 < 200 ms); anchor, retrieval alone: p50 "
          f"{statistics.median(retrieval):.0f} ms, p95 {_quantile(retrieval, 0.95):.0f} ms")
    print(f"follow-ups: {_pct(hits):.1f}% of {len(hits)} hit (target >= 80); anchor, the "
          f"follow-up searched as typed: {_pct(raw):.1f}%")
    print(f"RESULT answered_in_pct={answered_in:.1f} refused_off_pct={refused_off:.1f} "
          f"cited_relevant_pct={cited_relevant:.1f} pre_llm_p50_ms={statistics.median(pre):.0f} "
          f"pre_llm_p95_ms={_quantile(pre, 0.95):.0f} followup_hit_pct={_pct(hits):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
