"""Question generation: the engine's own overhead per batch, and the offline generator.

    python -m bench.generation [--batches 30] [--pdf-corpus ../shared/data/pdf-corpus]

1. Engine overhead. A learner's material (the shared text PDFs, or a built-in text when the
   corpus is absent) is stored as chunks; a local OpenAI-compatible stub answers every prompt
   instantly with grounded multiple-choice questions. Each batch of 10 questions runs the full
   service path (context selection, prompt templates, litellm call, parsing, validation,
   grounding, dedupe against the growing bank, usage log, cache write) and then stores the
   batch (`save_questions`). The engine's own time is the wall time minus the time spent inside
   the model call (litellm + HTTP to the stub), which is printed beside it as the anchor.
   Target: p50 < 150 ms.
2. Offline generator. For each text PDF of the shared corpus (category `text` in index.tsv):
   pypdf text -> passages -> yake key terms -> up to 20 questions; questions per second
   (including key-term extraction) and the share that pass validation and grounding.

Ends with `RESULT overhead_p50_ms=... offline_q_per_s=... offline_valid_pct=...`.
"""

from __future__ import annotations

from engine.process import prepare_process

prepare_process()  # before anything imports litellm or Hugging Face code

import argparse  # noqa: E402
import csv  # noqa: E402
import hashlib  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

from pydantic import SecretStr  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from engine import llm  # noqa: E402
from engine.bank import service as bank  # noqa: E402
from engine.bootstrap import create_runtime  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db.models import Chunk, Material  # noqa: E402
from engine.generation import offline, service  # noqa: E402
from engine.generation.drafts import Passage  # noqa: E402
from engine.generation.validation import ground, validate  # noqa: E402
from tests.support.generation_data import BIOLOGY, HISTORY, grounded_responder  # noqa: E402
from tests.support.llm_stub import LLMStub  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "pdf-corpus"
CHUNK_CHARS = 900


def text_pdfs(corpus: Path) -> list[Path]:
    index = corpus / "index.tsv"
    if not index.is_file():
        return []
    with index.open(encoding="utf-8") as f:
        return [
            corpus / r["file"] for r in csv.DictReader(f, delimiter="\t") if r["category"] == "text"
        ]


def pdf_pages(path: Path, limit: int = 40) -> list[str]:
    try:
        reader = PdfReader(path)
        return [(p.extract_text() or "") for p in reader.pages[:limit]]
    except Exception as e:  # noqa: BLE001 - a corpus file pypdf cannot read is reported and skipped
        print(f"  skipped {path.name}: {e!r}")
        return []


def split_page(text: str) -> list[str]:
    """Page text in chunks of about CHUNK_CHARS, cut at sentence ends."""
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    chunks, current = [], ""
    for s in sentences:
        if current and len(current) + len(s) > CHUNK_CHARS:
            chunks.append(current)
            current = ""
        current = f"{current} {s}".strip()
    if current:
        chunks.append(current)
    return chunks


def page_chunks(pages: list[str]) -> list[tuple[int, str]]:
    return [
        (n, c) for n, page in enumerate(pages, start=1) for c in split_page(page) if len(c) >= 200
    ]


