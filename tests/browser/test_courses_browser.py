"""A teacher creates a course, shares a material and publishes a question in a real browser; a
learner in another browser joins with the code and finds the question on Today. A teacher
corrects a key the item analysis flagged, and a learner finds the notice on Today."""

from __future__ import annotations

from sqlalchemy import select

from engine import library
from engine.accounts import get_account, register_user
from engine.courses import add_questions, create_course, join_course, publish_questions
from engine.db.models import Course, Question, User
from engine.practice.submit import submit_answer
from tests.browser.conftest import (
    TIMEOUT_MS,
    select_option,
    signup_and_onboard,
    submit_form,
    wait_for_text,
    wait_idle,
)
from tests.support.library_pdfs import text_pdf
from tests.support.practice import add_question, token

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
    wait_idle(page)
    page.locator('[data-testid="stMultiSelect"]').filter(has_text="Add questions").click()
    page.get_by_role("option").filter(has_text=STEM).first.click()
    page.keyboard.press("Escape")
    wait_idle(page)
    page.get_by_role("button", name="Add as drafts").click()
    wait_for_text(page, "Added as drafts")
    page.get_by_role("tab", name="Course bank").click()
    wait_idle(page)
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


MISKEYED = "Where does aerobic respiration take place?"
CELL_OPTIONS = ["Nucleus", "Mitochondrion", "Ribosome", "Golgi body"]


def _seed_class(rt, teacher: int, learners: list[int]) -> None:
    """A course of two published questions, the first keyed "Nucleus" though "Mitochondrion"
    is right, answered through the engine: the first half of the learners know the material
    (right on the sound question, the real answer on the miskeyed one), the rest do not."""
    miskeyed = add_question(  # first: the question Course insights opens with
        rt.session_factory, teacher, stem=MISKEYED, correct_index=0, answer="Nucleus"
    )
    sound = add_question(rt.session_factory, teacher, stem="Which organelle makes ATP?")
    course = create_course(rt, teacher_id=teacher, title="Biology 101")
    add_questions(rt, teacher_id=teacher, course_id=course, question_ids=[miskeyed, sound])
    publish_questions(rt, teacher_id=teacher, course_id=course)
    with rt.session_factory() as s:
        code = s.scalar(select(Course.join_code).where(Course.id == course))
    for n, uid in enumerate(learners):
        join_course(rt, user_id=uid, code=code)
        strong = n < len(learners) // 2
        with rt.session_factory() as s:
            copies = dict(
                s.execute(
                    select(Question.stem, Question.id).where(
                        Question.user_id == uid, Question.course_question_id.is_not(None)
                    )
                ).all()
            )
        for stem, response in (
            ("Which organelle makes ATP?", 1 if strong else 0),
            (MISKEYED, 1 if strong else 0),
        ):
            submit_answer(
                rt, user_id=uid, question_id=copies[stem], token=token(), response=response,
                confidence=3, seconds=40, expected_reviews=0,
            )  # fmt: skip


def test_teacher_corrects_a_flagged_key_and_the_learner_is_told(start_app, page, browser):
    server = start_app({"GROUNDWORK_ITEM_MIN_LEARNERS": "4"})
    rt = server.runtime
    teacher = get_account(
        rt, email=signup_and_onboard(page, server.url, name="Professor Ada")
    ).user_id
    with rt.session_factory.begin() as s:
        s.get(User, teacher).role = "teacher"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    learner = context.new_page()
    try:
        sam_email = signup_and_onboard(learner, server.url, name="Student Sam")
        sam = get_account(rt, email=sam_email).user_id
        others = [
            register_user(
                rt, email=f"class{i}-{sam}@example.com", password="correct horse battery staple",
                display_name=f"Learner {i}", by_admin=True,
            ).user_id
            for i in range(5)
        ]  # fmt: skip
        _seed_class(rt, teacher, [*others[:3], sam, *others[3:]])  # Sam is a weak learner

        page.get_by_role("link", name="Courses").click()  # the menu now has Teaching
        wait_for_text(page, "Courses you teach")
        page.get_by_role("link", name="Course insights").click()
        wait_for_text(page, "Verdicts from 4 learners on")
        wait_for_text(page, f"{MISKEYED} (version 1, published): Check the key")
        with rt.session_factory() as s:  # the look at the items recorded the class's score
            scores = s.scalars(select(Question.quality_score).where(Question.stem == MISKEYED))
            assert all(score is not None for score in scores.all())
        page.get_by_role("tab", name="Correct the key").click()
        select_option(page, "Right option", "Mitochondrion")
        fix = page.get_by_role("button", name="Correct the key")
        assert fix.is_disabled()  # not before the teacher confirms
        page.get_by_text("Re-grade every answer already given and tell the learners").click()
        wait_idle(page)
        fix.click()
        wait_for_text(page, f"{MISKEYED} (version 2, published)")

        learner.get_by_role("link", name="Today").click()
        wait_for_text(learner, "Your teacher corrected the answer key")
    finally:
        context.close()
