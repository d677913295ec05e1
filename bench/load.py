"""Load and job throughput: N simulated learners on one PostgreSQL with 1 and 2 worker processes.

    python -m bench.load [--learners 50] [--seconds 60] [--workers 1 2] [--uploaders 0.2]
                         [--processes 2] [--think 5] [--ramp 10] [--stress-seconds 20]

Each run gets a fresh embedded PostgreSQL, a Chroma server and `python -m engine worker`
processes (the app's embedded worker is off, as under compose). Learners are served by
`--processes` app processes (as behind the compose file's load balancer: each process has its
own runtime, connection pool and caches), each running its share of the learners as threads
that call the engine services the pages call: sign in (bcrypt), then for the run's duration
answer questions from a seeded bank (question view + submit, 70 %) and search their library
(30 %), pausing between actions for a think time drawn uniformly from 0.5x to 1.5x `--think`
seconds (a learner reads a question, or the search results, before the next click); learners
arrive one after another over the first `--ramp` seconds, as a class signs in. A share
of learners (`--uploaders`) also uploads two small PDFs and asks for an offline generation
batch, which run as queued jobs. Afterwards the run waits for every queued job. A stress phase
(`--stress-seconds`, no think time: every learner, still signed in, clicks again as soon as the
last action returns) follows in the same database, reported beside the paced figures.

Reported per operation: count, throughput, p50 and p95; lost attempts (a submit that returned
but whose attempt is not in PostgreSQL), duplicated attempts, failed requests (anything but an
intentional limit), jobs queued and finished. Anchor, measured in the same run: one learner
alone (same services, same database) for a few seconds. Targets at N = 50 (paced): 0 lost or
duplicated attempts, 0 failed requests, submit p95 < 50 ms, search p95 < 300 ms, every queued
job finished. Ends with `RESULT learners=... workers=... processes=... think_s=...
submit_p95_ms=... search_p95_ms=... lost_attempts=... failed_requests=... jobs_done=...
jobs_queued=... stress_submit_p95_ms=... stress_search_p95_ms=...`.
"""

from __future__ import annotations

from engine.process import prepare_process

prepare_process()  # before anything imports litellm or Hugging Face code

import argparse  # noqa: E402
import io  # noqa: E402
import logging  # noqa: E402
import multiprocessing  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import defaultdict  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

from sqlalchemy import func, insert, select  # noqa: E402

from engine.bootstrap import create_runtime  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db.embedded import start_embedded_postgres  # noqa: E402
from engine.db.migrate import upgrade_head  # noqa: E402
from engine.errors import QuestionUnavailable, RateLimited  # noqa: E402
from engine.runtime import Runtime  # noqa: E402

PASSWORD = "benchmark password 123"
TOPICS = [
    "photosynthesis light reactions chlorophyll",
    "glaciers firn compaction ice flow",
    "tides moon gravity spring neap",
    "mitochondria respiration ATP synthase",
    "volcanoes magma plates eruption",
    "enzymes substrate active site",
]
INTENTIONAL = (RateLimited, QuestionUnavailable)
SIGN_IN_TRIES = 6


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.failures: list[str] = []
        self.limits = 0
        self.limited: dict[str, int] = {}
        self.attempts: list[int] = []
        self.jobs: list[int] = []

    def snapshot(self) -> dict:
        """What a learner process sends back to the parent (picklable)."""
        return {
            "times": dict(self.times),
            "failures": self.failures,
            "limits": self.limits,
            "limited": self.limited,
            "attempts": self.attempts,
            "jobs": self.jobs,
        }

    @classmethod
    def merged(cls, parts: list[dict]) -> Recorder:
        rec = cls()
        for part in parts:
            for op, xs in part["times"].items():
                rec.times[op].extend(xs)
            rec.failures += part["failures"]
            rec.limits += part["limits"]
            for op, n in part["limited"].items():
                rec.limited[op] = rec.limited.get(op, 0) + n
            rec.attempts += part["attempts"]
            rec.jobs += part["jobs"]
        return rec

    def timed(self, op: str, fn, *args, **kwargs):
        t = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except INTENTIONAL:
            with self.lock:
                self.limits += 1
                self.limited[op] = self.limited.get(op, 0) + 1
            return None
        except Exception as e:  # noqa: BLE001 - every failure is counted and reported
            with self.lock:
                self.failures.append(f"{op}: {type(e).__name__}: {e}")
            return None
        with self.lock:
            self.times[op].append((time.perf_counter() - t) * 1000)
        return result


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] if len(xs) > 1 else xs[0]