def store_material(rt, user_id: int, title: str, chunks: list[tuple[int, str]]) -> None:
    with rt.session_factory.begin() as s:
        m = Material(
            user_id=user_id,
            title=title,
            filename=f"{title}.pdf",
            sha256=hashlib.sha256(title.encode()).hexdigest(),
            size_bytes=sum(len(c) for _, c in chunks),
            page_count=max(p for p, _ in chunks),
            chunk_count=len(chunks),
        )
        s.add(m)
        s.flush()
        offset = 0
        for i, (page, text) in enumerate(chunks):
            s.add(
                Chunk(
                    user_id=user_id,
                    material_id=m.id,
                    ordinal=i,
                    text=text,
                    page_start=page,
                    page_end=page,
                    char_start=offset,
                    char_end=offset + len(text),
                    token_count=len(text.split()),
                    content_hash=hashlib.sha256(text.encode()).hexdigest(),
                )
            )
            offset += len(text) + 1


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def bench_overhead(pdfs: list[Path], batches: int) -> dict[str, float]:
    from engine.accounts import register_user

    data_dir = Path(tempfile.mkdtemp(prefix="groundwork-bench-gen-"))
    stub = LLMStub().start()
    stub.responder = grounded_responder("mcq", rotate=True)
    settings = Settings(
        data_dir=data_dir,
        database_url=None,
        log_level="WARNING",
        llm_generation_model="openai/stub-model",
        llm_api_base=stub.url,
        llm_api_key=SecretStr("sk-bench"),
        llm_max_retries=0,
        generation_max_per_hour=100_000,
        llm_max_requests_per_day=100_000,
        generation_max_questions_per_day=10_000_000,
        generation_cache_ttl_h=0,
    )
    rt = create_runtime(settings)
    logging.getLogger().setLevel(logging.WARNING)
    try:
        user = register_user(
            rt,
            email=f"bench-{uuid.uuid4().hex[:6]}@ex.com",
            password="benchmark password 123",
            display_name="Bench",
        ).user_id
        chunks_total = 0
        for path in pdfs:
            chunks = page_chunks(pdf_pages(path))
            if chunks:
                store_material(rt, user, path.stem, chunks)
                chunks_total += len(chunks)
        if not chunks_total:
            store_material(
                rt, user, "Built-in notes", [(i + 1, t) for i, t in enumerate(BIOLOGY + HISTORY)]
            )
            chunks_total = len(BIOLOGY + HISTORY)
        print(f"material: {chunks_total} chunks from {len(pdfs) or 1} document(s)")

        # Warm-up: litellm import, connection pool, template and query caches.
        service.generate_questions(
            rt.with_settings(settings), user_id=user, question_type="mcq", count=10
        )
        engine_ms, model_ms, wall_ms, kept = [], [], [], 0
        rejected: Counter[str] = Counter()
        for _ in range(batches):
            t0 = time.perf_counter()
            result = service.generate_questions(
                rt.with_settings(settings),
                user_id=user,
                question_type="mcq",
                difficulty=3,
                count=10,
            )
            t1 = time.perf_counter()
            bank.save_questions(rt, user_id=user, drafts=result.drafts)
            t2 = time.perf_counter()
            total = (t2 - t0) * 1000
            engine = result.engine_ms + (t2 - t1) * 1000
            engine_ms.append(engine)
            model_ms.append(total - engine)
            wall_ms.append(total)
            kept += len(result.drafts)
            rejected.update(result.rejections)
        # Anchor measured in the same run: one bare litellm call to the same stub.
        bare = []
        stub.responder = None  # plain "ok" answers
        for _ in range(10):
            t = time.perf_counter()
            llm.complete([{"role": "user", "content": "ok"}], task="generation", settings=settings)
            bare.append((time.perf_counter() - t) * 1000)
    finally:
        rt.engine.dispose()
        stub.stop()
    returned = kept + sum(rejected.values())
    print(
        f"batches of 10: {batches}; the stub returned {returned} of {10 * batches} questions "
        f"(it skips chunks without a sentence of 30-400 characters); kept {kept}; rejected "
        f"by reason: {dict(rejected) or 'none'} (it quotes each chunk's sentences in turn, "
        "so chunks with few sentences repeat and are caught as duplicates)"
    )
    print(
        f"engine overhead per batch: p50 {statistics.median(engine_ms):.1f} ms, "
        f"p90 {pct(engine_ms, 0.9):.1f} ms   (target p50 < 150 ms)"
    )
    print(
        f"anchor: time inside the model calls per batch (litellm + HTTP to the instant stub) "
        f"p50 {statistics.median(model_ms):.1f} ms; one bare litellm call "
        f"p50 {statistics.median(bare):.1f} ms; whole batch wall p50 "
        f"{statistics.median(wall_ms):.1f} ms"
    )
    return {"p50": statistics.median(engine_ms)}


def bench_offline(pdfs: list[Path]) -> dict[str, float]:
    from engine.config import Settings
    from engine.retrieval.embeddings import load_embedder

    embedder = load_embedder(Settings(log_level="WARNING"))
    embedder.embed_documents(["warm up the model once, as a running app has"])
    made = valid = 0
    seconds = 0.0
    for path in pdfs:
        chunks = page_chunks(pdf_pages(path))
        passages = [
            Passage(
                chunk_id=i + 1,
                material_id=1,
                material_title=path.stem,
                text=t,
                page_start=p,
                page_end=p,
            )
            for i, (p, t) in enumerate(chunks)
        ]
        if not passages:
            print(f"  {path.name}: no prose chunks")
            continue
        t = time.perf_counter()
        text = "\n".join(p.text for p in passages)
        spaces = {
            1: offline.build_space(
                text, names=offline.author_names(passages[0].text), embed=embedder.embed_documents
            )
        }
        drafts = list(
            offline.generate(passages, spaces, count=20, types=["mcq", "cloze"], difficulty=3)
        )
        seconds += time.perf_counter() - t
        ok = sum(1 for d in drafts if validate(d) is None and ground(d, passages) is None)
        made += len(drafts)
        valid += ok
        print(f"  {path.name}: {len(drafts)} questions, {ok} valid")
    q_per_s = made / seconds if seconds else 0.0
    valid_pct = 100.0 * valid / made if made else 0.0
    print(
        f"offline generator: {made} questions in {seconds:.2f} s = {q_per_s:.1f} q/s "
        f"(incl. key-term extraction and embedding); valid and grounded {valid_pct:.1f}%"
    )
    return {"q_per_s": q_per_s, "valid_pct": valid_pct}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--pdf-corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    pdfs = text_pdfs(args.pdf_corpus)
    if not pdfs:
        print(
            f"shared text PDFs not found at {args.pdf_corpus}; overhead uses built-in text, "
            "offline figures are skipped"
        )
    overhead = bench_overhead(pdfs, args.batches)
    off = bench_offline(pdfs) if pdfs else {"q_per_s": 0.0, "valid_pct": 0.0}
    print(
        f"RESULT overhead_p50_ms={overhead['p50']:.1f} offline_q_per_s={off['q_per_s']:.1f} "
        f"offline_valid_pct={off['valid_pct']:.1f}"
    )


if __name__ == "__main__":
    main()
