"""Course materials in search: the learners of a course find its materials in their Library
search and their tutor's retrieval, cited with the course's name, beside their own; nobody
else does, and leaving ends it."""

from __future__ import annotations

import pytest

from engine import courses, library
from engine.db.models import User
from engine.errors import NotFound
from engine.tutor import service, store
from tests.support.library_pdfs import text_pdf
from tests.support.tutor_data import biology_pdf

CALVIN = "How does the Calvin cycle fix carbon dioxide?"


@pytest.fixture
def course(runtime, make_user):
    """A teacher's course sharing a biology material, and a private material of the teacher
    that is not shared."""
    teacher = make_user(display_name="Teacher")
    with runtime.session_factory.begin() as s:
        s.get(User, teacher).role = "teacher"
    shared = library.ingest_pdf(
        runtime, user_id=teacher, data=biology_pdf(), filename="biology.pdf"
    ).material
    private = library.ingest_pdf(
        runtime,
        user_id=teacher,
        data=text_pdf(["Rubisco grading notes: the Calvin cycle answers the teacher keeps."]),
        filename="private.pdf",
    ).material
    course_id = courses.create_course(runtime, teacher_id=teacher, title="Botany")
    courses.add_material(runtime, teacher_id=teacher, course_id=course_id, material_id=shared.id)
    code = courses.list_teaching(runtime, teacher_id=teacher)[0].join_code
    return teacher, course_id, code, shared, private


def _learner_with_own_material(runtime, make_user) -> tuple[int, int]:
    uid = make_user()
    own = library.ingest_pdf(
        runtime,
        user_id=uid,
        data=text_pdf(["The Calvin cycle in my own notes: carbon fixation makes sugar."]),
        filename="mine.pdf",
    ).material
    return uid, own.id


def test_enrolled_learners_search_course_materials_beside_their_own(runtime, make_user, course):
    teacher, course_id, code, shared, private = course
    learner, own = _learner_with_own_material(runtime, make_user)
    outsider, outsider_own = _learner_with_own_material(runtime, make_user)
    courses.join_course(runtime, user_id=learner, code=code)

    found = library.search_library(runtime, user_id=learner, query=CALVIN, k=8)
    by_material = {p.material_id: p.material_title for p in found}
    assert own in by_material and shared.id in by_material
    assert by_material[shared.id] == f"Botany: {shared.title}"
    assert private.id not in by_material  # the teacher's unshared material stays theirs
    # Only their own materials when they choose materials.
    chosen = library.search_library(runtime, user_id=learner, query=CALVIN, material_ids=[own])
    assert {p.material_id for p in chosen} == {own}
    # The cited passage opens for the learner, named by its course.
    course_chunk = next(p.chunk_id for p in found if p.material_id == shared.id)
    view = store.citation_view(runtime, user_id=learner, chunk_id=course_chunk)
    assert view.material_title == f"Botany: {shared.title}" and view.passage

    # The teacher's search never reaches the learner's own material.
    theirs = library.search_library(runtime, user_id=teacher, query=CALVIN, k=8)
    assert own not in {p.material_id for p in theirs}
    # Not enrolled: nothing of the course.
    others = library.search_library(runtime, user_id=outsider, query=CALVIN, k=8)
    assert {p.material_id for p in others} == {outsider_own}
    with pytest.raises(NotFound):
        store.citation_view(runtime, user_id=outsider, chunk_id=course_chunk)

    courses.leave_course(runtime, user_id=learner, course_id=course_id)
    after = library.search_library(runtime, user_id=learner, query=CALVIN, k=8)
    assert {p.material_id for p in after} == {own}
    with pytest.raises(NotFound):
        store.citation_view(runtime, user_id=learner, chunk_id=course_chunk)


def test_the_tutor_answers_an_enrolled_learner_from_course_materials(runtime, make_user, course):
    _, _, code, shared, _ = course
    learner = make_user()
    courses.join_course(runtime, user_id=learner, code=code)
    conv = store.create_conversation(runtime, user_id=learner)
    turn = service.ask(runtime, user_id=learner, conversation_id=conv.id, message=CALVIN)
    assert turn.kind == "offline"
    assert any("Calvin cycle" in s["text"] for s in turn.message.sentences)
    cited = {(c.material_id, c.title) for c in turn.message.citations}
    assert (shared.id, f"Botany: {shared.title}") in cited

    outsider = make_user()
    conv = store.create_conversation(runtime, user_id=outsider)
    turn = service.ask(runtime, user_id=outsider, conversation_id=conv.id, message=CALVIN)
    assert not turn.message.citations
