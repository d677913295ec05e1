"""Server time of every page for a busy learner, and Today's answer submit in Chromium.

    python -m bench.pages [--runs 7] [--submits 8] [--no-browser]

Fills an embedded PostgreSQL with one learner's busy library: 50 materials (ingested through
the product, with passages and vectors), 5,000 questions, 5,000 review states and 50,000
attempts. Then:

* every page of the navigation is run `--runs` times through Streamlit's AppTest (app.py's
  sign-in gate and sidebar, then the page: a full script run as the server does it, in this
  process), after one warm-up visit of each page; p50/p95 per page. Anchor, same run: a bare
  AppTest run of a one-line Streamlit script (the framework's own cost per run).
* the app is served with `streamlit run`, a learner signs in in Chromium, opens Today and
  answers `--submits` questions; each is timed from the click on "Check answer" until the
  verdict is on screen and the script has finished (Streamlit's status widget gone), and from
  "Next question" until the next question is shown. Then Generate makes a batch (offline when
  no model is configured) and each Accept in its preview is timed until the card is saved.

Target: p95 < 300 ms server time per page. Ends with
`RESULT worst_page=... worst_page_p95_ms=... submit_click_p95_ms=... bare_click_p95_ms=...
next_question_p95_ms=... generate_accept_p95_ms=... keyboard_submit_p95_ms=...
analytics_first_section_p95_ms=... analytics_settled_p95_ms=... analytics_everything_p95_ms=...
bare_run_p95_ms=... submit_visible_p95_ms=... bare_visible_p95_ms=...`. Anchor for the click: a
one-button bare Streamlit page in the same browser.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._library import bench_runtime, bench_user

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "benchmark password 123"  # the benchmark learner's password
GENERATE_FROM = "Biology notes"  # the material the Generate preview is made from
ACCEPTS = 15  # questions asked of it, each accepted and timed (fewer when it yields fewer)
SIGNED_OUT_PAGES = ["pages/login.py", "pages/register.py", "pages/reset_password.py"]
_WORDS = (
    "lift drag boundary layer shock wave wing chord flutter stall pressure heat flow "
    "turbulent laminar nozzle thrust compressor blade vortex mach"
).split()


def signed_in_pages() -> list[str]:
    """Every page file in the signed-in navigation of app.py, in menu order."""
    import re

    text = (ROOT / "app.py").read_text()
    found = re.findall(r'st\.Page\(\s*"(pages/[a-z_]+\.py)"', text)
    return [
        p for p in dict.fromkeys(found) if p not in SIGNED_OUT_PAGES and p != "pages/onboarding.py"
    ]


def _material_pages(n: int) -> list[str]:
    return [
        " ".join(
            f"{_WORDS[(n * 7 + p * 3 + i) % len(_WORDS)]} section {p} note {i}." for i in range(60)
        )
        for p in range(4)
    ]


def fill(
    rt,
    user_id: int,
    *,
    materials: int,
    questions: int,
    states: int,
    attempts: int,
) -> None:
    import hashlib

    from sqlalchemy import text

    from engine import library

    t0 = time.perf_counter()
    docs = []
    for n in range(materials):
        pages = _material_pages(n)
        body = "\n".join(pages)
        docs.append(
            library.DocumentInput(
                pages=pages,
                title=f"Material {n + 1}",
                filename=f"material-{n + 1}.pdf",
                sha256=hashlib.sha256(f"{n}\0{body}".encode()).hexdigest(),
                size_bytes=len(body.encode()),
                pages_without_text=[],
            )
        )
    library.ingest_documents(rt, user_id=user_id, documents=docs)
    print(f"  {materials} materials ingested in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    per_state = attempts // states
    with rt.engine.begin() as conn:
        conn.execute(
            text("UPDATE profiles SET onboarded_at = now(), daily_target = 20 WHERE user_id = :u"),
            {"u": user_id},
        )
        conn.execute(
            text("""
            INSERT INTO questions (user_id, material_id, type, stem, options, correct_index,
                answer, explanation, difficulty, excerpt, page_start, page_end, material_title,
                generator, created_at)
            SELECT :u, m.id, 'mcq', 'Question ' || q || ': which term fits ' || m.title || '?',
                   '["alpha", "beta", "gamma", "delta"]'::jsonb, 1, 'beta',
                   'Because the source says so.', 1 + q % 5,
                   'An excerpt of the source passage that the question cites.', 1 + q % 4,
                   1 + q % 4, m.title, 'offline',
                   now() - interval '120 days' + q * interval '20 minutes'
            FROM generate_series(1, :n) q
            JOIN LATERAL (SELECT id, title FROM materials WHERE user_id = :u
                          ORDER BY id OFFSET q % :m LIMIT 1) m ON true"""),
            {"u": user_id, "n": questions, "m": materials},
        )
        conn.execute(
            text("""
            INSERT INTO review_states (user_id, question_id, due_at, reviews, lapses,
                first_reviewed_at, last_reviewed_at, sm2_repetitions, sm2_interval_days,
                sm2_easiness, sm2_due_at, fsrs_state, fsrs_step, fsrs_stability,
                fsrs_difficulty, fsrs_due_at)
            SELECT user_id, id, due, :per, 1, now() - interval '100 days',
                   due - interval '6 days', 3, 6, 2.5, due, 2, NULL, 6.0, 5.0, due
            FROM (SELECT user_id, id, row_number() OVER (ORDER BY id) AS rn,
                         now() + (random() * 70 - 10) * interval '1 day' AS due
                  FROM questions WHERE user_id = :u) q
            WHERE rn <= :states"""),
            {"u": user_id, "states": states, "per": per_state},
        )
        conn.execute(
            text("""
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
            FROM review_states rs CROSS JOIN generate_series(1, :per) g
            WHERE rs.user_id = :u"""),
            {"u": user_id, "per": per_state},
        )
        conn.execute(
            text("UPDATE profiles SET xp = 20 * :n WHERE user_id = :u"),
            {"u": user_id, "n": states * per_state},
        )
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        counts = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM materials WHERE user_id = :u), "
                "(SELECT count(*) FROM questions WHERE user_id = :u), "
                "(SELECT count(*) FROM attempts WHERE user_id = :u)"
            ),
            {"u": user_id},
        ).one()
    print(
        f"  {counts[1]:,} questions and {counts[2]:,} attempts in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )


def p95(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


def time_pages(rt, email: str, runs: int) -> dict[str, list[float]]:
    from streamlit.testing.v1 import AppTest

    from engine.accounts import get_account, start_session

    def signed_in() -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        account = get_account(rt, email=email)
        signed = start_session(rt, account=account)
        at.session_state["gw_account"] = account
        at.session_state["gw_session"] = signed.session_id
        return at

    timings: dict[str, list[float]] = {}
    at = signed_in().run()  # the first run of a process imports the app: not a page's cost
    for page in signed_in_pages():
        _visit(at, page)  # warm-up visit: the page's own first-use caches
        if at.exception:
            raise SystemExit(f"{page} failed: {at.exception[0].message}")
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            _visit(at, page)
            samples.append((time.perf_counter() - t0) * 1000)
        timings[page] = samples
    for page in SIGNED_OUT_PAGES:
        out = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        _visit(out, page)
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            _visit(out, page)
            samples.append((time.perf_counter() - t0) * 1000)
        timings[page] = samples
    return timings


def _visit(at, page: str):
    """One full run as the server does it for a browser on `page`: app.py (sign-in gate,
    sidebar, navigation) and then the page. (AppTest would otherwise run the page it last
    finished on by itself, skipping app.py.)"""
    at.switch_page(page)
    at._finished_page_script_hash = ""  # see the docstring
    return at.run()


def time_bare(runs: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string('import streamlit as st\nst.title("Bare page")\n').run()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        at.run()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


BARE_CLICK_APP = """import streamlit as st
st.session_state.setdefault("clicks", 0)
if st.button("Go"):
    st.session_state["clicks"] += 1