def _text(i: int) -> list[str]:
    topic = TOPICS[i % len(TOPICS)]
    return [
        f"Notes {i} page {p}. " + f"The study of {topic} explains how each part works. " * 30
        for p in range(3)
    ]


def seed(rt: Runtime, n: int, questions: int) -> list[tuple[int, str, list[int]]]:
    from engine import accounts, library
    from engine.db.models import Question

    def one(i: int) -> tuple[int, str, list[int]]:
        email = f"learner{i}-{uuid.uuid4().hex[:6]}@example.com"
        uid = accounts.register_user(
            rt,
            email=email,
            password=PASSWORD,  # seeded, not signed up
            display_name=f"Learner {i}",
            by_admin=True,
        ).user_id
        with rt.session_factory.begin() as s:
            ids = list(
                s.scalars(
                    insert(Question).returning(Question.id),
                    [
                        dict(
                            user_id=uid,
                            type="mcq",
                            stem=f"Which organelle makes ATP? ({i}.{k})",
                            options=["Nucleus", "Mitochondrion", "Ribosome", "Golgi body"],
                            correct_index=1,
                            answer="Mitochondrion",
                            key_points=[],
                            explanation="Mitochondria run respiration.",
                            difficulty=3,
                            excerpt="The mitochondrion is the site of aerobic respiration.",
                            page_start=1,
                            page_end=1,
                            material_title="Cell Biology",
                            generator="offline",
                        )
                        for k in range(questions)
                    ],
                )
            )
        pages = _text(i)
        library.ingest_pages(
            rt,
            user_id=uid,
            pages=pages,
            title=f"Notes {i}",
            filename=f"notes{i}.pdf",
            sha256=uuid.uuid4().hex * 2,
            size_bytes=sum(map(len, pages)),
        )
        return uid, email, ids

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(n)))


def learner(
    rt: Runtime,
    rec: Recorder,
    who: tuple[int, str, list[int]],
    *,
    until: float,
    uploads: bool,
    rng: random.Random,
    think: float,
    duration: float | None = None,
    arrive: float = 0.0,
    sign_in: bool = True,
) -> None:
    """One learner's session: arrives `arrive` seconds after the start; with `duration`, it
    runs that long after signing in. Between actions the learner thinks for 0.5x-1.5x `think`
    seconds (0: clicks again at once)."""
    from engine import accounts, jobs, library
    from engine.practice.queue import get_practice_question
    from engine.practice.submit import submit_answer
    from tests.support.library_pdfs import text_pdf

    uid, email, questions = who
    time.sleep(arrive)
    for _ in range(SIGN_IN_TRIES if sign_in else 0):
        # "The server is busy checking other logins": the learner tries again shortly.
        if (
            rec.timed("sign_in", accounts.authenticate, rt, email=email, password=PASSWORD)
            is not None
        ):
            break
        time.sleep(5)
    else:
        if sign_in:
            return
    if duration is not None:
        until = time.monotonic() + duration
    if uploads:
        for k in range(2):
            data = text_pdf([f"Upload {uid}.{k}. " + _text(uid + k)[0]])
            job = rec.timed(
                "queue_upload",
                jobs.submit_ingestion,
                rt,
                user_id=uid,
                source=io.BytesIO(data),
                filename=f"upload{k}.pdf",
            )
            if job:
                rec.jobs.append(job)
        job = rec.timed(
            "queue_generate",
            jobs.submit_generation,
            rt,
            user_id=uid,
            material_ids=None,
            topic=None,
            question_type="mix",
            difficulty=3,
            count=3,
        )
        if job:
            rec.jobs.append(job)

    def pause() -> None:
        if think > 0:
            time.sleep(min(rng.uniform(0.5, 1.5) * think, max(0.0, until - time.monotonic())))

    while time.monotonic() < until:
        if rng.random() < 0.3:
            rec.timed(
                "search", library.search_library, rt, user_id=uid, query=rng.choice(TOPICS), k=8
            )
            pause()
            continue
        qid = rng.choice(questions)
        if (
            rec.timed("view_question", get_practice_question, rt, user_id=uid, question_id=qid)
            is None
        ):
            continue
        result = rec.timed(
            "submit",
            submit_answer,
            rt,
            user_id=uid,
            question_id=qid,
            token=uuid.uuid4().hex,
            response=rng.choice([1, 2]),
            confidence=3,
            seconds=8,
            expected_reviews=None,
        )
        if result is not None:
            with rec.lock:
                rec.attempts.append(result.attempt_id)
        pause()


