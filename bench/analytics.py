"""Analytics at scale: every chart of the Analytics page for one busy learner among millions of
attempts.

    python -m bench.analytics [--total-attempts 10000000] [--samples 30]

Fills PostgreSQL (DATABASE_URL, or an embedded server in a temp folder) with
`bench.practice`'s generator (learners of 100 questions x 10 attempts, up to
`--total-attempts`), then adds one busy learner: 5 materials of 200 pages, 10,500 questions,
10,000 review states and 100,000 attempts spread over a year at every hour, with the schedule
saved with each answer as the product saves it. Then, for that learner, times every function
of `engine.analytics.CHARTS` (the whole page's data) `--samples` times, prints each function's
p50/p95 and the query plans of its statements, and the anchor: one indexed `count(*)` of the
learner's attempts (the cost of touching each of their attempts once). It also checks that
the rollup PostgreSQL keeps for the activity charts (migration 0014) holds the same totals as
counting the busy learner's attempts.

A database that already holds the filler (DATABASE_URL pointing at an earlier run's) is
reused. Target: page data p95 < 500 ms. Ends with `RESULT page_data_p50_ms=...
page_data_p95_ms=... slowest_fn=... slowest_fn_p95_ms=... rollup_exact=...
delete_question_ms=... rebuild_learner_ms=...` (what deleting one of the busy learner's
questions costs with its rollup kept, beside rebuilding their whole rollup).
"""

from __future__ import annotations

from engine.process import prepare_process

prepare_process()  # before anything imports litellm or Hugging Face code

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from sqlalchemy import event, text  # noqa: E402

from bench import practice  # noqa: E402
from engine import analytics  # noqa: E402
from engine.analytics import activity  # noqa: E402
from engine.analytics.scope import LOCAL_SETTINGS  # noqa: E402
from engine.runtime import Runtime  # noqa: E402

TARGET_PAGE_P95_MS = 500.0
BUSY_EMAIL = "busy@bench.example"