st.write(f"Clicked {st.session_state['clicks']} times")
"""


def _serve(
    rt,
    port: int,
    log_path: Path,
    script: str = "app.py",
) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": rt.engine.url.render_as_string(hide_password=False),
        "GROUNDWORK_DATA_DIR": str(rt.settings.storage.data_dir),
        "GROUNDWORK_MODEL_CACHE_DIR": str(rt.settings.storage.models_dir),
        "GROUNDWORK_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            script,
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _open(browser, port: int):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(120_000)
    deadline = time.monotonic() + 120
    while True:
        try:
            page.goto(f"http://127.0.0.1:{port}", timeout=3000)
            return page
        except Exception:  # the server is not listening yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def time_bare_clicks(rt, browser, clicks: int) -> tuple[list[float], list[float]]:
    """Anchor: click -> settled, and click -> new text visible, on a one-button Streamlit
    page, same server set-up."""
    folder = Path(tempfile.mkdtemp(prefix="gw-bench-bare-"))
    (folder / "bare_click.py").write_text(BARE_CLICK_APP)
    port = _port()
    proc = _serve(rt, port, folder / "streamlit.log", script=str(folder / "bare_click.py"))
    samples: list[float] = []
    visible: list[float] = []
    try:
        page = _open(browser, port)
        _settled(page, "Clicked 0 times")
        for i in range(1, clicks + 1):
            t0 = time.perf_counter()
            page.get_by_role("button", name="Go").click()
            page.get_by_text(f"Clicked {i} times", exact=False).first.wait_for(state="visible")
            visible.append((time.perf_counter() - t0) * 1000)
            _settled(page, f"Clicked {i} times")
            samples.append((time.perf_counter() - t0) * 1000)
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return samples, visible


def _answer_with_keys(page) -> float:
    """Answer the shown question with the keyboard (2 picks "beta", Enter checks); returns
    Enter -> verdict shown and run finished (ms), then Enter moves on."""
    _settled(page, "How sure are you?")
    page.locator(".st-key-today_check").wait_for()
    page.keyboard.press("2")
    page.locator(".st-key-today_option_1 [data-testid='stBaseButton-primary']").wait_for()
    _settled(page, "How sure are you?")
    t0 = time.perf_counter()
    page.keyboard.press("Enter")
    _settled(page, "Correct answer:")
    took = (time.perf_counter() - t0) * 1000
    page.locator(".st-key-today_next").wait_for()
    page.keyboard.press("Enter")
    return took


def _open_analytics(page) -> tuple[float, float, float]:
    """Analytics link -> first section shown, -> whole page (its first view, Progress)
    settled, and the "Everything" view's click -> all sections settled (ms)."""
    t0 = time.perf_counter()
    page.get_by_role("link", name="Analytics").first.click()
    page.get_by_text("Time spent", exact=True).first.wait_for(state="visible")
    first = (time.perf_counter() - t0) * 1000
    _settled(page, "Workload")
    whole = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    page.locator(".st-key-an_view button", has_text="Everything").click()
    _settled(page, "Export")
    return first, whole, (time.perf_counter() - t0) * 1000


