"""AppTest for the Courses page: a teacher creates a course, shares a material and publishes a
question; a learner joins with the code, sees the material and finds the question on Today;
leaving asks first; a learner sees no teaching tools."""

from __future__ import annotations

from sqlalchemy import select

from engine import courses, library
from engine.db.models import Course, Question, User
from tests.support.library_pdfs import text_pdf
from tests.support.practice import add_question


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [s.value for s in at.success]
    parts += [w.value for w in at.warning] + [h.value for h in at.subheader]
    parts += [x.label for x in at.expander]
    return "\n".join(str(p) for p in parts)


def button(at, label):
    return next(b for b in at.button if b.label == label)


def open_courses(at):
    at.switch_page("pages/courses.py").run()
    assert not at.exception
    return at


def test_teacher_publishes_and_a_learner_joins_and_practises(signed_in_app, runtime):
    teacher_at = signed_in_app()
    teacher = teacher_at.session_state["gw_account"].user_id
    with runtime.session_factory.begin() as s:
        s.get(User, teacher).role = "teacher"
    pdf = text_pdf(["Mitochondria make ATP by aerobic respiration."], title="Cell notes")
    library.ingest_pdf(runtime, user_id=teacher, data=pdf, filename="cells.pdf")
    add_question(runtime.session_factory, teacher, stem="Which organelle makes ATP for the class?")

    open_courses(teacher_at)
    assert "No course yet" in texts(teacher_at)
    teacher_at.text_input(key="courses_new_title").input("Biology 101")
    button(teacher_at, "Create course").click().run()
    assert "Course created" in texts(teacher_at)
    with runtime.session_factory() as s:
        course = s.scalar(select(Course))
    assert f"Join code: **{course.join_code}**" in texts(teacher_at)
    button(teacher_at, "Add material").click().run()
    assert "Material added" in texts(teacher_at)
    [question] = teacher_at.multiselect(key=f"courses_bank_pick_{course.id}").options
    teacher_at.multiselect(key=f"courses_bank_pick_{course.id}").select(question).run()
    button(teacher_at, "Add as drafts").click().run()
    assert "Drafts" in texts(teacher_at)
    button(teacher_at, "Publish all drafts").click().run()
    assert not teacher_at.exception
    assert "Published" in texts(teacher_at)

    learner_at = open_courses(signed_in_app())
    learner = learner_at.session_state["gw_account"].user_id
    assert "Courses you teach" not in texts(learner_at)
    assert "You are not in any course" in texts(learner_at)
    learner_at.text_input(key="courses_code").input(course.join_code.lower())
    button(learner_at, "Join").click().run()
    shown = texts(learner_at)
    assert "You joined the course" in shown and "Biology 101" in shown
    assert "Cell notes (1 page)" in shown

    learner_at.switch_page("pages/today.py").run()
    assert not learner_at.exception
    assert learner_at.subheader[0].value == "Which organelle makes ATP for the class?"

    teacher_at.run()
    [table] = [d.value for d in teacher_at.dataframe]
    assert list(table["Learner"]) == ["Test Learner"]
    assert list(table["Answers to course questions"]) == [0]

    open_courses(learner_at)
    button(learner_at, "Leave this course").click().run()
    assert "Leave this course?" in texts(learner_at)
    button(learner_at, "Yes, leave").click().run()
    assert "You left the course" in texts(learner_at)
    assert courses.list_enrolled(runtime, user_id=learner) == []
    with runtime.session_factory() as s:  # the question stays the learner's own
        kept = s.scalars(select(Question.stem).where(Question.user_id == learner)).all()
    assert kept == ["Which organelle makes ATP for the class?"]


def test_a_wrong_code_is_explained(signed_in_app):
    at = open_courses(signed_in_app())
    at.text_input(key="courses_code").input("ZZZZ2222")
    button(at, "Join").click().run()
    assert "No course has that join code" in texts(at)
