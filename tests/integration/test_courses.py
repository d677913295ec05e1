"""Courses on a real PostgreSQL: who may run one, join codes, the course bank (drafts,
publishing into learners' banks, retiring), the anonymous answer record, leaving, shared
materials, and privacy: teachers see course answers only, never another course or a
learner's own data; a deleted or departed learner leaves only anonymous answers."""

from __future__ import annotations

import datetime as dt
import io
import threading
import zipfile

import pytest
from sqlalchemy import func, select, text

from engine import account_data, courses, library
from engine.bank import service as bank
from engine.courses.manage import CODE_ALPHABET, CODE_LENGTH
from engine.db.models import (
    Attempt,
    Course,
    CourseMember,
    CourseQuestion,
    CourseQuestionVersion,
    CourseResponse,
    Question,
    User,
)
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.practice.flags import flag_question
from engine.practice.queue import build_queue, get_practice_question
from engine.practice.submit import submit_answer
from tests.support.library_pdfs import text_pdf
from tests.support.practice import add_question, token

NOW = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)
OPTIONS = ["Nucleus", "Mitochondrion", "Ribosome", "Golgi body"]


@pytest.fixture
def make_teacher(runtime, make_user):
    def _make(email: str | None = None, name: str = "Teacher") -> int:
        uid = make_user(email, display_name=name)
        with runtime.session_factory.begin() as s:
            s.get(User, uid).role = "teacher"
        return uid

    return _make


def _code(rt, teacher_id: int, course_id: int) -> str:
    return next(
        c.join_code for c in courses.list_teaching(rt, teacher_id=teacher_id) if c.id == course_id
    )


def _course_with_questions(rt, teacher_id: int, n: int = 2, title: str = "Biology 101"):
    course_id = courses.create_course(rt, teacher_id=teacher_id, title=title)
    masters = [
        add_question(rt.session_factory, teacher_id, stem=f"{title}: question {i}?")
        for i in range(n)
    ]
    cq_ids = courses.add_questions(
        rt, teacher_id=teacher_id, course_id=course_id, question_ids=masters
    )
    return course_id, masters, cq_ids


def _copies(rt, user_id: int) -> list[Question]:
    with rt.session_factory() as s:
        return list(
            s.scalars(
                select(Question)
                .where(Question.user_id == user_id, Question.course_question_id.is_not(None))
                .order_by(Question.course_question_id)
            )
        )


def _answer(rt, uid: int, qid: int, response, *, now=NOW):
    return submit_answer(
        rt,
        user_id=uid,
        question_id=qid,
        token=token(),
        response=response,
        confidence=4,
        seconds=25,
        expected_reviews=None,
        now=now,
    )


def _responses(rt) -> list[CourseResponse]:
    with rt.session_factory() as s:
        return list(s.scalars(select(CourseResponse).order_by(CourseResponse.id)))


def _queue_ids(rt, uid: int) -> list[int]:
    return [e.question_id for e in build_queue(rt, user_id=uid, now=NOW).entries]


# --- running a course ------------------------------------------------------------------------


def test_only_teachers_and_admins_create_courses(runtime, make_user, make_teacher):
    learner = make_user()
    with pytest.raises(Forbidden):
        courses.create_course(runtime, teacher_id=learner, title="My class")
    admin = make_user()
    with runtime.session_factory.begin() as s:
        s.get(User, admin).role = "admin"
    assert courses.create_course(runtime, teacher_id=admin, title="Admin's class")
    teacher = make_teacher()
    with pytest.raises(InvalidInput):
        courses.create_course(runtime, teacher_id=teacher, title="   ")
    assert courses.list_teaching(runtime, teacher_id=learner) == []


