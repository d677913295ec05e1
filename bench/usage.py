"""What reserving a model call costs: reserve + settle per call, alone and with parallel
learners, beside a plain one-row insert into the usage log (the anchor: what logging a call
cost before reservations).

    python -m bench.usage [--calls 200] [--threads 8]

Prints the figures and ends with one `RESULT` line.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from engine.process import prepare_process

prepare_process()  # before anything imports litellm or Hugging Face code

from sqlalchemy import insert  # noqa: E402

from engine import usage  # noqa: E402
from engine.accounts import register_user  # noqa: E402
from engine.bootstrap import create_runtime  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db.models import LLMUsage  # noqa: E402


def _ms(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def _plain_insert(rt, user_id: int) -> None:
    with rt.session_factory.begin() as s:
        s.execute(
            insert(LLMUsage).values(
                user_id=user_id,
                request_id=str(uuid.uuid4()),
                task="grading",
                generator="llm",
                model="m",
                outcome="ok",
                tokens_in=10,
                tokens_out=5,
            )
        )


def _reserved_call(rt, user_id: int, settings: Settings) -> None:
    r = usage.reserve(rt.with_settings(settings), user_id=user_id, task=usage.GRADING, units=1)
    usage.settle(rt, r, model="m", outcome="ok", tokens_in=10, tokens_out=5)


def _timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp(prefix="groundwork-bench-usage-")),
        database_url=None,
        log_level="WARNING",
        grading_max_per_hour=1_000_000,
        llm_max_requests_per_day=1_000_000,
    )
    rt = create_runtime(settings)
    users = [
        register_user(
            rt,
            email=f"u{i}-{uuid.uuid4().hex[:6]}@ex.com",
            password="benchmark password 123",
            display_name="Bench",
        ).user_id
        for i in range(args.threads)
    ]
    # Warm both paths, then measure them one after the other on the same learner.
    _timed(lambda: _plain_insert(rt, users[0]), 20)
    _timed(lambda: _reserved_call(rt, users[0], settings), 20)
    plain = _timed(lambda: _plain_insert(rt, users[0]), args.calls)
    reserved = _timed(lambda: _reserved_call(rt, users[0], settings), args.calls)

    # Parallel: one thread per learner (per-learner locks do not block each other), and all
    # threads on one learner (its calls are serialised by design).
    def parallel(same_learner: bool) -> float:
        per_thread = max(1, args.calls // args.threads)

        def work(i: int) -> None:
            uid = users[0] if same_learner else users[i]
            for _ in range(per_thread):
                _reserved_call(rt, uid, settings)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(args.threads)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return per_thread * args.threads / (time.perf_counter() - t)

    many = parallel(False)
    one = parallel(True)
    p50_plain, p95_plain = _ms(plain)
    p50_res, p95_res = _ms(reserved)
    print(f"anchor: plain usage-log insert   p50 {p50_plain:.2f} ms  p95 {p95_plain:.2f} ms")
    print(f"reserve + settle per model call  p50 {p50_res:.2f} ms  p95 {p95_res:.2f} ms")
    print(
        f"parallel, {args.threads} learners: {many:.0f} calls/s; "
        f"{args.threads} threads on one learner: {one:.0f} calls/s"
    )
    print(
        f"RESULT reserve_settle_p50_ms={p50_res:.2f} reserve_settle_p95_ms={p95_res:.2f} "
        f"plain_insert_p50_ms={p50_plain:.2f} parallel_learners_calls_per_s={many:.0f} "
        f"one_learner_calls_per_s={one:.0f}"
    )
    rt.engine.dispose()


if __name__ == "__main__":
    main()
