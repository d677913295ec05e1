"""Quality of offline questions per language, and 20 sample questions to judge by hand.

    python -m bench.question_quality [DIR] [--count 20] [--no-samples] [--samples-from NAME ...]

Documents: by default an English paper (tracemonkey) and guide (file_pdfjs_test), a legal text (the GNU GPL
version 3 from /usr/share/common-licenses, rendered to a PDF here), German lecture notes
(ipi-skript-de), French course notes (cours-latex-fr) and the other `text` PDFs of
../shared/data/pdf-corpus; or every PDF in DIR, and every `.txt` file in DIR rendered to a PDF
the way the GPL is (paragraphs separated by blank lines). Each goes the app's path: sandboxed reading
and cleaning, chunking, language detection, key terms in that language embedded with the
configured model, then one offline batch of `--count` questions (a mix) at difficulty 3.

Reported per language (documents in a language the offline generator does not handle must
give no questions, and are listed):
- lint_pass: delivered questions passing the lint, shape and grounding checks (re-run here);
- distinct: distinct wrong options / all wrong options of term questions, per batch;
- reuse: wrong options (any form) used by more than one question of the same batch (target 0);
- coverage: of a document's sections (its readable pages cut into 10 equal page ranges; every
  readable page for shorter documents), the share a batch draws on (target >= 60%), over full
  batches, and apart over batches of half to all but one of those asked (`coverage_short`);
- yield: questions delivered of those asked;
- ambiguity: blanks refused because another key term fits as well, and options kept out for
  the same reason.
Then 5 questions from each of the four sample documents (2 English papers, the legal text,
the German notes; or from each document named by `--samples-from`, by file name without its
extension), numbered, for judging with `bench/question_rubric.md`. Ends with
`RESULT key=value ...`.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from engine.process import prepare_process

prepare_process()  # before anything imports litellm or Hugging Face code

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"  # ../shared/data
GPL = Path("/usr/share/common-licenses/GPL-3")
# Two English papers (TAMReview is read by OCR, which may time out on a loaded machine: then
# the English guide stands in), a legal text and German lecture notes.
SAMPLES = ("tracemonkey", "TAMReview|file_pdfjs_test", "GPL-3", "ipi-skript-de")
PER_SAMPLE = 5
SECTIONS = 10
READABLE_CHARS = 200


@dataclass
class DocResult:
    name: str
    language: str
    drafts: list = field(default_factory=list)
    passing: int = 0
    wrong_term: list[str] = field(default_factory=list)
    reused: int = 0
    sections: int = 0
    covered: int = 0
    rejections: Counter = field(default_factory=Counter)


_PLAIN = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
    | {"\u2026": "...", "\u2192": "->", "\u00a0": " "}
)


def _text_pdf(text: Path, folder: Path) -> Path:
    """A plain text file as a PDF of the same name in `folder`: paragraphs (blank-line separated)
    flow as prose, a paragraph indented by two spaces keeps its lines. The font is helvetica:
    typographic quotes, dashes and arrows become their latin-1 or ASCII forms, any other
    character outside latin-1 a question mark."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    body = text.read_text(encoding="utf-8").translate(_PLAIN)
    body = body.encode("latin-1", "replace").decode("latin-1")
    for para in body.split("\n\n"):
        pdf.multi_cell(0, 5, " ".join(para.split()) if not para.startswith("  ") else para)
        pdf.ln(2)
    out = folder / f"{text.stem}.pdf"
    pdf.output(str(out))
    return out


def _legal_pdf(folder: Path) -> Path | None:
    """The GPL-3 text as a PDF (a long legal text of numbered sections)."""
    return _text_pdf(GPL, folder) if GPL.is_file() else None


def _dir_pdfs(folder: Path, tmp: Path) -> list[Path]:
    """The PDFs in `folder`, and each of its `.txt` files rendered to a PDF in `tmp`."""
    texts = [_text_pdf(t, tmp) for t in sorted(folder.glob("*.txt"))]
    return sorted(list(folder.glob("*.pdf")) + texts, key=lambda p: p.name)


def _default_pdfs(folder: Path) -> list[Path]:
    pdfs = []
    index = SHARED / "pdf-corpus" / "index.tsv"
    if index.exists():
        with index.open(encoding="utf-8") as f:
            pdfs += [
                SHARED / "pdf-corpus" / r["file"]
                for r in csv.DictReader(f, delimiter="\t")
                if r["category"] == "text"
            ]
    pdfs += [
        p
        for p in (SHARED / "lang" / "ipi-skript-de.pdf", SHARED / "lang" / "cours-latex-fr.pdf")
        if p.exists()
    ]
    legal = _legal_pdf(folder)
    return pdfs + ([legal] if legal else [])