def test_join_codes_are_readable_unique_and_can_be_replaced_or_closed(
    runtime, make_user, make_teacher
):
    teacher = make_teacher()
    ids = [courses.create_course(runtime, teacher_id=teacher, title=f"C{i}") for i in range(5)]
    codes = [_code(runtime, teacher, i) for i in ids]
    assert len(set(codes)) == 5
    assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("01OIL") & set(CODE_ALPHABET)

    learner = make_user()
    old = codes[0]
    new = courses.new_join_code(runtime, teacher_id=teacher, course_id=ids[0])
    assert new != old
    with pytest.raises(InvalidInput, match="No course has that join code"):
        courses.join_course(runtime, user_id=learner, code=old)
    courses.set_joining(runtime, teacher_id=teacher, course_id=ids[0], open_=False)
    with pytest.raises(InvalidInput, match="not taking new learners"):
        courses.join_course(runtime, user_id=learner, code=new)
    courses.set_joining(runtime, teacher_id=teacher, course_id=ids[0], open_=True)
    # Typed in lower case with a dash, as read from a board.
    typed = f"{new[:4].lower()}-{new[4:]}"
    assert courses.join_course(runtime, user_id=learner, code=typed) == ids[0]
    with pytest.raises(InvalidInput, match="already enrolled"):
        courses.join_course(runtime, user_id=learner, code=new)
    with pytest.raises(InvalidInput, match="You teach this course"):
        courses.join_course(runtime, user_id=teacher, code=new)
    courses.rename_course(runtime, teacher_id=teacher, course_id=ids[0], title="Cells")
    [mine] = courses.list_enrolled(runtime, user_id=learner)
    assert (mine.id, mine.title, mine.join_code) == (ids[0], "Cells", "")
    assert courses.list_teaching(runtime, teacher_id=teacher)[-1].members == 1


