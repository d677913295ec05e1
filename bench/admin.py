"""The admin console's data at school scale: every section's services timed for one admin.

    python -m bench.admin [--learners 1000] [--attempts 10000000] [--usage 100000] [--samples 20]

Fills a fresh embedded PostgreSQL (or an empty DATABASE_URL) with `bench.practice`'s generator
(`--learners` learners sharing `--attempts` attempts), then `--usage` model-usage rows over 90
days spread over the learners and tasks, 2,000 jobs in every state, 5,000 audit entries and
200 invitations; then times each section's engine calls (what the page asks for when it shows
that section) `--samples` times and prints p50/p95 per section. The anchor: one indexed
`count(*)` over the usage rows of the last 30 days (touching each once).
Target: p95 < 500 ms per section. Ends with `RESULT users_p95_ms=... signup_p95_ms=...
usage_p95_ms=... jobs_p95_ms=... health_p95_ms=... audit_p95_ms=... slowest=...`.
"""

from __future__ import annotations

from engine.process import prepare_process

prepare_process()  # before anything imports litellm or Hugging Face code

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

from sqlalchemy import text  # noqa: E402

from bench import practice  # noqa: E402
from bench._library import bench_runtime  # noqa: E402
from engine.accounts import register_user  # noqa: E402
from engine.admin import (  # noqa: E402
    access,
    health,
    jobs as admin_jobs,
    model_usage,
    signup,
    users,
)
from engine.runtime import Runtime  # noqa: E402

TARGET_P95_MS = 500.0

EXTRA_SQL = [
    (
        "model usage",
        """
        INSERT INTO llm_usage (user_id, request_id, task, generator, model, tokens_in,
                               tokens_out, cost_usd, latency_ms, outcome, created_at)
        SELECT ids[1 + g % cardinality(ids)], md5('u' || g),
               (ARRAY['generation','grading','tutor'])[1 + g % 3], 'llm', 'openai/gpt-4o-mini',
               800 + g % 500, 200 + g % 300, 0.0004 * (1 + g % 5), 700, 'ok',
               CAST(:now AS timestamptz) - (g % 90) * interval '1 day'
                   - (g % 24) * interval '1 hour'
        FROM (SELECT array_agg(id ORDER BY id) AS ids FROM users) u,
             generate_series(1, :usage) g""",
    ),
    (
        "jobs",
        """
        INSERT INTO job_progress (user_id, kind, label, outcome, stage, message, created_at,
                                  finished_at)
        SELECT ids[1 + g % cardinality(ids)],
               (ARRAY['ingest','generate','fit_fsrs','reindex','export'])[1 + g % 5],
               'file ' || g || '.pdf',
               (ARRAY['queued','running','failed','done','cancelled'])[1 + g % 5],
               'queued', 'Bench job', CAST(:now AS timestamptz) - g * interval '1 minute',
               CASE WHEN g % 5 >= 2 THEN CAST(:now AS timestamptz) END
        FROM (SELECT array_agg(id ORDER BY id) AS ids FROM users) u,
             generate_series(1, 2000) g""",
    ),
    (
        "audit entries",
        """
        INSERT INTO audit_log (at, actor, action, target, detail)
        SELECT CAST(:now AS timestamptz) - g * interval '1 minute', 'admin@bench.example',
               'set_role', 'learner' || g || '@bench.example', 'learner -> teacher'
        FROM generate_series(1, 5000) g""",
    ),
    (
        "invitations",
        """
        INSERT INTO invitations (token_hash, note, expires_at, max_uses, uses)
        SELECT md5('i' || g) || md5('j' || g), 'Class ' || g,
               CAST(:now AS timestamptz) + (g % 20 - 5) * interval '1 day', 30, g % 31
        FROM generate_series(1, 200) g""",
    ),
]


def _fill(rt: Runtime, args: argparse.Namespace, now: dt.datetime) -> int:
    per_state = 10
    states = max(1, args.attempts // (args.learners * per_state))
    practice.fill(
        rt,
        argparse.Namespace(
            learners=args.learners,
            states_per_learner=states,
            new_per_learner=0,
            attempts_per_state=per_state,
        ),
        now,
    )
    with rt.engine.begin() as conn:
        for label, sql in EXTRA_SQL:
            practice.step(conn, label, sql, now=now, usage=args.usage)
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        practice.step(conn, "VACUUM ANALYZE", "VACUUM ANALYZE")
    admin = register_user(
        rt,
        email="admin@bench.example",
        password="benchmark password 123",
        display_name="Admin",
        by_admin=True,
        role="admin",
    )
    return admin.user_id


def _sections(rt: Runtime, me: int) -> dict[str, Callable[[], object]]:
    """Each section's calls, as pages/admin.py makes them when it shows the section."""
    return {
        "users": lambda: (
            access.check_admin(rt, actor_id=me),
            users.search_users(rt, actor_id=me, limit=200),
            users.search_users(rt, actor_id=me, query="learner99", limit=200),
            model_usage.learner_limits(rt, actor_id=me, user_id=me),
            model_usage.global_limits(rt, actor_id=me),
        ),
        "signup": lambda: (
            signup.signup_mode(rt, actor_id=me),
            signup.sso_domains(rt, actor_id=me),
            signup.list_invitations(rt, actor_id=me),
        ),
        "usage": lambda: (
            model_usage.usage_report(rt, actor_id=me, days=30),
            model_usage.global_limits(rt, actor_id=me),
        ),
        "jobs": lambda: (
            admin_jobs.job_counts(rt, actor_id=me),
            admin_jobs.list_jobs(rt, actor_id=me, outcome="failed"),
        ),
        "health": lambda: health.health(rt, actor_id=me),
        "audit": lambda: access.audit_log(rt, actor_id=me, limit=100),
    }


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--attempts", type=int, default=10_000_000)
    parser.add_argument("--usage", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args(argv)
    # The fill runs statements of minutes; the timed calls are far below either limit.
    rt = bench_runtime(db_statement_timeout_ms=3_600_000, db_slow_query_ms=3_600_000)
    now = dt.datetime.now(dt.UTC)
    me = _fill(rt, args, now)
    with rt.engine.connect() as conn:
        t0 = time.perf_counter()
        n = conn.execute(
            text("SELECT count(*) FROM llm_usage WHERE created_at >= :since"),
            {"since": now - dt.timedelta(days=30)},
        ).scalar_one()
        anchor_ms = (time.perf_counter() - t0) * 1000
    print(f"\nanchor: count(*) of {n:,} usage rows of the last 30 days: {anchor_ms:.1f} ms")
    results: dict[str, tuple[float, float]] = {}
    for name, call in _sections(rt, me).items():
        call()  # warm the pool and caches once
        samples = []
        for _ in range(args.samples):
            t0 = time.perf_counter()
            call()
            samples.append((time.perf_counter() - t0) * 1000)
        results[name] = (statistics.median(samples), _p(samples, 0.95))
        flag = "ok" if results[name][1] < TARGET_P95_MS else "OVER TARGET"
        print(f"{name:<8} p50 {results[name][0]:7.1f} ms  p95 {results[name][1]:7.1f} ms  {flag}")
    slowest = max(results, key=lambda k: results[k][1])
    print(
        "RESULT "
        + " ".join(f"{k}_p95_ms={v[1]:.1f}" for k, v in results.items())
        + f" slowest={slowest} attempts={args.attempts} usage_rows={args.usage}"
        f" learners={args.learners} anchor_ms={anchor_ms:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