def serve(
    settings: Settings,
    share: list[tuple[tuple[int, str, list[int]], bool, int, float]],
    duration: float,
    think: float,
    ready,
) -> dict:
    """One app process: its own runtime and pool, its share of the learners as threads.
    Starts the clock once every process is ready, so all run the same `duration`."""
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("engine").setLevel(logging.ERROR)
    rt = create_runtime(settings, migrate=False)
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    # A serving app process has its embedding model loaded (the first search of a fresh
    # process loads it, once); learners' own search indexes are left cold.
    rt.embedder.embed_query("warm up")
    rec = Recorder()
    try:
        ready.wait()
        until = time.monotonic() + duration
        threads = [
            threading.Thread(
                target=learner,
                args=(rt, rec, who),
                kwargs={
                    "until": until,
                    "uploads": uploads,
                    "rng": random.Random(seed),
                    "think": think,
                    "arrive": arrive,
                    "sign_in": think > 0,
                },
            )
            for who, uploads, seed, arrive in share
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        rt.engine.dispose()
    return rec.snapshot()


def phase(
    settings: Settings,
    who: list,
    *,
    processes: int,
    duration: float,
    think: float,
    uploaders: int,
    seed: int,
    ramp: float,
) -> tuple[Recorder, float]:
    """All learners for `duration` seconds, spread over `processes` app processes, arriving
    one after another over the first `ramp` seconds."""
    ctx = multiprocessing.get_context("spawn")
    shares: list[list] = [[] for _ in range(processes)]
    for i, w in enumerate(who):
        shares[i % processes].append((w, i < uploaders, seed + i, ramp * i / len(who)))
    with ctx.Manager() as manager:
        ready = manager.Barrier(processes + 1)
        with ctx.Pool(processes) as pool:
            pending = pool.starmap_async(
                serve, [(settings, share, duration, think, ready) for share in shares]
            )
            ready.wait()
            started = time.perf_counter()
            parts = pending.get()
            elapsed = time.perf_counter() - started
    return Recorder.merged(parts), elapsed


def run(args: argparse.Namespace, workers: int) -> dict:
    from engine.db.models import Attempt, JobProgress
    from tests.support.processes import ChromaServer, process_env, start_worker, stop

    folder = Path(tempfile.mkdtemp(prefix="groundwork-load-"))
    url = start_embedded_postgres(folder / "postgres", cleanup_mode="delete")
    upgrade_head(url)
    chroma = ChromaServer(folder / "chroma")
    settings = Settings(
        data_dir=folder / "data",
        database_url=url,
        chroma_host="127.0.0.1",
        chroma_port=chroma.port,
        embedded_worker=False,
        log_level="WARNING",
        db_pool_size=20,
        db_max_overflow=30,
    )
    rt = create_runtime(settings, migrate=False)
    procs = []
    try:
        t = time.perf_counter()
        who = seed(rt, args.learners, questions=40)
        print(f"  seeded {len(who)} learners in {time.perf_counter() - t:.0f} s", flush=True)
        env = process_env(
            settings, GROUNDWORK_JOBS_HEARTBEAT_S="2", GROUNDWORK_JOBS_STALLED_AFTER_S="10"
        )
        procs = [
            start_worker(env, folder / f"worker{i}.log", concurrency=1) for i in range(workers)
        ]
        anchor = Recorder()
        learner(
            rt,
            anchor,
            who[0],
            until=0,
            duration=args.anchor_seconds,
            uploads=False,
            rng=random.Random(7),
            think=0,
        )
        uploaders = max(1, round(args.learners * args.uploaders))
        rec, elapsed = phase(
            settings,
            who,
            processes=args.processes,
            duration=args.seconds,
            think=args.think,
            uploaders=uploaders,
            seed=0,
            ramp=args.ramp,
        )
        stress = None
        if args.stress_seconds > 0:
            stress, _ = phase(
                settings,
                who,
                processes=args.processes,
                duration=args.stress_seconds,
                think=0,
                uploaders=0,
                seed=1000,
                ramp=0,
            )
        drain_start = time.perf_counter()
        deadline = time.monotonic() + args.drain_seconds
        while True:
            with rt.session_factory() as s:
                active = s.scalar(
                    select(func.count())
                    .select_from(JobProgress)
                    .where(JobProgress.outcome.in_(("queued", "running")))
                )
            if not active or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        drain = time.perf_counter() - drain_start
        with rt.session_factory() as s:
            outcomes = dict(
                s.execute(
                    select(JobProgress.outcome, func.count()).group_by(JobProgress.outcome)
                ).all()
            )
            stored = set(s.scalars(select(Attempt.id)))
        stored -= set(anchor.attempts)
        returned = rec.attempts + (stress.attempts if stress else [])
        recorded = set(returned)
        return {
            "workers": workers,
            "rec": rec,
            "stress": stress,
            "anchor": anchor,
            "elapsed": elapsed,
            "drain": drain,
            "outcomes": outcomes,
            "lost": len(recorded - stored),
            "duplicated": len(returned) - len(recorded) + len(stored - recorded),
        }
    finally:
        for p in procs:
            stop(p)
        chroma.stop()
        rt.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def _table(rec: Recorder, anchor: Recorder, elapsed: float) -> None:
    print(
        f"{'operation':16} {'count':>6} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8} {'alone p95':>10}"
    )
    for op in sorted(rec.times):
        xs = rec.times[op]
        alone = anchor.times.get(op)
        print(
            f"{op:16} {len(xs):6d} {len(xs) / elapsed:7.1f} {_pct(xs, 50):8.1f} "
            f"{_pct(xs, 95):8.1f} {(_pct(alone, 95) if alone else float('nan')):10.1f}"
        )


def report(r: dict, args: argparse.Namespace) -> None:
    rec, anchor = r["rec"], r["anchor"]
    print(
        f"\n== {r['workers']} worker process(es), {args.processes} app processes: "
        f"{r['elapsed']:.1f} s of load with {args.think:g} s think time, jobs drained "
        f"{r['drain']:.1f} s after"
    )
    _table(rec, anchor, r["elapsed"])
    if r["stress"] is not None:
        print(f"-- stress, no think time, {args.stress_seconds:g} s:")
        _table(r["stress"], anchor, args.stress_seconds)
        rec = Recorder.merged([rec.snapshot(), r["stress"].snapshot()])
    print(
        f"jobs: {r['outcomes']}; lost attempts {r['lost']}, duplicated {r['duplicated']}, "
        f"failed requests {len(rec.failures)}, intentional limits {rec.limits} "
        f"{rec.limited or ''}"
    )
    for f in rec.failures[:5]:
        print("  failure:", f)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--learners", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--processes", type=int, default=2, help="app processes serving learners")
    p.add_argument(
        "--think", type=float, default=5.0, help="mean seconds a learner thinks between actions"
    )
    p.add_argument(
        "--ramp",
        type=float,
        default=10,
        help="learners arrive one after another over this many seconds",
    )
    p.add_argument(
        "--stress-seconds",
        type=float,
        default=20,
        help="then this long with no think time (0: skip)",
    )
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--uploaders", type=float, default=0.2, help="share of learners uploading")
    p.add_argument("--anchor-seconds", type=float, default=5)
    p.add_argument("--drain-seconds", type=float, default=600)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("engine").setLevel(logging.ERROR)
    results = []
    for w in args.workers:
        print(
            f"run with {w} worker process(es), {args.learners} learners, {args.seconds:.0f} s",
            flush=True,
        )
        results.append(run(args, w))
        report(results[-1], args)

    def worst(op: str, key: str = "rec") -> float:
        return max(_pct(r[key].times.get(op, []) if r[key] else [], 95) for r in results)

    done = sum(r["outcomes"].get("done", 0) for r in results)
    queued = sum(len(r["rec"].jobs) for r in results)
    failed_jobs = sum(r["outcomes"].get("failed", 0) for r in results)
    alone_submit = max(_pct(r["anchor"].times.get("submit", []), 95) for r in results)
    alone_search = max(_pct(r["anchor"].times.get("search", []), 95) for r in results)
    print(
        f"\nanchor (one learner alone, same run): submit p95 {alone_submit:.1f} ms, "
        f"search p95 {alone_search:.1f} ms; targets: submit p95 < 50 ms, search p95 < 300 ms"
    )
    failed = sum(
        len(r["rec"].failures) + (len(r["stress"].failures) if r["stress"] else 0) for r in results
    )
    print(
        f"RESULT learners={args.learners} workers={'+'.join(map(str, args.workers))} "
        f"processes={args.processes} think_s={args.think:g} "
        f"submit_p95_ms={worst('submit'):.1f} search_p95_ms={worst('search'):.1f} "
        f"lost_attempts={sum(r['lost'] + r['duplicated'] for r in results)} "
        f"failed_requests={failed} "
        f"jobs_done={done} jobs_queued={queued} jobs_failed={failed_jobs} "
        f"alone_submit_p95_ms={alone_submit:.1f} alone_search_p95_ms={alone_search:.1f} "
        f"stress_submit_p95_ms={worst('submit', 'stress'):.1f} "
        f"stress_search_p95_ms={worst('search', 'stress'):.1f}"
    )


if __name__ == "__main__":
    main()
