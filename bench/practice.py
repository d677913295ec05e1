"""Practice at scale: the due-queue query and the answer-submit path on 10 million attempts.

    python -m bench.practice [--learners 10000] [--states-per-learner 100]
                             [--attempts-per-state 10] [--samples 2000]

Builds the schema with the migrations (Alembic, as the app does on start) and fills PostgreSQL
(DATABASE_URL, or an embedded server in a temp folder) in-database with `generate_series`:
learners with profiles, questions, review states (due dates spread from ten days ago to two
months ahead) and attempts, then times, on random learners:

* the product's due-queue read (`engine.practice.queue.PROFILE_AND_DUE`: the learner's profile
  with their due reviews, on a read session, as `build_queue` runs it) beside its floor: one
  indexed SELECT of the due reviews alone through SQLAlchemy Core;
* the product's submit path (`engine.practice.submit.submit_answer` for a multiple-choice
  answer: one locking read of the learner, question, schedule and the question's attempt
  aggregates; grading, both schedulers, XP, streak and question quality in Python; one write
  statement for the attempt, schedule, learner and question) beside its floor: a row lock, an
  INSERT and an UPDATE in one transaction through SQLAlchemy Core;

and prints the query plans. Targets: due p95 < 2 ms, submit p95 < 8 ms, each within 3x of its
floor. No partitioning: the partial index (user_id, due_at) WHERE NOT suspended keeps the queue
a short range scan. Ends with `RESULT due_p50_ms=... due_p95_ms=... submit_p50_ms=...
submit_p95_ms=... due_floor_p95_ms=... submit_floor_p95_ms=...`.
"""

from __future__ import annotations

import os

from engine.process import prepare_process

prepare_process()  # before anything imports litellm or Hugging Face code

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

from sqlalchemy import text  # noqa: E402

from engine.bootstrap import create_runtime  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db.embedded import start_embedded_postgres  # noqa: E402
from engine.practice.queue import DUE_QUERY, PROFILE_AND_DUE, QUEUE_LIMIT  # noqa: E402
from engine.practice.statements import LOCK_AND_READ  # noqa: E402
from engine.practice.submit import submit_answer  # noqa: E402
from engine.runtime import Runtime  # noqa: E402

TARGET_DUE_P95_MS, TARGET_SUBMIT_P95_MS, TARGET_RATIO = 2.0, 8.0, 3.0

DUE_FLOOR_SQL = text(
    "SELECT question_id, due_at, reviews FROM review_states "
    "WHERE user_id = :u AND NOT suspended AND due_at <= :now "
    "ORDER BY due_at, question_id LIMIT 200"
)

# Loading is faster with these unique constraints and index of `attempts` built afterwards.
# Their definitions are read from the catalog of the schema the migrations built (Alembic owns
# the schema; nothing here repeats its DDL) and recreated from it after the load.
ATTEMPT_INDEXES = (
    "uq_attempts_user_token",
    "uq_attempts_question_review",
    "ix_attempts_user_answered",
)


def attempt_index_ddl(conn) -> list[tuple[str, str, str]]:
    """(name, drop, create) for each of ATTEMPT_INDEXES, from the live schema."""
    out = []
    for name in ATTEMPT_INDEXES:
        constraint = conn.execute(
            text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'attempts'::regclass AND conname = :n"
            ),
            {"n": name},
        ).scalar()
        if constraint is not None:
            out.append(
                (
                    name,
                    f"ALTER TABLE attempts DROP CONSTRAINT {name}",
                    f"ALTER TABLE attempts ADD CONSTRAINT {name} {constraint}",
                )
            )
            continue
        index = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE tablename = 'attempts' AND indexname = :n"),
            {"n": name},
        ).scalar_one()
        out.append((name, f"DROP INDEX {name}", index))
    return out


def setup(args: argparse.Namespace) -> Runtime:
    url = os.environ.get("DATABASE_URL")
    data_dir = Path(tempfile.mkdtemp(prefix="groundwork-bench-practice-"))
    if not url:
        url = start_embedded_postgres(data_dir / "pg", cleanup_mode="delete")
        print(f"embedded PostgreSQL under {data_dir}")
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        log_level="WARNING",
        db_statement_timeout_ms=3_600_000,
        db_slow_query_ms=3_600_000,
    )
    rt = create_runtime(settings)
    logging.getLogger().setLevel(logging.WARNING)
    return rt


def step(conn, label: str, sql: str, **params) -> None:
    t0 = time.perf_counter()
    conn.execute(text(sql), params)
    print(f"  {label:<52} {time.perf_counter() - t0:7.1f} s", flush=True)


