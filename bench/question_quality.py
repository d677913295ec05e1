"""Quality of offline questions, measured by the question lint and batch statistics.

    python -m bench.question_quality [DIR] [--count 10] [--seed 7]

For every PDF in DIR (default: the `text` PDFs of ../shared/data/pdf-corpus/index.tsv) the
same path as the app runs: sandboxed reading and cleaning, chunking, key terms embedded with
the configured model, then offline generation of `--count` questions (a mix) at difficulty
3, and an "easy" (1) and a "hard" (5) batch. Reported:
- lint_pass_pct: delivered questions passing the lint, shape, grounding checks, re-run here;
  beside it the pre-filter rate (lint verdicts on every draft the forms built, before the
  generator dropped the broken ones): the anchor from the same run;
- distinct_distractor_ratio: distinct wrong options / all wrong options of term questions,
  counted within each PDF's batch;
- delivered_ratio: delivered / requested over PDFs whose material allows `--count` (at least
  that many distinct candidate sentences with a key term); all PDFs shown too;
- types: the mix of forms; difficulty separation: mean signal of hard minus easy batches.
Prints 10 random questions. Ends with
`RESULT lint_pass_pct=... distinct_distractor_ratio=... delivered_ratio=... types=...`.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections import Counter
from pathlib import Path

from engine.process import prepare_process  # noqa: E402

prepare_process()  # before anything imports litellm or Hugging Face code

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "pdf-corpus"


def _default_pdfs() -> list[Path]:
    index = DEFAULT_CORPUS / "index.tsv"
    if not index.exists():
        return []
    with index.open(encoding="utf-8") as f:
        return [DEFAULT_CORPUS / r["file"] for r in csv.DictReader(f, delimiter="\t")
                if r["category"] == "text"]


def _material(path: Path, settings, embed):  # noqa: ANN001, ANN202
    from engine.errors import EngineError
    from engine.generation import offline
    from engine.generation.drafts import Passage
    from engine.ingestion.chunking import chunk_pages
    from engine.ingestion.pdf import read_pdf

    try:
        pdf = read_pdf(path.read_bytes(), settings=settings)
    except EngineError as e:
        print(f"  {path.name}: skipped ({e.user_message})")
        return None
    chunks = chunk_pages(pdf.pages, chunk_tokens=settings.ingestion.chunk_tokens,
                         overlap_tokens=settings.ingestion.chunk_overlap_tokens)
    passages = [Passage(i + 1, 1, path.stem, c.text, c.page_start, c.page_end)
                for i, c in enumerate(chunks)]
    from engine.domain.language import page_languages

    lang, _ = page_languages(pdf.pages)
    space = offline.build_space("\n\n".join(c.text for c in chunks)[:200_000],
                                names=offline.author_names(pdf.pages[0]), embed=embed, lang=lang)
    return passages, space


def _batch(passages, space, *, count: int, difficulty: int):  # noqa: ANN001, ANN202
    from engine.generation import offline
    from engine.generation.lint import lint

    built: list[tuple[object, list[str]]] = []

    def rejected(reason: str) -> None:
        built.append((None, [reason.removeprefix("lint_")]))

    space.usage.clear()
    drafts = list(offline.generate(passages, {1: space}, count=count, types=["mcq", "cloze"],
                                   difficulty=difficulty, on_reject=rejected))
    sources = {p.chunk_id: p.text for p in passages}
    for d in drafts:
        built.append((d, lint(d, source=sources[d.source_chunk_id], names=space.names)))
    return drafts, built


def _allows(passages, space, count: int) -> bool:  # noqa: ANN001
    from engine.generation import offline

    seen: set[str] = set()
    for p in passages:
        for s in offline.sentences(p.text):
            if s not in seen and any(offline._find(t.text, s) for t in space.terms):
                seen.add(s)
            if len(seen) >= count:
                return True
    return False


def _show(d) -> str:  # noqa: ANN001
    lines = [f"[{d.material_title} p.{d.page_start}] {d.form} · difficulty {d.difficulty} "
             f"(signal {d.difficulty_signal})", f"  Q: {d.stem}"]
    for i, o in enumerate(d.options or []):
        lines.append(f"   {'*' if i == d.correct_index else '-'} {o}")
    if not d.options:
        lines.append(f"   answer: {d.answer}")
    lines.append(f"  Why: {d.explanation}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", nargs="?", type=Path, help="folder of PDFs")
    ap.add_argument("--count", type=int, default=10, help="questions asked per PDF")
    ap.add_argument("--seed", type=int, default=7, help="seed for the sample shown")
    args = ap.parse_args(argv)
    pdfs = sorted(args.dir.glob("*.pdf")) if args.dir else _default_pdfs()
    if not pdfs:
        print("no PDFs found (the shared corpus is absent; pass a folder of PDFs)")
        return 0

    from engine.config import Settings
    from engine.generation.validation import ground, validate
    from engine.retrieval.embeddings import load_embedder

    settings = Settings(log_level="WARNING")
    embed = load_embedder(settings).embed_documents
    started = time.perf_counter()
    delivered: list = []
    built_all: list[tuple[object, list[str]]] = []
    requested = allowed_requested = allowed_delivered = 0
    easy: list[float] = []
    hard: list[float] = []
    for path in pdfs:
        material = _material(path, settings, embed)
        if material is None:
            continue
        passages, space = material
        drafts, built = _batch(passages, space, count=args.count, difficulty=3)
        allows = _allows(passages, space, args.count)
        requested += args.count
        if allows:
            allowed_requested += args.count
            allowed_delivered += len(drafts)
        easy_batch, _ = _batch(passages, space, count=args.count, difficulty=1)
        hard_batch, _ = _batch(passages, space, count=args.count, difficulty=5)
        easy += [d.difficulty_signal for d in easy_batch]
        hard += [d.difficulty_signal for d in hard_batch]
        for d in drafts:
            d.excerpt_ok = validate(d) is None and ground(d, passages) is None
        delivered += drafts
        built_all += built
        print(f"  {path.name}: {len(drafts)}/{args.count} delivered "
              f"({'material allows' if allows else 'too few candidate sentences'}), "
              f"{len(space.terms)} key terms, forms {dict(Counter(d.form for d in drafts))}")

    passing = [d for d in delivered if d.excerpt_ok and not next(
        b for x, b in built_all if x is d)]
    lint_pct = 100 * len(passing) / max(1, len(delivered))
    raw_pct = 100 * sum(1 for _, b in built_all if not b) / max(1, len(built_all))
    broken = Counter(r for _, b in built_all for r in b)
    # Distinct wrong options within each PDF's batch (across PDFs they differ anyway).
    slots = unique = 0
    for title in {d.material_title for d in delivered}:
        wrong = [o.casefold() for d in delivered if d.form == "term" and d.material_title == title
                 for i, o in enumerate(d.options or []) if i != d.correct_index]
        slots, unique = slots + len(wrong), unique + len(set(wrong))
    distinct = unique / max(1, slots)
    per100 = 100 * unique / max(1, len(delivered))
    delivered_ratio = allowed_delivered / max(1, allowed_requested)
    types = Counter(d.form for d in delivered)
    easy_mean = sum(easy) / max(1, len(easy))
    hard_mean = sum(hard) / max(1, len(hard))

    print("\n10 random questions:")
    rng = random.Random(args.seed)
    for d in rng.sample(delivered, min(10, len(delivered))):
        print(_show(d))
    print(f"\nPDFs: {len(pdfs)}; delivered {len(delivered)} of {requested} asked "
          f"({allowed_delivered}/{allowed_requested} where the material allows)")
    print(f"lint pass (delivered): {lint_pct:.1f}%   anchor, lint pass of every built draft "
          f"before filtering: {raw_pct:.1f}% ({len(built_all)} drafts); broken rules: "
          f"{dict(broken)}")
    print(f"distinct distractors: {distinct:.2f} of wrong options, {per100:.0f} per 100 questions")
    print(f"difficulty signal: easy batch {easy_mean:.3f}, hard batch {hard_mean:.3f}, "
          f"separation {hard_mean - easy_mean:+.3f}")
    print(f"time {time.perf_counter() - started:.0f}s")
    type_text = ",".join(f"{k}:{v}" for k, v in sorted(types.items()))
    print(f"RESULT lint_pass_pct={lint_pct:.1f} distinct_distractor_ratio={distinct:.2f} "
          f"delivered_ratio={delivered_ratio:.2f} types={type_text} "
          f"difficulty_separation={hard_mean - easy_mean:.3f} raw_lint_pass_pct={raw_pct:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
