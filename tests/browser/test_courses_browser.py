"""A teacher creates a course, shares a material and publishes a question in a real browser; a
learner in another browser joins with the code and finds the question on Today."""

from __future__ import annotations

from sqlalchemy import select

from engine import library
from engine.accounts import get_account
from engine.db.models import Course, User
from tests.browser.conftest import (
    TIMEOUT_MS,
    signup_and_onboard,
    submit_form,
    wait_for_text,
    wait_idle,
)
from tests.support.library_pdfs import text_pdf
from tests.support.practice import add_question

STEM = "Which organelle makes ATP for the whole class?"


def test_teacher_publishes_and_a_learner_joins_and_practises(page, browser, app_server):
    rt = app_server.runtime
    email = signup_and_onboard(page, app_server.url, name="Professor Ada")
    teacher = get_account(rt, email=email).user_id
    with rt.session_factory.begin() as s:
        s.get(User, teacher).role = "teacher"
    library.ingest_pdf(
        rt,
        user_id=teacher,
        data=text_pdf(["Mitochondria make ATP."], title="Cells"),
        filename="c.pdf",
    )
    add_question(rt.session_factory, teacher, stem=STEM)

    page.get_by_role("link", name="Courses").click()
    wait_for_text(page, "Courses you teach")
    page.get_by_label("New course title").fill("Biology 101")
    submit_form(page, "Create course", "Course created")
    page.get_by_role("button", name="Add material").click()
    wait_for_text(page, "Material added")
    page.get_by_role("tab", name="Course bank").click()
    page.locator('[data-testid="stMultiSelect"]').filter(has_text="Add questions").click()
    page.get_by_role("option").filter(has_text=STEM).first.click()
    page.keyboard.press("Escape")
    wait_idle(page)
    page.get_by_role("button", name="Add as drafts").click()
    wait_for_text(page, "Added as drafts")
    page.get_by_role("tab", name="Course bank").click()
    page.get_by_role("button", name="Publish all drafts").click()
    wait_for_text(page, "Published: every learner")
    with rt.session_factory() as s:
        code = s.scalar(select(Course.join_code))

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    learner = context.new_page()
    try:
        signup_and_onboard(learner, app_server.url, name="Student Sam")
        learner.get_by_role("link", name="Courses").click()
        wait_for_text(learner, "Join a course")
        learner.get_by_label("Join code").fill(code)
        submit_form(learner, "Join", "You joined the course")
        wait_for_text(learner, "Cells (1 page)")
        learner.get_by_role("link", name="Today").click()
        wait_for_text(learner, STEM)
    finally:
        context.close()
