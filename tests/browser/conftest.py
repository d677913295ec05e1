"""Real-browser tests: Playwright drives Debian's Chromium against `streamlit run` on 127.0.0.1.

Fixtures:
    start_app(env=None, args=(), port=None) -> AppServer
                                       a served app on its own database (one per distinct
                                       env and args; `args` are extra `streamlit run` options)
    app_server / app_url               the app with default settings (offline: no LLM)
    page                               a fresh Playwright page; a screenshot is saved on failure
    llm_stub                           the stub model server, one per session, reset per test
Helpers:
    signup_and_onboard(page, app_url, name=...) -> email
    wait_for_text(page, text), wait_idle(page)
    wait_for_cookie(page, name, present=True)  the browser holds (or no longer holds) a cookie
    wait_cookie_component(page)                the cookie component has reported and its
                                               rerun has finished

Browser tests skip (with the reason) only where Chromium is absent and CI is not set; in CI a
missing browser fails the run. Under pytest-xdist each worker that runs browser tests starts its
own app servers (on free ports, with their own databases and data folders) and its own Chromium.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.bootstrap import create_runtime
from engine.config import Settings
from engine.runtime import Runtime
from tests.support.llm_stub import LLMStub

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM = os.environ.get("GROUNDWORK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Generous: under pytest-xdist several apps and browsers share the machine's cores.
TIMEOUT_MS = 90_000
AUTH_COOKIE = "groundwork_auth"  # the default cookie name (GROUNDWORK_COOKIE_NAME)


def _chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = (
        f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
        "to run the browser tests"
    )
    if os.environ.get("CI"):
        pytest.fail(reason + " (CI must run them)")
    pytest.skip(reason)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@dataclass
class AppServer:
    url: str
    database_url: str
    data_dir: Path
    runtime: Runtime  # engine access to the served app's database, for seeding and checks
    log_path: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log_path: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit not healthy in {timeout_s}s:\n{log_path.read_text()[-4000:]}")


# Package scope: the apps, the stub model server and Chromium stop when the last browser test
# has run (under pytest-xdist its worker goes on with other tests), not at the end of the run.
@pytest.fixture(scope="package")
def start_app(database_factory, shared_model_cache) -> Iterator[Callable[..., AppServer]]:
    _chromium_or_skip()
    servers: dict[frozenset, tuple[AppServer, subprocess.Popen]] = {}
    logs = Path(tempfile.mkdtemp(prefix="groundwork-browser-"))

    def _start(
        env: dict[str, str] | None = None, args: tuple[str, ...] = (), port: int | None = None
    ) -> AppServer:
        key = frozenset([*(env or {}).items(), ("args", tuple(args))])
        if key in servers:
            return servers[key][0]
        db_url = database_factory.create()
        data_dir = logs / f"data{len(servers)}"
        port = port or _free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = logs / f"streamlit{len(servers)}.log"
        full_env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "GROUNDWORK_DATA_DIR": str(data_dir),
            "GROUNDWORK_MODEL_CACHE_DIR": str(shared_model_cache),
            "HF_HUB_OFFLINE": "1",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            **(env or {}),
        }
        log_file = open(log_path, "w")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--browser.gatherUsageStats",
                "false",
                *args,
            ],
            cwd=ROOT,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        proc._log_file = log_file  # type: ignore[attr-defined]
        try:
            _wait_healthy(url, proc, log_path)
        except RuntimeError:
            proc.kill()
            raise
        settings = Settings(
            database_url=db_url,
            data_dir=data_dir,
            model_cache_dir=shared_model_cache,
            **{
                k[len("GROUNDWORK_") :].lower(): v
                for k, v in (env or {}).items()
                if k.startswith("GROUNDWORK_") and k != "GROUNDWORK_DATA_DIR"
            },
        )
        server = AppServer(url, db_url, data_dir, create_runtime(settings, migrate=False), log_path)
        servers[key] = (server, proc)
        return server

    yield _start
    for server, proc in servers.values():
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        proc._log_file.close()  # type: ignore[attr-defined]
        server.runtime.close()
        database_factory.drop(server.database_url)


@pytest.fixture(scope="package")
def app_server(start_app) -> AppServer:
    return start_app()


@pytest.fixture
def app_url(app_server: AppServer) -> str:
    return app_server.url


@pytest.fixture(scope="package")
def _session_llm_stub() -> Iterator[LLMStub]:
    stub = LLMStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def llm_stub(_session_llm_stub: LLMStub) -> LLMStub:
    """One stub server for the browser tests of this process, reset before each test: the
    tests that serve the app with a model (`start_app(llm_stub.env_for())`) then share one
    served app instead of starting one each."""
    _session_llm_stub.reset()
    return _session_llm_stub


@pytest.fixture(scope="package")
def browser():
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    yield pg
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


_emails = itertools.count(1)


def wait_idle(page, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until Streamlit has finished running the script (its status widget is gone)."""
    page.wait_for_timeout(150)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=timeout_ms)


