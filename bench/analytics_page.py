"""Where the Analytics page's time goes for `bench.pages`' busy learner, section by section.

    python -m bench.analytics_page [--runs 5] [--attempts 50000]

Fills an embedded PostgreSQL with `bench.pages`' busy learner (50 materials, 5,000 questions,
50,000 attempts by default), then for each section of `pages/analytics.py`: the time to read
its charts' data from PostgreSQL (cold: what a run pays after a new answer changes the
learner's data version), the time to build its Plotly figures, and what the browser is sent
(traces, points, JSON bytes). Then the whole page through AppTest, cold (a new answer just
changed the data version) and warm (a widget change). Ends with `RESULT sections_load_ms=...
figures_ms=... figure_bytes=... points=... page_cold_p50_ms=... page_warm_p50_ms=...`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from bench._library import bench_runtime, bench_user
from bench.pages import fill

ROOT = Path(__file__).resolve().parents[1]


def _figures(section: str, data: dict, view) -> list:
    """The figures a section draws, built as the page builds them (no Streamlit)."""
    from engine.analytics import shaping as shape
    from ui import analytics_charts as charts

    today = view.today
    if section == "Activity":
        return [charts.calendar(data["calendar"], today)]
    if section == "Workload":
        out = []
        if not data["reviews_per_day"].empty:
            out.append(charts.reviews_per_day(data["reviews_per_day"], "answers"))
        due = shape.due_within(data["future_due"], today, 30)
        if not due.empty:
            out.append(charts.future_due(shape.fold_materials(due, "due")))
        return out
    if section == "Your questions":
        dist = data["scheduler_distribution"]
        out = [charts.card_counts(data["card_counts"])]
        if not data["intervals"].empty:
            out.append(charts.intervals(data["intervals"]))
        out += [charts.distribution(dist, m) for m in dict.fromkeys(dist["metric"])]
        return out
    if section == "Retention" and not data["retention_over_time"].empty:
        return [charts.retention_over_time(data["retention_over_time"])]
    if section == "How you answer":
        return [
            charts.hourly(data["hourly"]),
            charts.outcomes(data["outcomes_by_type"]),
            charts.calibration(data["calibration"]),
        ]
    if section == "Coverage of your material" and not data["coverage"].empty:
        return [charts.coverage(data["coverage"])]
    if section == "Time, XP and model usage":
        out = [charts.time_per_question(data["time_per_question"])]
        if not data["xp_progress"].empty:
            out.append(charts.xp_progress(data["xp_progress"]))
        if not data["model_usage"].empty:
            out.append(charts.model_usage(data["model_usage"]))
        return out
    return []


def _points(fig) -> int:
    n = 0
    for trace in fig.data:
        for attr in ("x", "y", "z", "values"):
            v = getattr(trace, attr, None)
            if v is not None:
                n = max(n, sum(len(r) if isinstance(r, list | tuple) else 1 for r in v))
    return n


def time_sections(rt, user_id: int, runs: int) -> tuple[float, float, int, int]:
    """Per section: cold data read, figure build, traces, points and JSON bytes."""
    from engine import analytics

    source = (ROOT / "pages/analytics.py").read_text()
    # the section list only (the page itself needs Streamlit's script runner)
    head = source.split("rt = get_runtime()")[0]
    namespace: dict = {}
    exec(compile(head, str(ROOT / "pages/analytics.py"), "exec"), namespace)
    sections = namespace["SECTIONS"]
    scope = analytics.make_scope(rt, user_id=user_id)
    total_load = total_fig = 0.0
    total_bytes = total_points = 0
    print(f"\nper section ({runs} runs; data read cold, as after a new answer):")
    print(f"  {'section':<28} {'read ms':>8} {'build ms':>9} {'traces':>7} {'points':>7} {'KB':>7}")
    for section in sections:
        names = _chart_names(section)
        reads, builds = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            data = {n: analytics.chart(n, rt, scope) for n in names}
            reads.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            figs = _figures(section.title, data, scope)
            builds.append((time.perf_counter() - t0) * 1000)
        size = sum(len(f.to_json()) for f in figs)
        traces = sum(len(f.data) for f in figs)
        points = sum(_points(f) for f in figs)
        read, build = statistics.median(reads), statistics.median(builds)
        total_load += read
        total_fig += build
        total_bytes += size
        total_points += points
        print(
            f"  {section.title[:28]:<28} {read:8.1f} {build:9.1f} {traces:7d} {points:7d} "
            f"{size / 1024:7.1f}"
        )
    print(
        f"  {'total':<28} {total_load:8.1f} {total_fig:9.1f} {'':7} {total_points:7d} "
        f"{total_bytes / 1024:7.1f}"
    )
    return total_load, total_fig, total_bytes, total_points


def _chart_names(section) -> list[str]:
    """The chart names a section's loader reads (it asks `view.data.load(*names)`)."""
    names: list[str] = []

    class Recorder:
        def load(self, *asked: str) -> dict:
            names.extend(asked)
            return {}

    class FakeView:
        data = Recorder()

    section.load(FakeView())
    return names


