"""Courses: join one with a code, see its materials and leave it; a teacher also creates
courses, hands out the join code, shares materials and runs the course bank."""

from __future__ import annotations

import streamlit as st

from engine import courses, library
from engine.courses.values import CourseSummary
from engine.domain.vocabulary import CourseQuestionStatus, MaterialStatus
from engine.errors import EngineError
from ui.auth import require_account
from ui.labels import COURSE_QUESTION_STATUS_LABELS
from ui.runtime import get_runtime
from ui.text import escape_markdown, plural

rt = get_runtime()
account = require_account()
uid = account.user_id
NOTICE = "courses_notice"
LEAVING = "courses_leaving"

st.title("Courses")
# Always drawn, notice or not, so what follows keeps its place and the course tabs keep the
# tab that is open when a notice comes or goes.
notice = st.container()
if NOTICE in st.session_state:
    notice.success(st.session_state.pop(NOTICE))


def _done(message: str) -> None:
    st.session_state[NOTICE] = message
    st.rerun()


def _run(call, message: str) -> None:
    """Call a course service; its EngineError is shown, success reruns with `message`."""
    try:
        call()
    except EngineError as e:
        st.error(e.user_message)
    else:
        _done(message)


def _materials(course_id: int) -> None:
    try:
        rows = courses.list_materials(rt, user_id=uid, course_id=course_id)
    except EngineError as e:
        st.error(e.user_message)
        return
    if not rows:
        st.caption("No materials shared with this course yet.")
    for m in rows:
        st.markdown(f"- {escape_markdown(m.title)} ({plural(m.pages, 'page')})")


def join_section() -> None:
    st.subheader("Join a course")
    with st.form("courses_join", clear_on_submit=True):
        code = st.text_input("Join code", key="courses_code", placeholder="e.g. K7QM4XPA")
        if st.form_submit_button("Join"):
            _run(
                lambda: courses.join_course(rt, user_id=uid, code=code),
                "You joined the course: its questions are in your Today queue.",
            )


def enrolled_section() -> None:
    st.subheader("Your courses")
    mine = courses.list_enrolled(rt, user_id=uid)
    if not mine:
        st.caption(
            "You are not in any course. Type the join code your teacher gave you above; "
            "the course's questions then appear on your Today page."
        )
    for c in mine:
        with st.expander(escape_markdown(c.title), expanded=True):
            st.caption(f"Teacher: {escape_markdown(c.teacher_name)}")
            _materials(c.id)
            _leave(c)


def _leave(c: CourseSummary) -> None:
    if st.session_state.get(LEAVING) != c.id:
        if st.button("Leave this course", key=f"courses_leave_{c.id}"):
            st.session_state[LEAVING] = c.id
            st.rerun()
        return
    st.warning(
        "Leave this course? You keep its questions and your history as your own, but your "
        "answers no longer count for the course and its materials leave your search."
    )
    yes, no = st.columns(2)
    if yes.button("Yes, leave", key=f"courses_leave_yes_{c.id}", type="primary"):
        st.session_state.pop(LEAVING, None)
        _run(lambda: courses.leave_course(rt, user_id=uid, course_id=c.id), "You left the course.")
    if no.button("Stay", key=f"courses_leave_no_{c.id}"):
        st.session_state.pop(LEAVING, None)
        st.rerun()


def create_section() -> None:
    with st.form("courses_create", clear_on_submit=True):
        title = st.text_input("New course title", key="courses_new_title")
        if st.form_submit_button("Create course"):
            _run(
                lambda: courses.create_course(rt, teacher_id=uid, title=title),
                "Course created: give your learners its join code.",
            )


def _settings(c: CourseSummary) -> None:
    st.markdown(f"Join code: **{escape_markdown(c.join_code)}**")
    st.caption(f"{plural(c.members, 'learner')} enrolled.")
    left, right = st.columns(2)
    opened = left.toggle("Open for joining", value=c.joining_open, key=f"courses_open_{c.id}")
    if opened != c.joining_open:
        _run(
            lambda: courses.set_joining(rt, teacher_id=uid, course_id=c.id, open_=opened),
            "Joining opened." if opened else "Joining closed: current learners stay.",
        )
    if right.button("New join code", key=f"courses_code_{c.id}"):
        _run(
            lambda: courses.new_join_code(rt, teacher_id=uid, course_id=c.id),
            "New join code made: the old one no longer works.",
        )


