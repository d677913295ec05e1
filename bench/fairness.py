"""Fair turns between learners, and the cap on text per byte of file.

    python -m bench.fairness [--big-pages 400] [--big-files 2] [--small-pages 3]

Fairness: one worker (the app's default, concurrency 1) is running; learner A queues
--big-files uploads of --big-pages pages, and two seconds after A's first upload has started,
learner B queues a --small-pages upload. Measured in the same run twice: with first come,
first served (the anchor: every job at the same priority and no stepping aside, as before fair
turns) and with fair turns (round-robin priorities, `jobs_fair_slice_s` stepping aside). Reported
per mode: B's wait from queueing to done, A's total from queueing to done, and how often A's
ingestion stepped aside.

Amplification: a PDF of about 4 KB whose pages all share one content stream that draws a form
XObject 900 times (`tests.support.library_pdfs.amplifying_pdf`): its characters of text per
byte of file with the cap off, and what the reader accepts with the cap on (default 20).

Ends with `RESULT b_wait_fifo_s=... b_wait_fair_s=... a_total_fifo_s=... a_total_fair_s=...
pauses_fair=... amp_bytes=... amp_chars_per_byte_uncapped=... amp_refused=...`.
"""

from __future__ import annotations

import argparse
import io
import sys
import time

from bench._library import bench_runtime, bench_user
from bench.ingest import make_book


def _wait(rt, job_id: int, user_id: int, *, until: str = "finished"):
    from engine import jobs

    while True:
        job = jobs.get_job(rt, job_id, user_id=user_id)
        if job.finished if until == "finished" else job.outcome == until:
            return job
        time.sleep(0.05)


def _run_mode(rt, *, fair: bool, big: bytes, small: bytes, big_files: int) -> dict:
    import engine.jobs as jobs_service
    from engine.jobs import tasks
    from engine.jobs.fairness import fair_priority
    from engine.jobs.worker import EmbeddedWorker

    pauses: list[int] = []
    real_requeue = tasks.requeue

    def counting_requeue(rt, context, task, **kwargs):
        pauses.append(kwargs["job_id"])
        return real_requeue(rt, context, task, **kwargs)

    tasks.requeue = counting_requeue
    jobs_service.fair_priority = fair_priority if fair else (lambda rt, user_id: 0)
    saved = rt.settings
    if not fair:
        rt.settings = rt.settings.replace(jobs_fair_slice_s=1e9)
    a, b = bench_user(rt, "big"), bench_user(rt, "small")
    worker = EmbeddedWorker(rt, concurrency=1).start()
    try:
        t_a = time.perf_counter()
        mine = [
            jobs_service.submit_ingestion(
                rt,
                user_id=a,
                source=io.BytesIO(big + f"% copy {i}\n".encode()),
                filename=f"big-{i}.pdf",
            )
            for i in range(big_files)
        ]
        _wait(rt, mine[0], a, until="running")
        time.sleep(2.0)
        t_b = time.perf_counter()
        theirs = jobs_service.submit_ingestion(
            rt, user_id=b, source=io.BytesIO(small), filename="small.pdf"
        )
        done_b = _wait(rt, theirs, b)
        b_wait = time.perf_counter() - t_b
        for job_id in mine:
            assert _wait(rt, job_id, a).outcome == "done"
        a_total = time.perf_counter() - t_a
        assert done_b.outcome == "done", done_b.message
    finally:
        worker.stop()
        tasks.requeue = real_requeue
        jobs_service.fair_priority = fair_priority
        rt.settings = saved
    return {"b_wait": b_wait, "a_total": a_total, "pauses": len(pauses)}


def _amplification(rt) -> tuple[int, float, str]:
    from engine.errors import PdfTooMuchText
    from engine.ingestion.pdf import read_pdf
    from tests.support.library_pdfs import amplifying_pdf

    data = amplifying_pdf(pages=20)
    uncapped = read_pdf(data, settings=rt.settings.replace(pdf_max_chars_per_byte=1e9))
    chars = sum(len(p) for p in uncapped.pages)
    print(
        f"amplifying PDF: {len(data):,} bytes, {uncapped.page_count} pages -> {chars:,} "
        f"characters = {chars / len(data):,.1f} per byte (cap off)"
    )
    try:
        read_pdf(data, settings=rt.settings)
        outcome = "accepted"
    except PdfTooMuchText as e:
        outcome = "refused"
        print(
            f"cap {rt.settings.ingestion.pdf_max_chars_per_byte:g}/byte: refused: {e.user_message}"
        )
    return len(data), chars / len(data), outcome


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--big-pages", type=int, default=400)
    p.add_argument("--big-files", type=int, default=2)
    p.add_argument("--small-pages", type=int, default=3)
    args = p.parse_args(argv)

    import logging

    rt = bench_runtime(library_max_pages=0, upload_max_pages_per_day=0)
    logging.getLogger("engine").setLevel(logging.ERROR)  # slow-query notes under the load
    rt.embedder.embed_documents(["warm up the model once, as a running app has"])
    amp_bytes, amp_ratio, amp_outcome = _amplification(rt)

    big, small = make_book(args.big_pages), make_book(args.small_pages)
    print(
        f"\nlearner A: {args.big_files} x {args.big_pages} pages; learner B: "
        f"{args.small_pages} pages, queued 2 s after A's first upload started; one worker; "
        f"fair slice {rt.settings.jobs.fair_slice_s:g} s"
    )
    figures = {}
    for fair in (False, True):
        name = "fair turns" if fair else "first come, first served (anchor)"
        r = _run_mode(rt, fair=fair, big=big, small=small, big_files=args.big_files)
        figures[fair] = r
        print(
            f"{name}: B waited {r['b_wait']:.1f} s; A's uploads done after "
            f"{r['a_total']:.1f} s; A stepped aside {r['pauses']} time(s)"
        )
    fifo, fair = figures[False], figures[True]
    print(
        f"B's wait: {fifo['b_wait']:.1f} s -> {fair['b_wait']:.1f} s "
        f"({fifo['b_wait'] / max(fair['b_wait'], 1e-9):.1f}x shorter); A's total "
        f"{fifo['a_total']:.1f} s -> {fair['a_total']:.1f} s"
    )
    print(
        f"RESULT b_wait_fifo_s={fifo['b_wait']:.1f} b_wait_fair_s={fair['b_wait']:.1f} "
        f"a_total_fifo_s={fifo['a_total']:.1f} a_total_fair_s={fair['a_total']:.1f} "
        f"pauses_fair={fair['pauses']} amp_bytes={amp_bytes} "
        f"amp_chars_per_byte_uncapped={amp_ratio:.1f} amp_refused={amp_outcome == 'refused'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