BUSY_SQL = [
    (
        "busy learner",
        """
        INSERT INTO users (email, email_normalized, password_hash, display_name)
        VALUES (:email, :email, '$2b$12$benchbenchbenchbenchbu', 'Busy learner')""",
    ),
    (
        "profile",
        """
        INSERT INTO profiles (user_id, self_level, daily_target, timezone, onboarded_at,
                              scheduler, exam_date, xp, level)
        SELECT id, 'advanced', 200, 'America/New_York', now(), 'fsrs',
               (CAST(:now AS timestamptz) + interval '30 days')::date, 0, 1
        FROM users WHERE email = :email""",
    ),
    (
        "materials",
        """
        INSERT INTO materials (user_id, title, filename, sha256, size_bytes, page_count,
                               chunk_count)
        SELECT u.id, 'Busy material ' || m, 'm' || m || '.pdf', md5('busy' || m), 1000000,
               200, 400
        FROM users u CROSS JOIN generate_series(1, 5) m WHERE u.email = :email""",
    ),
    (
        "questions (10,500)",
        """
        INSERT INTO questions (user_id, material_id, type, stem, options, correct_index,
                               answer, difficulty, excerpt, page_start, page_end,
                               material_title, generator, status, quality_score, topic,
                               created_at)
        SELECT u.id, mt.id, (ARRAY['mcq','cloze','short'])[1 + q % 3],
               'Busy question ' || q || '?',
               CASE WHEN q % 3 = 0 THEN '["a","b","c","d"]'::jsonb END,
               CASE WHEN q % 3 = 0 THEN 1 END, 'b', 1 + q % 5, 'An excerpt.',
               1 + (q * 7) % 190, 1 + (q * 7) % 190 + q % 3, mt.title, 'llm',
               CASE WHEN q % 97 = 0 THEN 'flagged' WHEN q % 89 = 0 THEN 'retired'
                    ELSE 'active' END,
               CASE WHEN q % 5 = 0 THEN (q % 100) / 100.0 END, 'topic ' || q % 12,
               CAST(:now AS timestamptz) - interval '400 days'
        FROM users u CROSS JOIN generate_series(1, 10500) q
        JOIN materials mt ON mt.user_id = u.id AND mt.title = 'Busy material ' || (1 + q % 5)
        WHERE u.email = :email""",
    ),
    (
        "review states (10,000)",
        """
        INSERT INTO review_states (user_id, question_id, due_at, suspended, reviews, lapses,
            first_reviewed_at, last_reviewed_at, sm2_repetitions, sm2_interval_days,
            sm2_easiness, sm2_due_at, fsrs_state, fsrs_step, fsrs_stability, fsrs_difficulty,
            fsrs_due_at)
        SELECT user_id, id, last + gap * interval '1 day', status <> 'active', 10, rn % 3,
               last - 9 * gap * interval '1 day', last, 3, gap, 1.3 + (rn % 18) / 10.0,
               last + gap * interval '1 day', 2, NULL, gap * 1.1, 1 + rn % 10,
               last + gap * interval '1 day'
        FROM (SELECT q.user_id, q.id, q.status, row_number() OVER (ORDER BY q.id) AS rn,
                     1 + (q.id % 36) AS gap,
                     CAST(:now AS timestamptz) - (q.id % 36) * interval '1 day'
                       - (q.id % 24) * interval '1 hour' AS last
              FROM questions q JOIN users u ON u.id = q.user_id
              WHERE u.email = :email) s
        WHERE rn <= 10000""",
    ),
    (
        "attempts (100,000)",
        """
        INSERT INTO attempts (user_id, question_id, token, review_number, answered_at,
            seconds, confidence, response, correct, score, grader, quality, rating,
            scheduler, xp, state_before, previous_answered_at, state_after)
        SELECT rs.user_id, rs.question_id, md5('busy' || rs.question_id || ':' || g), g,
               t.at, 3 + (rs.question_id * g) % 200, 1 + (rs.question_id + g) % 5, 'b',
               ok, ok::int, 'choice', CASE WHEN ok THEN 4 ELSE 1 END,
               CASE WHEN ok THEN 3 ELSE 1 END, 'fsrs', 15,
               CASE WHEN g > 1 THEN jsonb_build_object(
                   'due_at', t.at - interval '1 hour',
                   'fsrs', jsonb_build_object('last_reviewed_at',
                       t.at - rs.sm2_interval_days * interval '1 day')) END,
               CASE WHEN g > 1 THEN t.at - rs.sm2_interval_days * interval '1 day' END,
               '{}'::jsonb
        FROM review_states rs JOIN users u ON u.id = rs.user_id
        CROSS JOIN generate_series(1, 10) g
        CROSS JOIN LATERAL (SELECT rs.last_reviewed_at
                                   - (10 - g) * rs.sm2_interval_days * interval '1 day' AS at,
                                   (rs.question_id * 31 + g * 17) % 100 < 85 AS ok) t
        WHERE u.email = :email""",
    ),
    (
        "model usage (300 calls)",
        """
        INSERT INTO llm_usage (user_id, request_id, task, generator, model, tokens_in,
                               tokens_out, cost_usd, latency_ms, outcome, created_at)
        SELECT u.id, md5('r' || c), 'generation', 'llm',
               (ARRAY['openai/gpt-4o-mini','anthropic/claude-haiku'])[1 + c % 2],
               1200 + c, 400 + c, 0.0012 * (1 + c % 3), 900, 'ok',
               CAST(:now AS timestamptz) - (c % 200) * interval '1 day'
        FROM users u CROSS JOIN generate_series(1, 300) c WHERE u.email = :email""",
    ),
]