def _course_materials(c: CourseSummary) -> None:
    rows = courses.list_materials(rt, user_id=uid, course_id=c.id)
    for m in rows:
        name, remove = st.columns([4, 1])
        name.markdown(escape_markdown(m.title))
        if remove.button("Remove", key=f"courses_mat_rm_{c.id}_{m.material_id}"):
            _run(
                lambda m=m: courses.remove_material(
                    rt, teacher_id=uid, course_id=c.id, material_id=m.material_id
                ),
                "Material removed from the course (it stays in your library).",
            )
    shared = {m.material_id for m in rows}
    ready = {
        m.id: m.title
        for m in library.list_materials(rt, user_id=uid)
        if m.status == MaterialStatus.READY and m.id not in shared
    }
    if not rows and not ready:
        st.caption("Upload a PDF in your Library first, then share it with the course here.")
        return
    if ready:
        pick = st.selectbox(
            "Add a material of your library",
            list(ready),
            format_func=ready.get,
            key=f"courses_mat_pick_{c.id}",
        )
        if st.button("Add material", key=f"courses_mat_add_{c.id}"):
            _run(
                lambda: courses.add_material(rt, teacher_id=uid, course_id=c.id, material_id=pick),
                "Material added: the course's learners can read and search it.",
            )


def _add_from_bank(c: CourseSummary) -> None:
    choices = {q.question_id: q for q in courses.addable_questions(rt, teacher_id=uid)}
    if not choices:
        st.caption(
            "No question of your bank is free to add: generate questions from a course "
            "material on the Generate page, then add them here."
        )
        return
    picked = st.multiselect(
        "Add questions from your bank",
        list(choices),
        format_func=lambda i: f"{choices[i].stem[:90]} ({choices[i].material_title})",
        key=f"courses_bank_pick_{c.id}",
    )
    if st.button("Add as drafts", key=f"courses_bank_add_{c.id}"):
        _run(
            lambda: courses.add_questions(rt, teacher_id=uid, course_id=c.id, question_ids=picked),
            "Added as drafts: publish them when they are ready.",
        )


def _course_bank(c: CourseSummary) -> None:
    rows = courses.list_course_questions(rt, teacher_id=uid, course_id=c.id)
    if not rows:
        st.caption("The course bank is empty: add questions from your bank below.")
    for status in CourseQuestionStatus:
        group = [r for r in rows if r.status == status]
        if not group:
            continue
        st.markdown(f"**{COURSE_QUESTION_STATUS_LABELS[status]}** ({len(group)})")
        for r in group:
            copies = "" if status == CourseQuestionStatus.DRAFT else f" · {r.copies} learners"
            st.markdown(
                f"- {escape_markdown(r.stem)} · v{r.version}{copies} · "
                f"{escape_markdown(r.material_title)} p. {r.page_start}"
            )
        if status == CourseQuestionStatus.DRAFT and st.button(
            "Publish all drafts", key=f"courses_publish_{c.id}", type="primary"
        ):
            _run(
                lambda: courses.publish_questions(rt, teacher_id=uid, course_id=c.id),
                "Published: every learner of the course has the questions now.",
            )
        if status == CourseQuestionStatus.PUBLISHED:
            _retire(c, group)
    _add_from_bank(c)


def _retire(c: CourseSummary, group: list) -> None:
    stems = {r.id: r.stem for r in group}
    picked = st.multiselect(
        "Retire questions",
        list(stems),
        format_func=lambda i: stems[i][:90],
        key=f"courses_retire_pick_{c.id}",
    )
    if picked and st.button("Retire", key=f"courses_retire_{c.id}"):
        _run(
            lambda: courses.retire_questions(
                rt, teacher_id=uid, course_id=c.id, course_question_ids=picked
            ),
            "Retired: learners no longer get these questions.",
        )


def _learners(c: CourseSummary) -> None:
    rows = courses.list_members(rt, teacher_id=uid, course_id=c.id)
    if not rows:
        st.caption("No learner yet: give them the join code above.")
        return
    st.dataframe(
        [
            {
                "Learner": m.display_name,
                "Joined": f"{m.joined_at:%Y-%m-%d}",
                "Answers to course questions": m.answers,
                "Right": m.correct,
            }
            for m in rows
        ],
        hide_index=True,
        width="stretch",
    )


def teaching_section() -> None:
    st.subheader("Courses you teach")
    create_section()
    taught = courses.list_teaching(rt, teacher_id=uid)
    if not taught:
        st.caption("No course yet: create one above, share materials and publish questions.")
    for c in taught:
        with st.expander(escape_markdown(c.title), expanded=len(taught) == 1):
            _settings(c)
            materials, bank, learners = st.tabs(["Materials", "Course bank", "Learners"])
            with materials:
                _course_materials(c)
            with bank:
                _course_bank(c)
            with learners:
                _learners(c)


try:
    join_section()
    enrolled_section()
    if courses.can_teach(rt, user_id=uid):
        teaching_section()
except EngineError as e:
    st.error(e.user_message)
