"""Login floods against a fresh embedded PostgreSQL.

1. Race: GUESSES threads send a wrong password for one email at the same instant; counts the
   real bcrypt checks (target: at most `login_max_failures`, the anchor printed beside it).
2. Flood: FLOOD wrong logins for distinct emails from many threads while the main thread keeps
   looking accounts up; the lookup latency is compared with the same lookups on an idle server
   measured in the same run (anchor), and pool timeouts are counted (target: none).
3. Crowd: CROWD threads log in to one email at the same instant (the right password and wrong
   ones) against a second database with a 2-connection pool (1 s pool timeout); the peak of
   checked-out connections and every outcome are counted (target: only engine answers, "busy"
   included, never a raw pool timeout).

    python -m bench.login_flood [--guesses 24] [--flood 40] [--threads 20] [--crowd 40]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bench._library import bench_runtime
from engine import accounts
from engine.accounts import passwords
from engine.errors import AccountLocked, AuthenticationFailed, RateLimited

PASSWORD = "benchmark password 123"


def _counting_bcrypt() -> dict[str, int]:
    real = passwords.verify_password
    calls = {"n": 0}
    lock = threading.Lock()

    def counted(password: str, password_hash: str) -> bool:
        with lock:
            calls["n"] += 1
        return real(password, password_hash)

    passwords.verify_password = counted
    return calls


def _attempt(rt, email: str, password: str) -> str:
    try:
        accounts.authenticate(rt, email=email, password=password)
    except (AccountLocked, AuthenticationFailed, RateLimited) as e:
        return type(e).__name__
    except Exception as e:  # noqa: BLE001 (a pool timeout is a figure of this benchmark)
        return type(e).__name__
    return "ok"


def _race(rt, guesses: int, calls: dict[str, int]) -> int:
    email = "race@example.com"
    accounts.register_user(rt, email=email, password=PASSWORD, display_name="Race")
    before = calls["n"]
    barrier = threading.Barrier(guesses)

    def guess(i: int) -> str:
        barrier.wait()
        return _attempt(rt, email, f"wrong guess number {i}")

    with ThreadPoolExecutor(guesses) as pool:
        outcomes = list(pool.map(guess, range(guesses)))
    print(
        f"race: {guesses} parallel guesses -> "
        + ", ".join(f"{o}={outcomes.count(o)}" for o in sorted(set(outcomes)))
    )
    return calls["n"] - before


def _lookups(rt, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        accounts.get_account(rt, email="owner@example.com")
        times.append((time.perf_counter() - start) * 1000)
    return times


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def _flood(rt, flood: int, threads: int) -> tuple[list[float], list[str], float]:
    done = threading.Event()
    with ThreadPoolExecutor(threads) as pool:
        start = time.perf_counter()
        futures = [
            pool.submit(_attempt, rt, f"flood{i}@example.com", "wrong guess!!")
            for i in range(flood)
        ]
        pool.submit(lambda: (all(f.result() for f in futures), done.set()))
        during: list[float] = []
        while not done.is_set():
            during += _lookups(rt, 5)
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        outcomes = [f.result() for f in futures]
    return during, outcomes, elapsed


def _crowd(n: int) -> tuple[list[str], int, float]:
    rt = bench_runtime(db_pool_size=2, db_max_overflow=0, db_pool_timeout_s=1)
    accounts.register_user(
        rt, email="crowd@example.com", password=PASSWORD, display_name="Crowd", by_admin=True
    )
    barrier = threading.Barrier(n)
    peak = {"out": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak["out"] = max(peak["out"], rt.engine.pool.checkedout())
            time.sleep(0.001)

    def one(i: int) -> str:
        barrier.wait()
        return _attempt(rt, "crowd@example.com", PASSWORD if i % 4 == 0 else f"wrong {i}")

    watcher = threading.Thread(target=sample)
    watcher.start()
    start = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        outcomes = list(pool.map(one, range(n)))
    elapsed = time.perf_counter() - start
    done.set()
    watcher.join()
    return outcomes, peak["out"], elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guesses", type=int, default=24)
    parser.add_argument("--flood", type=int, default=40)
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--crowd", type=int, default=40)
    args = parser.parse_args()

    rt = bench_runtime()
    s = rt.settings
    print(
        f"settings: login_max_failures={s.accounts.login_max_failures} "
        f"bcrypt_concurrency={s.accounts.login_bcrypt_concurrency} pool={s.database.pool_size}"
        f"+{s.database.max_overflow} pool_timeout_s={s.database.pool_timeout_s}"
    )
    calls = _counting_bcrypt()
    accounts.dummy_hash()
    checks = _race(rt, args.guesses, calls)
    print(
        f"race: real bcrypt checks={checks} (anchor: limit {s.accounts.login_max_failures}; "
        f"guesses {args.guesses})"
    )

    accounts.register_user(rt, email="owner@example.com", password=PASSWORD, display_name="Owner")
    idle = _lookups(rt, 100)
    during, outcomes, elapsed = _flood(rt, args.flood, args.threads)
    timeouts = sum(
        o not in {"AuthenticationFailed", "AccountLocked", "RateLimited"} for o in outcomes
    )
    print(
        f"flood: {args.flood} wrong logins from {args.threads} threads in {elapsed:.1f} s "
        f"({args.flood / elapsed:.1f}/s); outcomes "
        + ", ".join(f"{o}={outcomes.count(o)}" for o in sorted(set(outcomes)))
    )
    print(
        f"account lookup p50/p95 ms: idle (anchor) {statistics.median(idle):.2f}/"
        f"{_p95(idle):.2f}; during the flood {statistics.median(during):.2f}/"
        f"{_p95(during):.2f} over {len(during)} lookups"
    )
    crowd, peak, crowd_s = _crowd(args.crowd)
    engine_answers = {"ok", "AuthenticationFailed", "AccountLocked", "RateLimited"}
    crowd_errors = sum(o not in engine_answers for o in crowd)
    print(
        f"crowd: {args.crowd} logins on one email at once, pool 2+0 (timeout 1 s), in "
        f"{crowd_s:.1f} s; peak connections checked out {peak}; outcomes "
        + ", ".join(f"{o}={crowd.count(o)}" for o in sorted(set(crowd)))
    )
    print(
        f"RESULT guesses={args.guesses} limit={s.accounts.login_max_failures} "
        f"real_checks={checks} "
        f"flood={args.flood} flood_errors={timeouts} lookup_p95_ms_idle={_p95(idle):.2f} "
        f"lookup_p95_ms_flood={_p95(during):.2f} crowd={args.crowd} "
        f"crowd_errors={crowd_errors} crowd_peak_connections={peak}"
    )
    rt.engine.dispose()


if __name__ == "__main__":
    main()