def add_busy_learner(rt: Runtime, now: dt.datetime) -> int:
    with rt.engine.begin() as conn:
        uid = conn.execute(
            text("SELECT id FROM users WHERE email = :e"), {"e": BUSY_EMAIL}
        ).scalar()
        if uid is not None:
            print(f"Reusing the busy learner (id {uid}).")
    if uid is not None:
        # A migration may have rewritten rows since the last run (a backfill): vacuum so the
        # index-only scans are measured as they run once vacuum has caught up. INDEX_CLEANUP
        # ON: when under 2% of the pages hold dead items PostgreSQL skips index cleanup by
        # default, and those pages then stay not all-visible (a heap visit per entry).
        with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            practice.step(
                conn,
                "VACUUM (ANALYZE, INDEX_CLEANUP ON) attempts",
                "VACUUM (ANALYZE, INDEX_CLEANUP ON) attempts",
            )
        return uid
    with rt.engine.begin() as conn:
        print("Adding the busy learner:")
        for label, sql in BUSY_SQL:
            practice.step(conn, label, sql, email=BUSY_EMAIL, now=now)
        uid = conn.execute(
            text("SELECT id FROM users WHERE email = :e"), {"e": BUSY_EMAIL}
        ).scalar_one()
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        practice.step(conn, "VACUUM ANALYZE", "VACUUM ANALYZE")
    return uid


