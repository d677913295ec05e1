"""A hostile PDF's Markdown (a tracking-pixel image and a link to a server the test runs) is
shown as text on Library, Question bank, Today and Reviews in a real browser: the browser never
requests those URLs and the page has no <img> or <a> pointing at them."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.accounts import get_account
from engine.library import list_materials
from tests.browser.conftest import select_option, signup_and_onboard, wait_for_text
from tests.support.hostile import (
    flag_with_hostile_note,
    generate_hostile_questions,
    hostile_filename,
    hostile_pdf,
)


class _Tracker:
    """A local HTTP server standing in for the attacker's host; it counts every request."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        tracker = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's name
                tracker.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}/hostile"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tracker() -> Iterator[_Tracker]:
    t = _Tracker()
    yield t
    t.close()


def _assert_nothing_fetched(page, tracker: _Tracker, requested: list[str], where: str) -> None:
    page.wait_for_load_state("networkidle")  # any image asked for has been requested
    host = f"127.0.0.1:{tracker.port}"
    assert [u for u in requested if host in u] == [], f"{where}: the browser fetched it"
    assert tracker.hits == [], f"{where}: the tracker was hit: {tracker.hits}"
    assert page.locator(f'img[src*="{host}"]').count() == 0, f"{where}: an <img> to it"
    assert page.locator(f'a[href*="{host}"]').count() == 0, f"{where}: a link to it"
    assert page.get_by_text("](", exact=False).count() > 0, f"{where}: hostile text not shown"


def test_hostile_pdf_never_makes_the_browser_fetch_or_link(
    page, app_server, tracker, tmp_path, llm_stub
):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    email = signup_and_onboard(page, app_server.url, name="Mallory Reader")
    rt = app_server.runtime
    uid = get_account(rt, email=email).user_id

    # Upload through the page: hostile body, title metadata and file name.
    page.get_by_role("link", name="Open the Library to upload a PDF").click()
    wait_for_text(page, "Your library is empty")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        {
            "name": hostile_filename(tracker.base),
            "mimeType": "application/pdf",
            "buffer": hostile_pdf(tracker.base),
        }
    )
    wait_for_text(page, "Added “", timeout_ms=420_000)  # a busy machine
    [material] = list_materials(rt, user_id=uid)
    assert "[click](" in material.title and "[click](" in material.filename
    _assert_nothing_fetched(page, tracker, requested, "Library after upload")

    # The material's own view and a search that returns its passages.
    select_option(page, "Open a material", material.title)
    wait_for_text(page, " passage")  # "1 passage" or "12 passages"
    _assert_nothing_fetched(page, tracker, requested, "Library material")
    page.get_by_label("Search your library").fill("photosynthesis chloroplasts diagram")
    page.get_by_test_id("stBaseButton-secondaryFormSubmit").filter(has_text="Search").click()
    wait_for_text(page, "relevance")
    _assert_nothing_fetched(page, tracker, requested, "Library search")

    # Questions written by a model from it (hostile stems, options, explanations).
    qids = generate_hostile_questions(rt, uid, tracker.base, llm_stub, count=2)
    page.get_by_role("link", name="Question bank").click()
    wait_for_text(page, "Showing 1")
    page.locator('[data-testid="stExpander"] summary').first.click()
    wait_for_text(page, "Why:")
    _assert_nothing_fetched(page, tracker, requested, "Question bank")

    page.get_by_role("link", name="Today").click()
    wait_for_text(page, "New question")
    _assert_nothing_fetched(page, tracker, requested, "Today (question)")
    page.locator('[data-testid="stButton"]').filter(has_text=re.compile(r"Zorblat")).first.locator(
        "button"
    ).click()
    page.locator('[data-testid="stBaseButton-primary"]').filter(has_text="Zorblat").first.wait_for()
    page.get_by_role("button", name="Check answer").click()
    wait_for_text(page, "Correct answer")
    _assert_nothing_fetched(page, tracker, requested, "Today (feedback)")

    flag_with_hostile_note(rt, uid, qids[-1], tracker.base)
    page.get_by_role("link", name="Reviews").click()
    wait_for_text(page, "Needs your attention")
    wait_for_text(page, "Flagged as wrong")
    _assert_nothing_fetched(page, tracker, requested, "Reviews")