def fill(rt: Runtime, args: argparse.Namespace, now: dt.datetime) -> None:
    n_users, per, att = args.learners, args.states_per_learner, args.attempts_per_state
    new_per = args.new_per_learner
    print(
        f"Filling: {n_users:,} learners, {n_users * (per + new_per):,} questions, "
        f"{n_users * per:,} review states, {n_users * per * att:,} attempts"
    )
    with rt.engine.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM users")).scalar():
            raise SystemExit("The database is not empty; point DATABASE_URL at an empty one.")
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        # Generated rows reference rows generated just before; skipping the per-row foreign
        # key triggers during the load (superuser only) makes it several times faster.
        superuser = conn.execute(
            text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        ).scalar()
        if superuser:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        step(
            conn,
            "users",
            """
            INSERT INTO users (email, email_normalized, password_hash, display_name)
            SELECT 'learner' || g || '@bench.example', 'learner' || g || '@bench.example',
                   '$2b$12$benchbenchbenchbenchbu', 'Learner ' || g
            FROM generate_series(1, :n) g""",
            n=n_users,
        )
        step(
            conn,
            "profiles",
            """
            INSERT INTO profiles (user_id, self_level, daily_target, timezone, onboarded_at)
            SELECT id, 'intermediate', 20, 'UTC', now() FROM users""",
        )
        step(
            conn,
            "questions",
            """
            INSERT INTO questions (user_id, type, stem, options, correct_index, answer,
                                   explanation, difficulty, excerpt, page_start, page_end,
                                   material_title, generator, created_at)
            SELECT u.id, 'mcq', 'Question ' || q || ' for learner ' || u.id || '?',
                   '["alpha", "beta", "gamma", "delta"]'::jsonb, 1, 'beta',
                   'Because the source says so.', 1 + q % 5,
                   'An excerpt of the source passage that the question cites.', 1 + q % 40,
                   1 + q % 40, 'Material ' || (q % 4), 'offline',
                   now() - interval '90 days' + q * interval '1 minute'
            FROM users u CROSS JOIN generate_series(1, :q) q""",
            q=per + new_per,
        )
        step(
            conn,
            "review states (the first questions of each learner)",
            """
            INSERT INTO review_states (user_id, question_id, due_at, reviews, lapses,
                first_reviewed_at, last_reviewed_at, sm2_repetitions, sm2_interval_days,
                sm2_easiness, sm2_due_at, fsrs_state, fsrs_step, fsrs_stability,
                fsrs_difficulty, fsrs_due_at)
            SELECT user_id, id, due, :att, 1, :now - interval '80 days',
                   due - interval '6 days', 3, 6, 2.5, due, 2, NULL, 6.0, 5.0, due
            FROM (SELECT q.user_id, q.id,
                         row_number() OVER (PARTITION BY q.user_id ORDER BY q.id) AS rn,
                         :now + (random() * 70 - 10) * interval '1 day' AS due
                  FROM questions q) q
            WHERE rn <= :per""",
            per=per,
            att=att,
            now=now,
        )
        indexes = attempt_index_ddl(conn)
        for _, drop, _ in indexes:
            conn.execute(text(drop))
        step(
            conn,
            "attempts",
            """
            INSERT INTO attempts (user_id, question_id, token, review_number, answered_at,
                seconds, confidence, response, correct, score, grader, grade_reason, quality,
                rating, scheduler, xp, state_before, state_after)
            SELECT rs.user_id, rs.question_id, md5(rs.question_id || ':' || g), g,
                   rs.first_reviewed_at + g * interval '7 days', 5 + (g * 37) % 120,
                   1 + g % 5, 'beta', g % 4 <> 0, (g % 4 <> 0)::int, 'choice', '',
                   CASE WHEN g % 4 = 0 THEN 1 ELSE 4 END,
                   CASE WHEN g % 4 = 0 THEN 1 ELSE 3 END, 'sm2', 20, NULL,
                   jsonb_build_object('reviews', g, 'sm2', jsonb_build_object(
                       'repetitions', g, 'interval_days', 6, 'easiness', 2.5))
            FROM review_states rs CROSS JOIN generate_series(1, :att) g""",
            att=att,
        )
        for name, _, create in indexes:
            step(conn, name, create)
        if superuser:
            # The replica role also kept the triggers that maintain attempt_rollups quiet: build
            # them for every learner at once (one set-based statement, migration 0027), planned
            # with the loaded tables' statistics and memory to sort them.
            step(conn, "ANALYZE", "ANALYZE users, profiles, questions, attempts")
            conn.execute(text("SET LOCAL work_mem = '256MB'"))
            step(
                conn,
                "attempt rollups",
                "SELECT attempt_rollups_rebuild(ARRAY(SELECT id FROM users))",
            )
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        step(conn, "VACUUM ANALYZE", "VACUUM ANALYZE")
        sizes = conn.execute(
            text(
                "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class "
                "WHERE relname IN ('attempts', 'review_states', 'questions')"
            )
        ).all()
        print("  sizes: " + ", ".join(f"{n} {s}" for n, s in sizes))


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    qs = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return statistics.median(samples_ms), qs[94]