COOKIE_COMPONENT = 'iframe[title*="cookie_manager"]'


def wait_cookie_component(page, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until the cookie component (an iframe on every page) has loaded, and so has sent
    the browser's cookies to the app, and the rerun that causes has finished."""
    frame = page.locator(COOKIE_COMPONENT).first
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        frame.wait_for(state="attached", timeout=timeout_ms)
        # The iframe can be replaced while the page draws (its old element then has no frame):
        # look it up again until one holds its document.
        content = frame.element_handle(timeout=timeout_ms).content_frame()
        if content is not None:
            break
        assert time.monotonic() < deadline, "the cookie component never loaded"
        page.wait_for_timeout(100)
    content.wait_for_load_state("load", timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def wait_for_cookie(page, name: str, *, present: bool = True, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until the browser holds a cookie `name` (or, with present=False, no longer does):
    cookies are written and removed by a component after the run that asks for it."""
    deadline = time.monotonic() + timeout_ms / 1000
    while any(c["name"] == name for c in page.context.cookies()) != present:
        assert time.monotonic() < deadline, f"cookie {name!r} {'never set' if present else 'kept'}"
        page.wait_for_timeout(50)
    wait_idle(page, timeout_ms)


def wait_for_text(page, text: str, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until `text` is visible and the app is idle again, so the next action lands.
    On a timeout the failure shows what the page did show, so a CI log says why."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=timeout_ms)
    except PlaywrightTimeoutError as e:
        shown = " ".join(page.locator("body").inner_text(timeout=5_000).split())
        raise AssertionError(
            f"{text!r} not shown at {page.url}; the page shows: {shown[:1500]}"
        ) from e
    wait_idle(page, timeout_ms)


def text_shown(page, text: str, timeout_ms: int) -> bool:
    """Whether `text` becomes visible within `timeout_ms`."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=timeout_ms)
    except PlaywrightTimeoutError:
        return False
    return True


def select_option(page, label: str, option: str) -> None:
    """Pick `option` in the Streamlit selectbox labelled `label`."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    # A polling fragment elsewhere on the page can rerender and close an open list: reopen it.
    for attempt in range(4):
        box.click()
        wanted = page.get_by_role("option", name=option, exact=True)
        if attempt == 3:  # last try: the option as its list shows it, whitespace folded
            wanted = page.get_by_role("option", name=" ".join(option.split())[:40])
        try:
            wanted.first.click(timeout=8_000)
            return
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
    raise AssertionError(f"no option {option!r} in the selectbox {label!r}")


def submit_form(page, button: str, expected: str) -> None:
    """Click the form's submit `button` and wait for `expected`. On a loaded machine a rerun
    the cookie component asks for can land on the submit's run and stop it before the form is
    read, and the page stays as it was (seen in CI): a person clicks again, and so does this,
    once, after 30 s without an answer."""
    submit = page.get_by_role("button", name=button)
    submit.click()
    if not text_shown(page, expected, 30_000) and submit.is_visible():
        wait_idle(page)
        submit.click()
    wait_for_text(page, expected)


def open_page(page, link: str, expected: str) -> None:
    """Click the menu link `link` and wait for `expected`. A click that lands while the cookie
    component's first rerun is still on its way can be overtaken by that rerun, which draws the
    page the browser was on (seen in CI on a loaded machine): a person clicks again, and so does
    this, once, after 20 s without the new page."""
    target = page.get_by_role("link", name=link).first
    target.click()
    if not text_shown(page, expected, 20_000):
        wait_idle(page)
        target.click()
    wait_for_text(page, expected)


def signup_and_onboard(
    page,
    app_url: str,
    *,
    name: str = "Browser Learner",
    password: str = "correct horse battery staple",
) -> str:
    """Register a new learner through the UI, complete onboarding, and land on Home."""
    email = f"browser{next(_emails)}-{os.getpid()}@example.com"
    page.goto(app_url)
    wait_for_text(page, "Welcome to Groundwork")
    wait_cookie_component(page)  # it reruns the app once after load
    open_page(page, "Sign up", "Create your Groundwork account")
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat password").fill(password)
    submit_form(page, "Sign up", f"Welcome, {name}")
    wait_for_cookie(page, AUTH_COOKIE)  # setting the cookie reruns the app once more
    page.get_by_label("Your learning goals").fill("Understand my course notes")
    page.get_by_label("Subjects or exam you are studying for").fill("Physics")
    select_option(page, "Your level", "Intermediate")
    submit_form(page, "Start learning", f"Hello, {name}")
    return email