def _answer_by_clicks(page) -> tuple[float, float, float]:
    """Answer the shown question with the mouse; returns Check answer click -> verdict shown,
    and Next question click -> next question shown (ms, each until the run finished), and
    Check answer click -> verdict visible (ms, not waiting for the run's end)."""
    _settled(page, "How sure are you?")
    page.locator(".st-key-today_check").wait_for()
    page.locator(".st-key-today_option_1 button").click()
    page.locator(".st-key-today_option_1 [data-testid='stBaseButton-primary']").wait_for()
    page.locator(".st-key-today_sure_4 button").click()
    _settled(page, "How sure are you? Sure (")
    t0 = time.perf_counter()
    page.get_by_role("button", name="Check answer").click()
    page.get_by_text("Correct answer:", exact=False).first.wait_for(state="visible")
    visible = (time.perf_counter() - t0) * 1000
    _settled(page, "Correct answer:")
    submit = (time.perf_counter() - t0) * 1000
    page.locator(".st-key-today_next").wait_for()
    t0 = time.perf_counter()
    page.get_by_role("button", name="Next question").click()
    _next_shown(page)
    after = (time.perf_counter() - t0) * 1000
    if page.get_by_text("Correct answer:", exact=False).count():  # checked, not timed
        raise SystemExit("the last verdict was still on screen after Next's run finished")
    return submit, after, visible