def _run(path: Path, settings, embed, count: int) -> DocResult | None:
    from engine.domain.language import is_supported, page_languages
    from engine.errors import EngineError
    from engine.generation import offline
    from engine.generation.drafts import Passage
    from engine.generation.lint import lint
    from engine.generation.validation import ground, normalise, validate
    from engine.ingestion.chunking import chunk_pages
    from engine.ingestion.pdf import read_pdf

    try:
        pdf = read_pdf(path.read_bytes(), settings=settings)
    except EngineError as e:
        print(f"  {path.name}: skipped ({e.user_message})")
        return None
    lang, _ = page_languages(pdf.pages)
    result = DocResult(path.stem, lang)
    if not is_supported(lang):
        print(
            f"  {path.name}: language {lang}: no questions (offline questions are not made in it)"
        )
        return result
    chunks = chunk_pages(
        pdf.pages,
        chunk_tokens=settings.ingestion.chunk_tokens,
        overlap_tokens=settings.ingestion.chunk_overlap_tokens,
    )
    passages = [
        Passage(i + 1, 1, path.stem, c.text, c.page_start, c.page_end) for i, c in enumerate(chunks)
    ]
    space = offline.build_space(
        # The app's sample: chunks spread over the whole document (offline_run._build_space).
        offline.spread_sample([c.text for c in chunks]),
        names=offline.author_names(pdf.pages[0]),
        embed=embed,
        lang=lang,
        whole="\n".join(pdf.pages),  # as the app: fixed phrases counted over every page
    )
    space.cut_openings = offline.cut_openings([c.text for c in chunks])
    # The app hands the generator chunks spread over the document (passages.spread_passages)
    # in document order: the same here, up to count * 8 of them.
    step = max(1, len(passages) / (count * 8))
    chosen = [passages[int(i * step)] for i in range(min(len(passages), count * 8))]
    result.drafts = list(
        offline.generate(
            chosen,
            {1: space},
            count=count,
            types=["mcq", "cloze", "short"],  # the app's offline mix (short: flashcards)
            difficulty=3,
            on_reject=lambda r: result.rejections.update([r]),
        )
    )
    sources = {p.chunk_id: p.text for p in passages}
    for d in result.drafts:
        ok = (
            validate(d) is None
            and ground(d, passages) is None
            and not lint(d, source=sources[d.source_chunk_id], names=space.names)
        )
        result.passing += ok
    wrong_all: Counter[str] = Counter()
    for d in result.drafts:
        wrong = [normalise(o) for i, o in enumerate(d.options or []) if i != d.correct_index]
        wrong_all.update(set(wrong))
        if d.form == "term":
            result.wrong_term += wrong
    result.reused = sum(n - 1 for n in wrong_all.values() if n > 1)
    readable = [i + 1 for i, p in enumerate(pdf.pages) if len(p.strip()) >= READABLE_CHARS]
    if readable:
        n = min(SECTIONS, len(readable))
        section_of = {page: k * n // len(readable) for k, page in enumerate(readable)}
        result.sections = n
        result.covered = len(
            {section_of.get(d.page_start, section_of.get(d.page_end)) for d in result.drafts}
            - {None}
        )
    print(
        f"  {path.name} [{lang}]: {len(result.drafts)}/{count} delivered, "
        f"{len(space.terms)} key terms, forms {dict(Counter(d.form for d in result.drafts))}, "
        f"coverage {result.covered}/{result.sections} sections, reuse {result.reused}"
    )
    return result


def _show(n: int, d) -> str:
    lines = [
        f"#{n} [{d.material_title} p.{d.page_start}] {d.form} · difficulty {d.difficulty}",
        f"  Q: {d.stem}",
    ]
    for i, o in enumerate(d.options or []):
        lines.append(f"   {'*' if i == d.correct_index else '-'} {o}")
    if not d.options:
        lines.append(f"   answer: {d.answer}")
    lines.append(f"  Why: {d.explanation}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", nargs="?", type=Path, help="folder of PDFs and .txt files")
    ap.add_argument("--count", type=int, default=20, help="questions asked per document")
    ap.add_argument("--no-samples", action="store_true", help="do not print the samples")
    ap.add_argument(
        "--samples-from",
        nargs="+",
        metavar="NAME",
        help="documents (file names without extension) to print the samples from",
    )
    ap.add_argument("--data", type=Path, help="the shared data folder (default ../shared/data)")
    args = ap.parse_args(argv)
    global SHARED
    SHARED = args.data or SHARED

    from engine.config import Settings
    from engine.retrieval.embeddings import load_embedder

    settings = Settings(log_level="WARNING")
    embed = load_embedder(settings).embed_documents
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        pdfs = _dir_pdfs(args.dir, Path(tmp)) if args.dir else _default_pdfs(Path(tmp))
        if not pdfs:
            print("no documents found (no shared corpus; pass a folder of PDFs or .txt files)")
            return 0
        results = [r for r in (_run(p, settings, embed, args.count) for p in pdfs) if r]

    by_lang: dict[str, list[DocResult]] = defaultdict(list)
    for r in results:
        by_lang[r.language].append(r)
    print("\nper language:")
    fields: list[str] = []
    for lang, docs in sorted(by_lang.items(), key=lambda x: -len(x[1])):
        delivered = sum(len(r.drafts) for r in docs)
        if not delivered:
            print(
                f"  {lang}: {len(docs)} document(s), no questions (as intended when the "
                "language is not handled)"
            )
            continue
        passing = sum(r.passing for r in docs)
        wrong = [w for r in docs for w in r.wrong_term]
        distinct = sum(len(set(r.wrong_term)) for r in docs) / len(wrong) if wrong else float("nan")
        reused = sum(r.reused for r in docs)
        long_docs = [r for r in docs if r.sections >= SECTIONS and len(r.drafts) >= args.count]
        coverage = (
            sum(r.covered / r.sections for r in long_docs) / len(long_docs)
            if long_docs
            else float("nan")
        )
        # A document that gives fewer than asked (the rest refused as weak or ambiguous): how
        # far its batch spreads is still measured, apart from the full batches.
        short = [
            r
            for r in docs
            if r.sections >= SECTIONS and args.count / 2 <= len(r.drafts) < args.count
        ]
        short_coverage = (
            sum(r.covered / r.sections for r in short) / len(short) if short else float("nan")
        )
        yield_pct = 100 * delivered / (args.count * len(docs))
        blanks = sum(r.rejections["ambiguous_blank"] for r in docs)
        options = sum(r.rejections["ambiguous_option"] for r in docs)
        lint_pct = 100 * passing / delivered
        print(
            f"  {lang}: {len(docs)} document(s), {delivered} questions; lint pass "
            f"{lint_pct:.1f}%; distinct distractors {distinct:.2f}; distractor reuse "
            f"{reused}; section coverage {100 * coverage:.0f}% (documents of 10+ readable "
            f"pages with a full batch: {len(long_docs)}; with a shorter one: "
            f"{100 * short_coverage:.0f}% of {len(short)}); yield {yield_pct:.0f}%; ambiguity: "
            f"{blanks} blanks refused, {options} options kept out"
        )
        fields += [
            f"lint_pass_pct_{lang}={lint_pct:.1f}",
            f"distinct_{lang}={distinct:.2f}",
            f"reuse_{lang}={reused}",
            f"coverage_pct_{lang}={100 * coverage:.0f}",
            f"coverage_short_pct_{lang}={100 * short_coverage:.0f}",
            f"yield_pct_{lang}={yield_pct:.0f}",
            f"ambiguous_blanks_{lang}={blanks}",
            f"ambiguous_options_{lang}={options}",
        ]

    if not args.no_samples:
        samples = args.samples_from or SAMPLES
        print(
            f"\n{PER_SAMPLE * len(samples)} sample questions ({PER_SAMPLE} from each of "
            f"{', '.join(samples)}); judge them with bench/question_rubric.md:"
        )
        n = 0
        for names in samples:
            doc = next(
                (r for name in names.split("|") for r in results if r.name == name and r.drafts),
                None,
            )
            if doc is None:
                print(f"  ({names} not found)")
                continue
            # Spread over the batch: every fourth question.
            picks = doc.drafts[:: max(1, len(doc.drafts) // PER_SAMPLE)][:PER_SAMPLE]
            for d in picks:
                n += 1
                print(_show(n, d))
    print(f"\ntime {time.perf_counter() - started:.0f}s")
    print("RESULT " + " ".join(fields))
    return 0


if __name__ == "__main__":
    sys.exit(main())