def time_due(rt: Runtime, users: list[int], now: dt.datetime) -> tuple[list[float], list[float]]:
    product, floor = [], []
    for i, uid in enumerate(users):
        # Interleaved so both see the same cache and machine load.
        t0 = time.perf_counter()
        with rt.read_session_factory() as session:
            session.connection().execute(
                PROFILE_AND_DUE, {"user_id": uid, "now": now, "limit": QUEUE_LIMIT}
            ).all()
        t1 = time.perf_counter()
        with rt.engine.connect() as conn:
            conn.execute(DUE_FLOOR_SQL, {"u": users[-1 - i], "now": now}).all()
        t2 = time.perf_counter()
        product.append((t1 - t0) * 1000)
        floor.append((t2 - t1) * 1000)
    return product, floor


FLOOR_LOCK = text("SELECT xp FROM profiles WHERE user_id = :u FOR UPDATE")
FLOOR_INSERT = text("""
    INSERT INTO attempts (user_id, question_id, token, review_number, answered_at, seconds,
        confidence, response, correct, score, grader, quality, rating, scheduler, xp,
        state_after)
    VALUES (:u, :q, :tok, :n, :now, 30, 4, 'beta', true, 1, 'choice', 5, 4, 'sm2', 25,
            '{}'::jsonb)""")
FLOOR_UPDATE = text("""
    UPDATE review_states SET reviews = :n, due_at = :due, last_reviewed_at = :now
    WHERE question_id = :q""")


def pick_due(rt: Runtime, uid: int, now: dt.datetime):
    with rt.engine.connect() as conn:
        rows = conn.execute(DUE_QUERY, {"user_id": uid, "now": now, "limit": 5}).all()
    return rows[0] if rows else None


def time_submit(
    rt: Runtime, users: list[int], now: dt.datetime, samples: int
) -> tuple[list[float], list[float]]:
    product, floor = [], []
    rng = random.Random(7)
    done = 0
    while done < samples:
        uid = rng.choice(users)
        a, b = pick_due(rt, uid, now), pick_due(rt, rng.choice(users), now)
        if a is None or b is None or a.question_id == b.question_id:
            continue
        t0 = time.perf_counter()
        result = submit_answer(
            rt,
            user_id=uid,
            question_id=a.question_id,
            token=uuid.uuid4().hex,
            response=1,
            confidence=4,
            seconds=30,
            expected_reviews=a.reviews,
            now=now,
        )
        t1 = time.perf_counter()
        assert not result.duplicate
        b_uid = _owner(rt, b.question_id)
        with rt.engine.begin() as conn:
            conn.execute(FLOOR_LOCK, {"u": b_uid})
            conn.execute(
                FLOOR_INSERT,
                {
                    "u": b_uid,
                    "q": b.question_id,
                    "tok": uuid.uuid4().hex,
                    "n": 1_000_000 + done,
                    "now": now,
                },
            )
            conn.execute(
                FLOOR_UPDATE,
                {
                    "q": b.question_id,
                    "n": b.reviews + 1,
                    "due": now + dt.timedelta(days=3),
                    "now": now,
                },
            )
        t2 = time.perf_counter()
        product.append((t1 - t0) * 1000)
        floor.append((t2 - t1) * 1000)
        done += 1
    return product, floor


def _owner(rt: Runtime, question_id: int) -> int:
    with rt.engine.connect() as conn:
        return conn.execute(
            text("SELECT user_id FROM review_states WHERE question_id = :q"), {"q": question_id}
        ).scalar_one()