def time_submits(
    rt,
    email: str,
    submits: int,
) -> tuple[list[float], list[float], dict[str, list[float]]]:
    """Today's submit click -> settled page, and the bare-page anchor, in one browser; also
    the same by keyboard (Enter), and Analytics after each keyboard answer (fresh data, so
    the charts are read again): first section shown, and whole page settled."""
    from playwright.sync_api import sync_playwright

    from bench.cold_start import CHROMIUM_ARGS

    port = _port()
    log_path = Path(tempfile.mkdtemp(prefix="gw-bench-pages-")) / "streamlit.log"
    proc = _serve(rt, port, log_path)
    samples: list[float] = []
    extra: dict[str, list[float]] = {
        "keyboard_submit": [],
        "next_question": [],
        "generate_accept": [],
        "analytics_first_section": [],
        "analytics_settled": [],
        "analytics_everything": [],
        "submit_visible": [],
        "bare_visible": [],
    }
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            page = _open(browser, port)
            _settled(page, "Welcome to Groundwork")
            page.wait_for_timeout(1000)  # the cookie component reruns the app once after load
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            _settled(page, "Hello,")
            page.get_by_role("link", name="Today").first.click()
            for _ in range(submits):
                submit, after, visible = _answer_by_clicks(page)
                samples.append(submit)
                extra["submit_visible"].append(visible)
                extra["next_question"].append(after)
            for _ in range(max(1, submits // 2)):
                page.get_by_role("link", name="Today").first.click()
                extra["keyboard_submit"].append(_answer_with_keys(page))
                first, whole, everything = _open_analytics(page)
                extra["analytics_first_section"].append(first)
                extra["analytics_settled"].append(whole)
                extra["analytics_everything"].append(everything)
            extra["generate_accept"] = _time_accepts(page)
            page.close()
            proc.terminate()
            anchor, extra["bare_visible"] = time_bare_clicks(rt, browser, submits)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return samples, anchor, extra


def _next_shown(page) -> None:
    """After Next: the next question's Check button is on screen and the run has finished
    (two waits, as for the anchor's click; the last verdict is gone once the run finished,
    since a finished run removes what it did not draw)."""
    page.locator(".st-key-today_check").wait_for()
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")


def _time_accepts(page) -> list[float]:
    """Generate (offline when no model is configured) ACCEPTS questions, then time each Accept
    click in the preview until its card says it was saved and the run has finished (ms)."""
    page.get_by_role("link", name="Generate").first.click()
    _settled(page, "Generate questions")
    # The busy learner's made-up materials have no clear key terms: use the prose one.
    page.locator('[data-testid="stMultiSelect"]').filter(has_text="Materials").first.click()
    page.keyboard.type(GENERATE_FROM)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.get_by_label("How many").fill(str(ACCEPTS))  # enough Accepts for a p95
    page.get_by_role("button", name="Generate", exact=True).click()
    ready = page.get_by_text("question(s) passed the checks", exact=False).first
    failed = page.locator('[data-testid="stAlertContentError"]').first
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        ready.or_(failed).wait_for(state="visible", timeout=180_000)
    except PlaywrightTimeout:
        print("Generate made no preview to accept from within 3 minutes")
        return []
    if not ready.is_visible():
        print(f"Generate made no preview to accept from: {failed.inner_text()[:300]!r}")
        return []
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
    # Each card's Accept by its key: until a card's run has replaced its buttons, the
    # accepted card's old Accept is still the first one on the page.
    accept = page.locator('[class*="st-key-gen_"][class*="_accept"]')
    accept.first.wait_for()
    keys = accept.evaluate_all(
        "els => els.flatMap(e => [...e.classList].filter(c => /^st-key-gen_.+_[0-9]+_accept$/.test(c)))"
    )
    print(f"Generate preview: {len(keys)} cards to accept")
    saved = page.get_by_text("saved to your bank", exact=False)
    errors = page.locator('[data-testid="stAlertContentError"]')
    samples = []
    for key in keys:
        done, failed = saved.count(), errors.count()
        t0 = time.perf_counter()
        page.locator(f".{key} button").click()
        saved.nth(done).or_(errors.nth(failed)).wait_for()
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
        if errors.count() > failed:  # refused (e.g. already in the bank): the card stays
            print(f"Accept refused: {errors.nth(failed).inner_text()[:200]!r}")
            continue
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def _settled(page, text: str) -> None:
    """`text` is on screen and Streamlit has finished the run (its status widget is gone)."""
    page.get_by_text(text, exact=False).first.wait_for(state="visible")
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=7, help="timed runs of each page")
    p.add_argument("--submits", type=int, default=20, help="answers submitted in Chromium")
    p.add_argument("--no-browser", action="store_true", help="skip the Chromium part")
    p.add_argument("--materials", type=int, default=50)
    p.add_argument("--questions", type=int, default=5000)
    p.add_argument("--states", type=int, default=5000)
    p.add_argument("--attempts", type=int, default=50_000)
    args = p.parse_args(argv)

    rt = bench_runtime()
    user_id = bench_user(rt, "pages")
    from engine.db.models import User

    with rt.session_factory() as s:
        email = s.get(User, user_id).email
    print(f"Filling one busy learner ({email}):")
    from tests.support.generation_data import BIOLOGY, add_material

    add_material(rt.session_factory, user_id, GENERATE_FROM, BIOLOGY)  # prose to generate from
    fill(
        rt,
        user_id,
        materials=args.materials,
        questions=args.questions,
        states=args.states,
        attempts=args.attempts,
    )

    # the AppTest runs build the app's runtime from these settings, in this process
    os.environ["DATABASE_URL"] = rt.engine.url.render_as_string(hide_password=False)
    os.environ["GROUNDWORK_DATA_DIR"] = str(rt.settings.storage.data_dir)
    os.environ["GROUNDWORK_MODEL_CACHE_DIR"] = str(rt.settings.storage.models_dir)
    os.environ["GROUNDWORK_LOG_LEVEL"] = "WARNING"
    from engine.config import get_settings

    get_settings.cache_clear()
    bare = time_bare(args.runs * 3)
    timings = time_pages(rt, email, args.runs)
    print(f"\nserver time per page, {args.runs} runs after a warm-up visit (ms):")
    print(f"  {'page':<28} {'p50':>8} {'p95':>8}")
    for page, samples in timings.items():
        print(f"  {page:<28} {statistics.median(samples):8.1f} {p95(samples):8.1f}")
    print(f"  {'anchor: bare one-line page':<28} {statistics.median(bare):8.1f} {p95(bare):8.1f}")
    worst = max(timings, key=lambda k: p95(timings[k]))
    print(f"worst page: {worst} p95 {p95(timings[worst]):.1f} ms (target < 300 ms)")

    submit_p95 = bare_click_p95 = keyboard_p95 = next_p95 = accept_p95 = float("nan")
    submit_visible_p95 = bare_visible_p95 = float("nan")
    analytics_first_p95 = analytics_settled_p95 = analytics_all_p95 = float("nan")
    if not args.no_browser and args.submits > 0:
        submits, anchor, extra = time_submits(rt, email, args.submits)
        submit_p95, bare_click_p95 = p95(submits), p95(anchor)
        print(
            f"Today, answer submit in Chromium (click -> verdict shown, run finished): "
            f"p50 {statistics.median(submits):.0f} ms, p95 {submit_p95:.0f} ms "
            f"over {len(submits)} answers"
        )
        for name, label in (
            ("next_question", "Today, Next question click -> next question shown, run finished"),
            ("generate_accept", "Generate preview, Accept click -> card saved, run finished"),
            ("keyboard_submit", "Today, answer by keyboard (Enter -> verdict shown, run finished)"),
            (
                "analytics_first_section",
                "Analytics after a new answer: click -> first section shown",
            ),
            (
                "analytics_settled",
                "Analytics after a new answer: click -> whole page (first view) settled",
            ),
            (
                "analytics_everything",
                "Analytics, view 'Everything': click -> all 11 sections settled",
            ),
        ):
            got = extra[name]
            if not got:
                print(f"{label}: not measured (nothing to time)")
                continue
            print(
                f"{label}: p50 {statistics.median(got):.0f} ms, p95 {p95(got):.0f} ms "
                f"over {len(got)}"
            )
        next_p95 = p95(extra["next_question"])
        accept_p95 = p95(extra["generate_accept"]) if extra["generate_accept"] else float("nan")
        keyboard_p95 = p95(extra["keyboard_submit"])
        analytics_first_p95 = p95(extra["analytics_first_section"])
        analytics_settled_p95 = p95(extra["analytics_settled"])
        analytics_all_p95 = p95(extra["analytics_everything"])
        print(
            f"anchor: one-button bare Streamlit page, click -> settled: "
            f"p50 {statistics.median(anchor):.0f} ms, p95 {bare_click_p95:.0f} ms"
        )
        shown, bare_shown = extra["submit_visible"], extra["bare_visible"]
        submit_visible_p95, bare_visible_p95 = p95(shown), p95(bare_shown)
        print(
            f"Today, answer submit: click -> verdict visible (run may still be finishing): "
            f"p50 {statistics.median(shown):.0f} ms, p95 {submit_visible_p95:.0f} ms; anchor "
            f"click -> its new text visible: p50 {statistics.median(bare_shown):.0f} ms, "
            f"p95 {bare_visible_p95:.0f} ms"
        )
    print(
        f"RESULT worst_page={Path(worst).stem} worst_page_p95_ms={p95(timings[worst]):.1f} "
        f"submit_click_p95_ms={submit_p95:.0f} bare_click_p95_ms={bare_click_p95:.0f} "
        f"next_question_p95_ms={next_p95:.0f} generate_accept_p95_ms={accept_p95:.0f} "
        f"keyboard_submit_p95_ms={keyboard_p95:.0f} "
        f"analytics_first_section_p95_ms={analytics_first_p95:.0f} "
        f"analytics_settled_p95_ms={analytics_settled_p95:.0f} "
        f"analytics_everything_p95_ms={analytics_all_p95:.0f} "
        f"bare_run_p95_ms={p95(bare):.1f} submit_visible_p95_ms={submit_visible_p95:.0f} "
        f"bare_visible_p95_ms={bare_visible_p95:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