def test_another_teachers_course_is_not_found(runtime, make_user, make_teacher):
    a, b = make_teacher(), make_teacher()
    course_id, masters, cq_ids = _course_with_questions(runtime, a)
    b_question = add_question(runtime.session_factory, b)
    calls = [
        lambda: courses.rename_course(runtime, teacher_id=b, course_id=course_id, title="Mine"),
        lambda: courses.set_joining(runtime, teacher_id=b, course_id=course_id, open_=False),
        lambda: courses.new_join_code(runtime, teacher_id=b, course_id=course_id),
        lambda: courses.list_members(runtime, teacher_id=b, course_id=course_id),
        lambda: courses.list_course_questions(runtime, teacher_id=b, course_id=course_id),
        lambda: courses.publish_questions(runtime, teacher_id=b, course_id=course_id),
        lambda: courses.retire_questions(
            runtime, teacher_id=b, course_id=course_id, course_question_ids=cq_ids
        ),
        lambda: courses.add_questions(
            runtime, teacher_id=b, course_id=course_id, question_ids=[b_question]
        ),
        lambda: courses.list_materials(runtime, user_id=b, course_id=course_id),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    # Nor can a teacher put another teacher's question into their own course.
    b_course = courses.create_course(runtime, teacher_id=b, title="B's course")
    with pytest.raises(NotFound):
        courses.add_questions(runtime, teacher_id=b, course_id=b_course, question_ids=masters)
    assert [c.id for c in courses.list_teaching(runtime, teacher_id=b)] == [b_course]


# --- the course bank -------------------------------------------------------------------------


def test_publishing_copies_into_members_banks_and_joining_copies_what_is_published(
    runtime, make_user, make_teacher
):
    teacher = make_teacher()
    course_id, masters, cq_ids = _course_with_questions(runtime, teacher, n=3)
    with runtime.session_factory() as s:
        versions = s.scalars(
            select(CourseQuestionVersion).where(
                CourseQuestionVersion.course_question_id.in_(cq_ids)
            )
        ).all()
    assert {(v.version, v.change) for v in versions} == {(1, "created")} and len(versions) == 3
    with pytest.raises(InvalidInput, match="already in a course"):
        courses.add_questions(
            runtime, teacher_id=teacher, course_id=course_id, question_ids=masters[:1]
        )

    early = make_user()
    courses.join_course(runtime, user_id=early, code=_code(runtime, teacher, course_id))
    assert _copies(runtime, early) == []  # drafts are not copied

    out = courses.publish_questions(
        runtime, teacher_id=teacher, course_id=course_id, course_question_ids=cq_ids[:1]
    )
    assert (out.published, out.copies) == (1, 1)
    [copy] = _copies(runtime, early)
    assert (copy.course_question_id, copy.course_version, copy.stem) == (
        cq_ids[0],
        1,
        "Biology 101: question 0?",
    )
    assert copy.options == OPTIONS and copy.correct_index == 1
    # Provenance as text; no link to the teacher's library.
    assert copy.material_id is None and copy.source_chunk_id is None
    assert copy.material_title == "Cell Biology" and copy.page_start == 4
    assert _queue_ids(runtime, early) == [copy.id]

    late = make_user()
    courses.join_course(runtime, user_id=late, code=_code(runtime, teacher, course_id))
    assert [c.course_question_id for c in _copies(runtime, late)] == cq_ids[:1]

    out = courses.publish_questions(runtime, teacher_id=teacher, course_id=course_id)
    assert (out.published, out.copies) == (2, 4)
    for learner in (early, late):
        assert [c.course_question_id for c in _copies(runtime, learner)] == cq_ids
    with pytest.raises(InvalidInput, match="no draft"):
        courses.publish_questions(runtime, teacher_id=teacher, course_id=course_id)
    rows = courses.list_course_questions(runtime, teacher_id=teacher, course_id=course_id)
    assert [(r.id, r.status, r.copies) for r in rows] == [(i, "published", 2) for i in cq_ids]


def test_the_teachers_master_questions_stay_out_of_their_own_queue(runtime, make_teacher):
    teacher = make_teacher()
    own = add_question(runtime.session_factory, teacher)
    course_id, masters, _ = _course_with_questions(runtime, teacher, n=2)
    assert _queue_ids(runtime, teacher) == [own]
    courses.publish_questions(runtime, teacher_id=teacher, course_id=course_id)
    assert _queue_ids(runtime, teacher) == [own]


def test_retiring_takes_learners_copies_out_of_their_queues(runtime, make_user, make_teacher):
    teacher = make_teacher()
    course_id, _, cq_ids = _course_with_questions(runtime, teacher, n=2)
    learner = make_user()
    courses.join_course(runtime, user_id=learner, code=_code(runtime, teacher, course_id))
    courses.publish_questions(runtime, teacher_id=teacher, course_id=course_id)
    first, second = _copies(runtime, learner)
    _answer(runtime, learner, first.id, 1)  # scheduled: the retirement must suspend it

    assert (
        courses.retire_questions(
            runtime, teacher_id=teacher, course_id=course_id, course_question_ids=cq_ids[:1]
        )
        == 1
    )
    assert [c.status for c in _copies(runtime, learner)] == ["retired", "active"]
    assert first.id not in _queue_ids(runtime, learner)
    assert (
        build_queue(runtime, user_id=learner, now=NOW + dt.timedelta(days=400))
        .entries[0]
        .question_id
        == second.id
    )
    newcomer = make_user()
    courses.join_course(runtime, user_id=newcomer, code=_code(runtime, teacher, course_id))
    assert [c.course_question_id for c in _copies(runtime, newcomer)] == cq_ids[1:]


# --- the anonymous answer record -------------------------------------------------------------


def test_answers_to_copies_are_recorded_for_the_course_with_the_masters_option_index(
    runtime, make_user, make_teacher
):
    teacher = make_teacher()
    course_id, _, [cq] = _course_with_questions(runtime, teacher, n=1)
    learner = make_user()
    courses.join_course(runtime, user_id=learner, code=_code(runtime, teacher, course_id))
    courses.publish_questions(runtime, teacher_id=teacher, course_id=course_id)
    [copy] = _copies(runtime, learner)
    own = add_question(runtime.session_factory, learner)

    # The learner picks "Ribosome" where the page showed it (options are shuffled on screen).
    shown = get_practice_question(runtime, user_id=learner, question_id=copy.id)
    position = shown.options.index("Ribosome")
    wrong = _answer(runtime, learner, copy.id, shown.option_index(position))
    right = _answer(runtime, learner, copy.id, 1, now=NOW + dt.timedelta(days=3))
    _answer(runtime, learner, own, 1)

    first, second = _responses(runtime)
    with runtime.session_factory() as s:
        member_id = s.scalar(select(CourseMember.id).where(CourseMember.user_id == learner))
    assert (first.course_question_id, first.version, first.member_id) == (cq, 1, member_id)
    assert (first.attempt_id, first.first_attempt, first.chosen_index, first.correct) == (
        wrong.attempt_id,
        True,
        OPTIONS.index("Ribosome"),
        False,
    )
    assert (first.seconds, first.answered_at, first.flagged) == (25, NOW, False)
    assert (second.attempt_id, second.first_attempt, second.chosen_index, second.correct) == (
        right.attempt_id,
        False,
        1,
        True,
    )

    flag_question(runtime, user_id=learner, question_id=copy.id, reason="unclear")
    assert [r.flagged for r in _responses(runtime)] == [False, True]


# --- leaving, privacy, deletion --------------------------------------------------------------


def test_leaving_keeps_the_learners_history_and_leaves_the_course_anonymous_answers(
    runtime, make_user, make_teacher
):
    teacher = make_teacher()
    course_id, _, _ = _course_with_questions(runtime, teacher, n=1)
    learner = make_user()
    courses.join_course(runtime, user_id=learner, code=_code(runtime, teacher, course_id))
    courses.publish_questions(runtime, teacher_id=teacher, course_id=course_id)
    [copy] = _copies(runtime, learner)
    _answer(runtime, learner, copy.id, 1)

    courses.leave_course(runtime, user_id=learner, course_id=course_id)
    with runtime.session_factory() as s:
        member = s.scalar(select(CourseMember).where(CourseMember.course_id == course_id))
        kept = s.get(Question, copy.id)
        attempts = s.scalar(select(func.count()).where(Attempt.question_id == copy.id))
    assert member.user_id is None and member.left_at is not None
    [response] = _responses(runtime)
    assert response.attempt_id is None and response.member_id == member.id
    # The copy is the learner's own question now, with its history.
    assert (kept.user_id, kept.course_question_id, kept.status) == (learner, None, "active")
    assert attempts == 1
    _answer(runtime, learner, copy.id, 0, now=NOW + dt.timedelta(days=2))
    assert len(_responses(runtime)) == 1  # no longer answered for the course
    assert courses.list_enrolled(runtime, user_id=learner) == []
    assert courses.list_members(runtime, teacher_id=teacher, course_id=course_id) == []
    with pytest.raises(NotFound):
        courses.list_materials(runtime, user_id=learner, course_id=course_id)
    with pytest.raises(NotFound):
        courses.leave_course(runtime, user_id=learner, course_id=course_id)


def test_a_teacher_sees_course_answers_only_and_nothing_of_another_course(
    runtime, make_user, make_teacher
):
    a, b = make_teacher(name="Ann"), make_teacher(name="Ben")
    course_a, _, _ = _course_with_questions(runtime, a, n=1, title="Course A")
    course_b, _, _ = _course_with_questions(runtime, b, n=1, title="Course B")
    learner = make_user(display_name="Lea")
    for teacher, course in ((a, course_a), (b, course_b)):
        courses.join_course(runtime, user_id=learner, code=_code(runtime, teacher, course))
        courses.publish_questions(runtime, teacher_id=teacher, course_id=course)
    copy_a, copy_b = _copies(runtime, learner)
    own = add_question(runtime.session_factory, learner, stem="Lea's private question?")
    _answer(runtime, learner, copy_a.id, 1)
    _answer(runtime, learner, copy_b.id, 0)
    _answer(runtime, learner, own, 1)

    [row_a] = courses.list_members(runtime, teacher_id=a, course_id=course_a)
    [row_b] = courses.list_members(runtime, teacher_id=b, course_id=course_b)
    assert (row_a.display_name, row_a.answers, row_a.correct) == ("Lea", 1, 1)
    assert (row_b.answers, row_b.correct) == (1, 0)
    # The learner's own questions and copies stay theirs: a teacher cannot open them.
    for qid in (own, copy_a.id):
        with pytest.raises(NotFound):
            get_practice_question(runtime, user_id=a, question_id=qid)
    with pytest.raises(NotFound):
        courses.list_members(runtime, teacher_id=a, course_id=course_b)


def test_deleting_a_learner_keeps_the_courses_anonymous_answers(runtime, make_user, make_teacher):
    teacher = make_teacher()
    course_id, _, _ = _course_with_questions(runtime, teacher, n=1)
    learner, other = make_user(), make_user()
    for uid in (learner, other):
        courses.join_course(runtime, user_id=uid, code=_code(runtime, teacher, course_id))
    courses.publish_questions(runtime, teacher_id=teacher, course_id=course_id)
    for uid in (learner, other):
        _answer(runtime, uid, _copies(runtime, uid)[0].id, 1)

    export = zipfile.ZipFile(
        io.BytesIO(account_data.export_account_bytes(runtime, user_id=learner))
    )
    rows = export.read("course_memberships.csv").decode().splitlines()
    assert len(rows) == 2 and f",{course_id},{learner}," in rows[1]

    account_data.delete_account(runtime, user_id=learner)
    with runtime.session_factory() as s:
        members = s.scalars(select(CourseMember).order_by(CourseMember.id)).all()
    assert [(m.user_id is None, m.left_at is not None) for m in members] == [
        (True, True),
        (False, False),
    ]
    assert len(_responses(runtime)) == 2
    assert [r.attempt_id is None for r in _responses(runtime)] == [True, False]
    assert [
        m.display_name
        for m in courses.list_members(runtime, teacher_id=teacher, course_id=course_id)
    ] == ["Test Learner"]


# --- shared materials ------------------------------------------------------------------------


def test_course_materials_are_the_teachers_and_read_only_for_learners(
    runtime, make_user, make_teacher
):
    teacher, other_teacher = make_teacher(), make_teacher()
    pdf = text_pdf(["Photosynthesis turns light into chemical energy in chloroplasts."])
    material = library.ingest_pdf(
        runtime, user_id=teacher, data=pdf, filename="plants.pdf"
    ).material
    course_id = courses.create_course(runtime, teacher_id=teacher, title="Plants")
    courses.add_material(runtime, teacher_id=teacher, course_id=course_id, material_id=material.id)
    with pytest.raises(InvalidInput):
        courses.add_material(
            runtime, teacher_id=teacher, course_id=course_id, material_id=material.id
        )
    other_course = courses.create_course(runtime, teacher_id=other_teacher, title="Mine")
    with pytest.raises(NotFound):
        courses.add_material(
            runtime, teacher_id=other_teacher, course_id=other_course, material_id=material.id
        )

    learner, outsider = make_user(), make_user()
    courses.join_course(runtime, user_id=learner, code=_code(runtime, teacher, course_id))
    [row] = courses.list_materials(runtime, user_id=learner, course_id=course_id)
    assert (row.material_id, row.pages) == (material.id, 1)
    with pytest.raises(NotFound):
        courses.list_materials(runtime, user_id=outsider, course_id=course_id)
    # Read-only: the learner's library services do not reach the teacher's material.
    with pytest.raises(NotFound):
        library.delete_material(runtime, user_id=learner, material_id=material.id)
    with pytest.raises(NotFound):
        library.rename_material(runtime, user_id=learner, material_id=material.id, title="x")
    with pytest.raises(Forbidden):
        courses.add_material(runtime, teacher_id=learner, course_id=course_id, material_id=1)

    courses.remove_material(
        runtime, teacher_id=teacher, course_id=course_id, material_id=material.id
    )
    assert courses.list_materials(runtime, user_id=learner, course_id=course_id) == []
    assert library.get_material(runtime, user_id=teacher, material_id=material.id).id == material.id


def test_a_master_question_in_a_course_cannot_be_deleted_from_the_bank(runtime, make_teacher):
    teacher = make_teacher()
    course_id, [master], [cq] = _course_with_questions(runtime, teacher, n=1)
    with pytest.raises(InvalidInput, match="retire it in the course"):
        bank.delete_question(runtime, user_id=teacher, question_id=master)
    assert [
        r.id
        for r in courses.list_course_questions(runtime, teacher_id=teacher, course_id=course_id)
    ] == [cq]


def test_a_learner_cannot_reword_a_course_copy_but_may_retire_it(runtime, make_user, make_teacher):
    teacher = make_teacher()
    course_id, _, _ = _course_with_questions(runtime, teacher, n=1)
    learner = make_user()
    courses.join_course(runtime, user_id=learner, code=_code(runtime, teacher, course_id))
    courses.publish_questions(runtime, teacher_id=teacher, course_id=course_id)
    [copy] = _copies(runtime, learner)
    same = dict(
        user_id=learner,
        question_id=copy.id,
        stem=copy.stem,
        answer=copy.answer,
        explanation=copy.explanation,
        difficulty=copy.difficulty,
        options=list(copy.options),
    )
    with pytest.raises(InvalidInput, match="comes from a course"):
        bank.update_question(runtime, **same, correct_index=2)
    assert bank.update_question(runtime, **same, correct_index=1, status="retired")
    assert [c.status for c in _copies(runtime, learner)] == ["retired"]


def test_a_teacher_editing_a_course_question_in_their_bank_makes_a_new_version_for_everyone(
    runtime, make_user, make_teacher
):
    teacher = make_teacher()
    course_id, [master], [cq] = _course_with_questions(runtime, teacher, n=1)
    learner = make_user()
    courses.join_course(runtime, user_id=learner, code=_code(runtime, teacher, course_id))
    courses.publish_questions(runtime, teacher_id=teacher, course_id=course_id)
    with runtime.session_factory() as s:
        q = s.get(Question, master)
    edit = dict(
        user_id=teacher, question_id=master, stem="Which organelle makes most of the ATP?",
        answer=q.answer, explanation="Aerobic respiration.", difficulty=q.difficulty,
        options=["Nucleus", "Mitochondrion", "Ribosome", "Chloroplast"],
    )  # fmt: skip
    bank.update_question(runtime, **edit, correct_index=1)
    [copy] = _copies(runtime, learner)
    assert (copy.stem, copy.options[3], copy.explanation) == (
        edit["stem"], "Chloroplast", "Aerobic respiration.",
    )  # fmt: skip
    assert copy.course_version == 2
    with runtime.session_factory() as s:
        versions = s.execute(
            select(CourseQuestionVersion.version, CourseQuestionVersion.change)
            .where(CourseQuestionVersion.course_question_id == cq)
            .order_by(CourseQuestionVersion.version)
        ).all()
    assert [tuple(v) for v in versions] == [(1, "created"), (2, "edited")]
    # Another key would re-grade answers: that is Course insights' "Correct the key".
    with pytest.raises(InvalidInput, match="Correct the key"):
        bank.update_question(runtime, **edit, correct_index=2)
    with runtime.session_factory() as s:
        assert s.get(Question, master).correct_index == 1
        assert s.get(CourseQuestion, cq).version == 2
    # A difficulty-only change is not a new version.
    bank.update_question(runtime, **{**edit, "difficulty": 5}, correct_index=1)
    assert _copies(runtime, learner)[0].course_version == 2


def test_a_learner_joining_during_a_publish_gets_the_published_questions(
    runtime, make_user, make_teacher
):
    teacher = make_teacher()
    course_id, _, [cq] = _course_with_questions(runtime, teacher, n=1)
    code = _code(runtime, teacher, course_id)
    learner = make_user()
    joined: list[int] = []
    with runtime.session_factory.begin() as publishing:
        # A publish in progress: the course locked, the question published, not committed.
        publishing.execute(select(Course).where(Course.id == course_id).with_for_update())
        publishing.get(CourseQuestion, cq).status = "published"
        publishing.flush()
        join = threading.Thread(
            target=lambda: joined.append(courses.join_course(runtime, user_id=learner, code=code))
        )
        join.start()
        with runtime.session_factory() as s:  # wait until the join waits for the lock
            while join.is_alive() and not s.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            ):
                s.rollback()
                join.join(0.05)
    join.join()
    assert joined == [course_id]
    assert [c.course_question_id for c in _copies(runtime, learner)] == [cq]
