"""A learner answers three questions in a real browser, sees XP and the next review change, gets
the missed one again and a session summary."""

from __future__ import annotations

from sqlalchemy import select

from engine.accounts import get_account
from engine.db.models import Attempt
from engine.profiles import get_profile
from tests.browser.conftest import signup_and_onboard, wait_for_text
from tests.support.practice import add_question


def answer(page, option: str, confidence: str) -> None:
    page.locator('[data-testid="stRadio"]').filter(has_text="Your answer") \
        .get_by_text(option, exact=True).click()
    page.locator('[data-testid="stRadio"]').filter(has_text="How sure are you?") \
        .get_by_text(confidence, exact=True).click()
    page.get_by_role("button", name="Check answer").click()


def test_answer_three_questions_and_see_xp_and_next_review(page, app_server):
    email = signup_and_onboard(page, app_server.url, name="Rosalind")
    sf = app_server.runtime.session_factory
    rt = app_server.runtime
    uid = get_account(rt, email=email).user_id
    for n in (1, 2, 3):
        add_question(sf, uid, stem=f"Question number {n}: which organelle makes ATP?")

    page.get_by_role("link", name="Today").click()
    wait_for_text(page, "Question number 1")
    answer(page, "Mitochondrion", "5 · Certain")
    wait_for_text(page, "Right!")
    wait_for_text(page, "+25 XP · 25 XP")
    wait_for_text(page, "next review tomorrow at")
    wait_for_text(page, "site of aerobic respiration")  # the cited source excerpt

    page.get_by_role("button", name="Next question").click()
    wait_for_text(page, "Question number 2")
    answer(page, "Nucleus", "2 · Unsure")
    wait_for_text(page, "Not quite")
    wait_for_text(page, "+10 XP · 35 XP")

    page.get_by_role("button", name="Next question").click()
    wait_for_text(page, "Question number 3")
    answer(page, "Mitochondrion", "3 · Fairly sure")
    wait_for_text(page, "+20 XP · 55 XP")

    # The missed question comes back once before the end, then the session summary.
    page.get_by_role("button", name="Next question").click()
    wait_for_text(page, "you missed this one earlier")
    wait_for_text(page, "Question number 2")
    answer(page, "Mitochondrion", "4 · Sure")
    wait_for_text(page, "Right!")
    page.get_by_role("button", name="Next question").click()
    wait_for_text(page, "Session summary")
    wait_for_text(page, "75%")  # 3 of 4 right
    wait_for_text(page, "All done for now. Your next review is due")

    profile = get_profile(rt, user_id=uid)
    assert profile.xp > 55 and profile.streak == 1
    page.get_by_role("link", name="Home").click()
    wait_for_text(page, "Hello, Rosalind")
    wait_for_text(page, f"{profile.xp}")
    with sf() as s:
        assert len(s.scalars(select(Attempt.id).where(Attempt.user_id == uid)).all()) == 4

    page.get_by_role("link", name="Reviews").click()
    wait_for_text(page, "Due this week")
    wait_for_text(page, "Scheduler in use:")