def fill_if_empty(rt: Runtime, total_attempts: int, now: dt.datetime) -> None:
    with rt.engine.connect() as conn:
        filler = conn.execute(
            text("SELECT count(*) FROM users WHERE email LIKE 'learner%@bench.example'")
        ).scalar()
    if filler:
        print(f"Reusing the filled database ({filler:,} learners).")
        return
    per = 100 * 10
    args = argparse.Namespace(
        learners=max(1, total_attempts // per),
        states_per_learner=100,
        new_per_learner=20,
        attempts_per_state=10,
    )
    practice.fill(rt, args, now)


class Recorder:
    """Collects the statements a chart function runs, for EXPLAIN."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, object]] = []
        self.on = False

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            self.statements.append((statement, parameters))


def pct(samples: list[float]) -> tuple[float, float]:
    return practice.percentiles(samples) if len(samples) > 1 else (samples[0], samples[0])


def explain(rt: Runtime, recorder: Recorder, name: str, fn, scope) -> None:
    recorder.statements.clear()
    # Run the shared per-page scan afresh so their statements are seen here.
    rt.query_cache.clear()
    recorder.on = True
    fn(rt, scope)
    recorder.on = False
    for statement, params in list(recorder.statements):
        if statement.startswith("SELECT set_config"):
            continue  # the session settings each chart query runs with (applied below)
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) {name}")
        with rt.engine.connect() as conn:
            conn.execute(LOCAL_SETTINGS)
            for (line,) in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params):
                print("    " + line)


def rollup_upkeep(rt: Runtime, uid: int, samples: int = 5) -> tuple[float, float]:
    """What keeping the rollup exact costs a request, each in a transaction rolled back (the
    data stays as it was): deleting one of the learner's answered questions (the local days of
    its answers are recounted, migration 0027) and rebuilding the learner's whole rollup (what
    each deleted question cost before). Prints and returns the two medians in ms."""
    with rt.engine.connect() as conn:
        qids = conn.scalars(
            text(
                "SELECT DISTINCT question_id FROM attempts WHERE user_id = :u "
                "ORDER BY question_id LIMIT :n"
            ),
            {"u": uid, "n": samples},
        ).all()
    deleted, rebuilt = [], []
    for qid in qids:
        with rt.engine.connect() as conn, conn.begin() as tx:
            t0 = time.perf_counter()
            conn.execute(text("DELETE FROM questions WHERE id = :q"), {"q": qid})
            t1 = time.perf_counter()
            conn.execute(
                text("SELECT attempt_rollups_rebuild(ARRAY[CAST(:u AS bigint)])"), {"u": uid}
            )
            deleted.append((t1 - t0) * 1000)
            rebuilt.append((time.perf_counter() - t1) * 1000)
            tx.rollback()
    out = statistics.median(deleted), statistics.median(rebuilt)
    print(
        f"  rollup upkeep (median of {len(qids)}): deleting one answered question "
        f"{out[0]:.1f} ms; rebuilding the learner's whole rollup {out[1]:.1f} ms"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--total-attempts", type=int, default=10_000_000)
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--no-plans", action="store_true", help="skip the query plans")
    args = ap.parse_args(argv)
    rt = practice.setup(args)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    fill_if_empty(rt, args.total_attempts, now)
    uid = add_busy_learner(rt, now)
    with rt.engine.connect() as conn:
        total, mine, states = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM attempts), "
                "(SELECT count(*) FROM attempts WHERE user_id = :u), "
                "(SELECT count(*) FROM review_states WHERE user_id = :u)"
            ),
            {"u": uid},
        ).one()
    print(
        f"  rows: {total:,} attempts in all; the busy learner has {mine:,} attempts and "
        f"{states:,} review states"
    )
    scope = analytics.make_scope(
        rt, user_id=uid, start=now.date() - dt.timedelta(days=364), end=now.date()
    )
    print(
        f"  filters: {scope.start} to {scope.end} (a year), every material; "
        f"time zone {scope.timezone}"
    )

    kept = activity.read_attempt_rollup(rt, scope)
    counted = activity._scan_attempts(rt, scope)

    def total(frame, column: str) -> int:
        return sum(int(v) for v in frame[column])

    exact = (
        len(kept) == len(counted)
        and all(total(kept, c) == total(counted, c) for c in ("answers", "right", "seconds", "xp"))
        and total(kept, "answers") == 5 * mine
    )
    print(
        f"  chart rows from the rollup {len(kept):,}, from the attempts {len(counted):,}: "
        f"{'the same totals' if exact else 'DIFFERENT (the rollup is stale)'}"
    )

    delete_ms, rebuild_ms = rollup_upkeep(rt, uid)

    anchor_sql = text("SELECT count(*) FROM attempts WHERE user_id = :u")
    per_fn: dict[str, list[float]] = {name: [] for name in analytics.CHARTS}
    page_ms, anchor_ms = [], []
    analytics.page_data(rt, scope)  # warm-up
    for _ in range(args.samples):
        page_t0 = time.perf_counter()
        # A fresh scope per page load, as the page makes one (it carries the moment, so
        # nothing computed for an earlier load is reused).
        scope = analytics.make_scope(rt, user_id=uid, start=scope.start, end=scope.end)
        for name, fn in analytics.CHARTS.items():
            t0 = time.perf_counter()
            fn(rt, scope)
            per_fn[name].append((time.perf_counter() - t0) * 1000)
        page_ms.append((time.perf_counter() - page_t0) * 1000)
        t0 = time.perf_counter()
        with rt.engine.connect() as conn:
            conn.execute(anchor_sql, {"u": uid}).scalar()
        anchor_ms.append((time.perf_counter() - t0) * 1000)

    print(f"\n{'function':<26} {'p50 ms':>8} {'p95 ms':>8}")
    p95s = {}
    for name, samples in per_fn.items():
        p50, p95 = pct(samples)
        p95s[name] = p95
        print(f"{name:<26} {p50:8.1f} {p95:8.1f}")
    page_p50, page_p95 = pct(page_ms)
    a50, a95 = pct(anchor_ms)
    print(
        f"{'whole page data':<26} {page_p50:8.1f} {page_p95:8.1f}   target p95 < "
        f"{TARGET_PAGE_P95_MS:.0f} ms: {'met' if page_p95 < TARGET_PAGE_P95_MS else 'MISSED'}"
    )
    print(f"{'anchor: count(*) of theirs':<26} {a50:8.1f} {a95:8.1f}")

    if not args.no_plans:
        recorder = Recorder()
        event.listen(rt.engine, "before_cursor_execute", recorder)
        for name, fn in analytics.CHARTS.items():
            print(f"\n=== {name}: p95 {p95s[name]:.1f} ms")
            explain(rt, recorder, name, fn, scope)
        event.remove(rt.engine, "before_cursor_execute", recorder)

    slowest = max(p95s, key=p95s.get)
    print(
        f"RESULT page_data_p50_ms={page_p50:.1f} page_data_p95_ms={page_p95:.1f} "
        f"slowest_fn={slowest} slowest_fn_p95_ms={p95s[slowest]:.1f} "
        f"rollup_exact={int(exact)} delete_question_ms={delete_ms:.1f} "
        f"rebuild_learner_ms={rebuild_ms:.1f}"
    )
    rt.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
