"""In a real browser: generate questions with a model (the stub server), accept them, and find
them in the question bank."""

from __future__ import annotations

from sqlalchemy import select

from engine.accounts import get_account
from engine.db.models import Question
from tests.browser.conftest import select_option, signup_and_onboard, wait_for_text
from tests.support.generation_data import BIOLOGY, add_material, grounded_responder


def test_generate_accept_and_see_in_bank(page, start_app, llm_stub):
    llm_stub.responder = grounded_responder("mcq")
    server = start_app(llm_stub.env_for())
    email = signup_and_onboard(page, server.url, name="Barbara")
    sf = server.runtime.session_factory
    rt = server.runtime
    uid = get_account(rt, email=email).user_id
    add_material(sf, uid, "Cell biology notes", BIOLOGY)

    page.get_by_role("link", name="Generate").click()
    wait_for_text(page, "Generate questions")
    wait_for_text(page, "openai/stub-model")
    select_option(page, "Question type", "Multiple choice")
    page.get_by_label("How many").fill("2")
    page.get_by_role("button", name="Generate").click()
    wait_for_text(page, "2 of 2 question(s) passed the checks")
    wait_for_text(page, "Cell biology notes")
    with sf() as s:
        assert s.scalars(select(Question.id).where(Question.user_id == uid)).all() == []

    page.get_by_role("button", name="Accept all").click()
    wait_for_text(page, "saved to your bank")
    assert page.get_by_text("saved to your bank").count() == 2  # both cards say so
    with sf() as s:
        saved = s.scalars(select(Question).where(Question.user_id == uid)).all()
    assert len(saved) == 2 and all(q.model == "openai/stub-model" for q in saved)

    page.get_by_role("link", name="Question bank").first.click()
    wait_for_text(page, "Showing 1–2 of 2")
    # Each row shows its stem at a glance; its answer and source open below it.
    row = page.locator(f".st-key-bank_{saved[0].id}_row")
    row.get_by_text(saved[0].stem[:40], exact=False).first.wait_for()
    row.get_by_text("Answer, source, edit or delete").click()
    wait_for_text(page, saved[0].excerpt[:40])
