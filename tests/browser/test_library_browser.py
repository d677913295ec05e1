"""A learner uploads a PDF on the Library page and finds a passage of it by searching."""

from __future__ import annotations

import re

from engine.accounts import get_account
from engine.library import list_materials
from tests.browser.conftest import signup_and_onboard, wait_for_text
from tests.support.library_pdfs import text_pdf

PAGES = [
    "Chapter 1 Rivers\nRivers carry sediment from mountains to the sea, depositing it where "
    "the current slows.",
    "Chapter 2 Deltas\nA delta forms where a river enters still water and drops its load of "
    "silt, building new land in a fan of distributary channels.",
]


def test_upload_a_pdf_then_find_a_passage(page, app_server, tmp_path):
    email = signup_and_onboard(page, app_server.url, name="Lena")
    page.get_by_role("link", name="Open the Library to upload a PDF").click()
    wait_for_text(page, "Your library is empty")

    pdf = tmp_path / "geography.pdf"
    pdf.write_bytes(text_pdf(PAGES, title="Physical Geography"))
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(pdf))
    wait_for_text(page, "Added “Physical Geography”: 2 pages", timeout_ms=180_000)

    account = get_account(app_server.runtime, email=email)
    materials = list_materials(app_server.runtime, user_id=account.user_id)
    assert [(m.title, m.page_count) for m in materials] == [("Physical Geography", 2)]

    page.get_by_label("Search your library").fill("where does a river drop its silt")
    page.get_by_test_id("stBaseButton-secondaryFormSubmit").filter(has_text="Search").click()
    wait_for_text(page, "distributary channels")
    first_result = (
        page.locator('[data-testid="stMarkdownContainer"]')
        .filter(has_text="1. Physical Geography")
        .first.inner_text()
    )
    # the passage is cited with its page range, which includes page 2
    assert re.search(r"\bpp?\. (2|1\u20132)\b", first_result), first_result


SCANNED = (
    "Glaciers carve U-shaped valleys as they grind the bedrock beneath them. When the "
    "ice retreats, it leaves moraines of unsorted rock and sand behind. "
)


def test_upload_a_scanned_pdf_then_find_a_sentence_of_it(page, app_server, tmp_path):
    from tests.support.library_pdfs import scanned_pdf

    email = signup_and_onboard(page, app_server.url, name="Ivo")
    page.get_by_role("link", name="Open the Library to upload a PDF").click()
    wait_for_text(page, "Your library is empty")

    pdf = tmp_path / "glaciers-scan.pdf"
    pdf.write_bytes(scanned_pdf([SCANNED * 3]))
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(pdf))
    wait_for_text(page, "1 page", timeout_ms=240_000)

    account = get_account(app_server.runtime, email=email)
    [material] = list_materials(app_server.runtime, user_id=account.user_id)
    assert material.ocr_pages == [1]

    page.get_by_label("Search your library").fill("what do glaciers leave when the ice retreats")
    page.get_by_test_id("stBaseButton-secondaryFormSubmit").filter(has_text="Search").click()
    wait_for_text(page, "it leaves moraines of unsorted rock and sand behind")
