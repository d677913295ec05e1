"""A learner answers three questions in a real browser, sees XP and the next review change, gets
the missed one again and a session summary; another reviews twenty questions with the keyboard
only."""

from __future__ import annotations

from sqlalchemy import select

from engine.accounts import get_account
from engine.db.models import Attempt
from engine.profiles import get_profile
from tests.browser.conftest import signup_and_onboard, wait_for_text
from tests.support.practice import add_question


def answer(page, option: str, confidence: str) -> None:
    """With the mouse: click the option, the confidence, then Check answer."""
    page.get_by_role("button", name=option).click()
    page.locator('[data-testid="stBaseButton-primary"]').filter(has_text=option).wait_for()
    level = ["Guessing", "Unsure", "Fairly sure", "Sure", "Certain"].index(confidence) + 1
    page.locator(f".st-key-today_sure_{level} button").click()
    wait_for_text(page, f"How sure are you? {confidence} (")
    page.get_by_role("button", name="Check answer").click()


def metric(page, label: str):
    return page.locator('[data-testid="stMetric"]').filter(has_text=label)


def test_answer_three_questions_and_see_xp_and_next_review(page, app_server):
    email = signup_and_onboard(page, app_server.url, name="Rosalind")
    sf = app_server.runtime.session_factory
    rt = app_server.runtime
    uid = get_account(rt, email=email).user_id
    for n in (1, 2, 3):
        add_question(sf, uid, stem=f"Question number {n}: which organelle makes ATP?")

    page.get_by_role("link", name="Today").click()
    wait_for_text(page, "Question number 1")
    answer(page, "Mitochondrion", "Certain")
    wait_for_text(page, "Right!")
    wait_for_text(page, "+25 XP · 25 XP")
    # The header counts are read again after an answer (picks of an option or a confidence
    # reuse the showing's counts; checking changes them).
    metric(page, "Answered today").filter(has_text="1 / ").wait_for()
    metric(page, "XP").filter(has_text="25").wait_for()
    wait_for_text(page, "next review tomorrow at")
    wait_for_text(page, "site of aerobic respiration")  # the cited source excerpt

    page.get_by_role("button", name="Next question").click()
    wait_for_text(page, "Question number 2")
    answer(page, "Nucleus", "Unsure")
    wait_for_text(page, "Not quite")
    wait_for_text(page, "+10 XP · 35 XP")
    metric(page, "Answered today").filter(has_text="2 / ").wait_for()

    page.get_by_role("button", name="Next question").click()
    wait_for_text(page, "Question number 3")
    answer(page, "Mitochondrion", "Fairly sure")
    wait_for_text(page, "+20 XP · 55 XP")
    # Flag: its form appears when the popover opens, and the flag is confirmed on the card.
    page.get_by_role("button", name="Flag", exact=True).click()
    page.get_by_text("The question is unclear").click()
    page.get_by_role("button", name="Flag question").click()
    wait_for_text(page, "Thanks, flagged.")

    # The missed question comes back once before the end, then the session summary.
    page.get_by_role("button", name="Next question").click()
    wait_for_text(page, "you missed this one earlier")
    wait_for_text(page, "Question number 2")
    answer(page, "Mitochondrion", "Sure")
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


def test_twenty_reviews_with_the_keyboard_only(page, app_server):
    """Number keys pick, Shift+number says how sure, Enter checks and Enter moves on; the keys
    are shown on the buttons. No click from the first question to the summary."""
    email = signup_and_onboard(page, app_server.url, name="Grace")
    sf = app_server.runtime.session_factory
    uid = get_account(app_server.runtime, email=email).user_id
    options = ["Nucleus", "Mitochondrion", "Ribosome", "Golgi body"]
    for n in range(1, 21):
        k = n % 4  # the right option moves around
        shuffled = options[k:] + options[:k]
        add_question(
            sf,
            uid,
            stem=f"Keyboard question {n}: which organelle makes ATP?",
            options=shuffled,
            correct_index=shuffled.index("Mitochondrion"),
        )

    page.goto(f"{app_server.url}/today")
    wait_for_text(page, "Keyboard question 1:")
    # The keys are drawn on the buttons (waited for: the card may still be drawing).
    for key in ("1", "2", "3", "4"):
        page.get_by_label(f"Shortcut {key}").first.wait_for(state="visible")
    page.get_by_role("button", name="Check answer").get_by_label(
        "Shortcut Enter", exact=False
    ).wait_for(state="visible")
    # Each key is pressed once its button is on screen, as a person would.
    for n in range(1, 21):
        wait_for_text(page, f"Keyboard question {n}:")
        page.locator(".st-key-today_check").wait_for()
        # Options are shown shuffled per answer: find where the right one is shown.
        shown = next(
            i
            for i in range(4)
            if "Mitochondrion" in page.locator(f".st-key-today_option_{i}").inner_text()
        )
        page.keyboard.press(str(shown + 1))
        page.locator(
            f".st-key-today_option_{shown} [data-testid='stBaseButton-primary']"
        ).wait_for()
        if n % 5 == 0:
            page.keyboard.press("Shift+5")
            wait_for_text(page, "How sure are you? Certain")
        page.keyboard.press("Enter")
        wait_for_text(page, "Right!")
        page.locator(".st-key-today_next").wait_for()
        page.keyboard.press("Enter")
    wait_for_text(page, "Session summary")
    wait_for_text(page, "100%")

    with sf() as s:
        confidences = s.scalars(
            select(Attempt.confidence).where(Attempt.user_id == uid).order_by(Attempt.id)
        ).all()
        assert s.scalars(select(Attempt.correct).where(Attempt.user_id == uid)).all() == [True] * 20
    assert confidences == [5 if n % 5 == 0 else 3 for n in range(1, 21)]