def explain(rt: Runtime, title: str, sql: str, params: dict) -> None:
    print(f"\nEXPLAIN (ANALYZE, BUFFERS) {title}")
    with rt.engine.begin() as conn:
        for (line,) in conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), params):
            print("    " + line)
        conn.rollback()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--learners", type=int, default=10_000)
    ap.add_argument("--states-per-learner", type=int, default=100)
    ap.add_argument("--new-per-learner", type=int, default=20)
    ap.add_argument("--attempts-per-state", type=int, default=10)
    ap.add_argument("--samples", type=int, default=2000)
    args = ap.parse_args(argv)

    started = time.perf_counter()
    rt = setup(args)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    fill(rt, args, now)
    rng = random.Random(42)
    with rt.engine.connect() as conn:
        all_users = [u for (u,) in conn.execute(text("SELECT id FROM users"))]
        counts = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM attempts), (SELECT count(*) FROM review_states), "
                "(SELECT count(*) FROM review_states WHERE due_at <= :now)"
            ),
            {"now": now},
        ).one()
    print(f"  rows: {counts[0]:,} attempts, {counts[1]:,} review states ({counts[2]:,} due now)")

    # Warm-up: connections in the pool, plan caches, the indexes' upper pages.
    time_due(rt, rng.sample(all_users, min(200, len(all_users))), now)
    due_ms, due_floor_ms = time_due(rt, [rng.choice(all_users) for _ in range(args.samples)], now)
    time_submit(rt, all_users, now, 50)
    submit_ms, submit_floor_ms = time_submit(rt, all_users, now, max(200, args.samples // 2))

    commit_ms = []
    for _ in range(300):
        t0 = time.perf_counter()
        with rt.engine.begin() as conn:
            conn.execute(
                text("UPDATE profiles SET streak = streak WHERE user_id = :u"),
                {"u": rng.choice(all_users)},
            )
        commit_ms.append((time.perf_counter() - t0) * 1000)

    uid = rng.choice(all_users)
    compiled = PROFILE_AND_DUE.compile(dialect=rt.engine.dialect)
    print(
        "\nEXPLAIN (ANALYZE, BUFFERS) the product's due-queue read "
        "(engine.practice.queue.PROFILE_AND_DUE)"
    )
    with rt.engine.connect() as conn:
        params = {**compiled.params, "user_id": uid, "now": now, "limit": QUEUE_LIMIT}
        for (line,) in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), params):
            print("    " + line)
    explain(rt, "the floor's due query", DUE_FLOOR_SQL.text, {"u": uid, "now": now})
    entry = pick_due(rt, uid, now)
    if entry is not None:
        lock = LOCK_AND_READ.compile(dialect=rt.engine.dialect)
        print(
            "\nEXPLAIN (ANALYZE, BUFFERS) submit: the locking read (learner, question, "
            "schedule, FSRS parameters, the question's attempt and flag aggregates)"
        )
        with rt.engine.begin() as conn:
            params = {**lock.params, "user_id": uid, "question_id": entry.question_id}
            for (line,) in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + str(lock), params):
                print("    " + line)
            conn.rollback()
        explain(
            rt,
            "submit: find the recorded answer (only for a repeated showing)",
            "SELECT id FROM attempts WHERE user_id = :u AND (token = :t OR "
            "(question_id = :q AND review_number = :n)) ORDER BY id LIMIT 1",
            {"u": uid, "t": uuid.uuid4().hex, "q": entry.question_id, "n": entry.reviews + 1},
        )
        explain(
            rt,
            "today: answered today",
            "SELECT count(*) FROM attempts WHERE user_id = :u AND answered_at >= :d",
            {"u": uid, "d": now.replace(hour=0, minute=0, second=0)},
        )

    d50, d95 = percentiles(due_ms)
    f50, f95 = percentiles(due_floor_ms)
    s50, s95 = percentiles(submit_ms)
    g50, g95 = percentiles(submit_floor_ms)
    print(f"\n{'':28} {'p50 ms':>8} {'p95 ms':>8}   target")
    print(
        f"{'due queue (product)':28} {d50:8.3f} {d95:8.3f}   p95 < {TARGET_DUE_P95_MS} ms and "
        f"<= {TARGET_RATIO}x floor ({d95 / f95:.2f}x)"
    )
    print(f"{'due queue floor (bare SQL)':28} {f50:8.3f} {f95:8.3f}   issue anchor 0.57")
    print(
        f"{'submit (product)':28} {s50:8.3f} {s95:8.3f}   p95 < {TARGET_SUBMIT_P95_MS} ms and "
        f"<= {TARGET_RATIO}x floor ({s95 / g95:.2f}x)"
    )
    print(f"{'submit floor (bare SQL)':28} {g50:8.3f} {g95:8.3f}   issue anchor 2.1")
    c50, c95 = percentiles(commit_ms)
    print(
        f"{'one-row UPDATE + COMMIT':28} {c50:8.3f} {c95:8.3f}   what a durable commit costs "
        "on this machine now"
    )
    met = (
        d95 < TARGET_DUE_P95_MS
        and s95 < TARGET_SUBMIT_P95_MS
        and d95 <= TARGET_RATIO * f95
        and s95 <= TARGET_RATIO * g95
    )
    print(f"targets {'met' if met else 'NOT met'}; total run {time.perf_counter() - started:.0f} s")
    rt.engine.dispose()
    print(
        f"RESULT due_p50_ms={d50:.3f} due_p95_ms={d95:.3f} submit_p50_ms={s50:.3f} "
        f"submit_p95_ms={s95:.3f} due_floor_p95_ms={f95:.3f} submit_floor_p95_ms={g95:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