def time_page(rt, user_id: int, runs: int) -> tuple[list[float], list[float]]:
    """The whole page through AppTest: cold (chart cache emptied, as after a new answer)
    and warm (a rerun on the same data)."""
    from streamlit.testing.v1 import AppTest

    from bench.pages import _visit
    from engine.accounts import get_account, start_session
    from engine.db.models import User
    from ui.analytics_cache import _chart, _scope

    with rt.session_factory() as s:
        email = s.get(User, user_id).email
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    account = get_account(rt, email=email)
    at.session_state["gw_account"] = account
    at.session_state["gw_session"] = start_session(rt, account=account).session_id
    at.run()
    _visit(at, "pages/analytics.py")
    if at.exception:
        raise SystemExit(f"analytics failed: {at.exception[0].message}")
    cold, warm = [], []
    for _ in range(runs):
        _chart.clear()
        _scope.clear()
        t0 = time.perf_counter()
        _visit(at, "pages/analytics.py")
        cold.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        _visit(at, "pages/analytics.py")
        warm.append((time.perf_counter() - t0) * 1000)
    return cold, warm


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--materials", type=int, default=50)
    p.add_argument("--questions", type=int, default=5000)
    p.add_argument("--attempts", type=int, default=50_000)
    args = p.parse_args(argv)
    rt = bench_runtime()
    user_id = bench_user(rt, "analytics")
    print("Filling one busy learner:")
    fill(
        rt,
        user_id,
        materials=args.materials,
        questions=args.questions,
        states=args.questions,
        attempts=args.attempts,
    )
    load, build, size, points = time_sections(rt, user_id, args.runs)
    os.environ["DATABASE_URL"] = rt.engine.url.render_as_string(hide_password=False)
    os.environ["GROUNDWORK_DATA_DIR"] = str(rt.settings.storage.data_dir)
    os.environ["GROUNDWORK_MODEL_CACHE_DIR"] = str(rt.settings.storage.models_dir)
    os.environ["GROUNDWORK_LOG_LEVEL"] = "WARNING"
    from engine.config import get_settings

    get_settings.cache_clear()
    cold, warm = time_page(rt, user_id, args.runs)
    print(
        f"\nwhole page through AppTest ({args.runs} runs): cold p50 {statistics.median(cold):.0f}"
        f" ms (max {max(cold):.0f}), warm p50 {statistics.median(warm):.0f} ms "
        f"(max {max(warm):.0f})"
    )
    print(
        f"RESULT sections_load_ms={load:.0f} figures_ms={build:.0f} figure_bytes={size} "
        f"points={points} page_cold_p50_ms={statistics.median(cold):.0f} "
        f"page_warm_p50_ms={statistics.median(warm):.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
