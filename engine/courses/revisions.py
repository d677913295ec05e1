"""What a teacher does about a course question the statistics flagged: retire it, edit it,
replace a distractor, or correct a wrong key (answers re-graded, learners told).

Every change but retiring is a new version in `course_question_versions` (history kept); the
master question and every learner's copy take the new content and version, so learners keep
their own schedule of the question. Only the course's teacher or an admin may act (others get
"not found"); each action is one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.courses.item_stats import require_teacher
from engine.db.models import (
    Attempt,
    CourseQuestion,
    CourseQuestionVersion,
    CourseResponse,
    LearnerNotice,
    Question,
    ReviewState,
)
from engine.errors import InvalidInput, NotFound
from engine.practice import store
from engine.practice.dispute import rescore_as_right

if TYPE_CHECKING:
    from engine.runtime import Runtime

QUESTION_NOT_FOUND = "That course question was not found."
CHANGE_KEY_IN_INSIGHTS = (
    "Change which option is right with “Correct the key” under Teaching → Course insights: it "
    "re-grades the answers already given and tells the learners. Nothing was changed."
)
MAX_STEM, MAX_OPTION, MAX_EXPLANATION = 2000, 500, 4000
REGRADED_RIGHT = (
    "The teacher corrected this question's answer key; your answer now counts as right."
)
REGRADED_WRONG = (
    "The teacher corrected this question's answer key; your answer now counts as wrong."
)


@dataclass(frozen=True)
class Content:
    """A version's content (options None for a question without options)."""

    stem: str
    options: tuple[str, ...] | None
    correct_index: int | None
    answer: str
    explanation: str = ""


@dataclass(frozen=True)
class KeyCorrection:
    version: int
    responses_regraded: int
    attempts_now_right: int
    attempts_now_wrong: int
    learners_told: int


def _load(session: Session, actor_id: int, course_question_id: int) -> CourseQuestion:
    cq = session.scalar(
        select(CourseQuestion).where(CourseQuestion.id == course_question_id).with_for_update()
    )
    if cq is None:
        raise NotFound(QUESTION_NOT_FOUND)
    try:
        require_teacher(session, actor_id=actor_id, course_id=cq.course_id)
    except NotFound as e:
        raise NotFound(QUESTION_NOT_FOUND) from e
    return cq


def _current(session: Session, cq: CourseQuestion) -> Content:
    v = session.scalar(
        select(CourseQuestionVersion).where(
            CourseQuestionVersion.course_question_id == cq.id,
            CourseQuestionVersion.version == cq.version,
        )
    )
    if v is None:
        raise NotFound(QUESTION_NOT_FOUND)
    options = tuple(v.options) if v.options is not None else None
    return Content(v.stem, options, v.correct_index, v.answer, v.explanation)


def _check(content: Content) -> Content:
    """The content trimmed, or InvalidInput naming every problem at once."""
    stem = content.stem.strip()
    options = tuple(o.strip() for o in content.options) if content.options is not None else None
    problems = []
    if not stem or len(stem) > MAX_STEM:
        problems.append(f"The question needs a text of 1-{MAX_STEM} characters.")
    if options is not None:
        if len(options) < 2 or any(not o or len(o) > MAX_OPTION for o in options):
            problems.append(f"Give at least two options, each 1-{MAX_OPTION} characters.")
        elif len(set(options)) != len(options):
            problems.append("Two options are the same.")
        if content.correct_index is None or not 0 <= content.correct_index < len(options):
            problems.append("Choose which option is right.")
    if len(content.explanation) > MAX_EXPLANATION:
        problems.append(f"Keep the explanation under {MAX_EXPLANATION} characters.")
    if problems:
        raise InvalidInput(" ".join(problems))
    answer = (
        options[content.correct_index]
        if options is not None and content.correct_index is not None
        else content.answer.strip()
    )
    if not answer:
        raise InvalidInput("The question needs an answer.")
    return Content(stem, options, content.correct_index, answer, content.explanation.strip())


def _new_version(session: Session, cq: CourseQuestion, content: Content, change: str) -> int:
    """Record the version and put its content on the master question and every copy."""
    cq.version += 1
    session.add(
        CourseQuestionVersion(
            course_question_id=cq.id,
            version=cq.version,
            stem=content.stem,
            options=list(content.options) if content.options is not None else None,
            correct_index=content.correct_index,
            answer=content.answer,
            explanation=content.explanation,
            change=change,
        )
    )
    values = {
        "stem": content.stem,
        "options": list(content.options) if content.options is not None else None,
        "correct_index": content.correct_index,
        "answer": content.answer,
        "explanation": content.explanation,
    }
    session.execute(update(Question).where(Question.id == cq.question_id).values(**values))
    session.execute(
        update(Question)
        .where(Question.course_question_id == cq.id)
        .values(course_version=cq.version, **values)
    )
    session.flush()
    return cq.version


def retire_question(rt: Runtime, *, actor_id: int, course_question_id: int) -> None:
    """Learners no longer get the question: the course question and every copy are retired
    (their history stays).

    Raises:
        NotFound: no such question, or the actor may not change it.
    """
    with rt.session_factory.begin() as session:
        cq = _load(session, actor_id, course_question_id)
        cq.status = "retired"
        session.execute(
            update(Question).where(Question.course_question_id == cq.id).values(status="retired")
        )


def edit_question(rt: Runtime, *, actor_id: int, course_question_id: int, content: Content) -> int:
    """A new version with new content (the key may not change here: `correct_key` re-grades).

    Returns:
        The new version number.

    Raises:
        NotFound: no such question, or the actor may not change it.
        InvalidInput: bad content, or a different key.
    """
    with rt.session_factory.begin() as session:
        return revise(session, _load(session, actor_id, course_question_id), content)


def revise(session: Session, cq: CourseQuestion, content: Content) -> int:
    """In the caller's transaction (`cq` locked, the actor checked): a new version of the
    course question with `content`, on the master and every copy; returns its number.

    Raises:
        InvalidInput: bad content, another number of options, or a different key.
    """
    current = _current(session, cq)
    content = _check(content)
    if (current.options is None) != (content.options is None) or (
        content.options is not None and len(content.options) != len(current.options or ())
    ):
        raise InvalidInput("Keep the same number of options (answers are kept by position).")
    if content.correct_index != current.correct_index:
        raise InvalidInput(CHANGE_KEY_IN_INSIGHTS)
    return _new_version(session, cq, content, "edited")


def replace_distractor(
    rt: Runtime, *, actor_id: int, course_question_id: int, option_index: int, text: str
) -> int:
    """A new version with one wrong option replaced.

    Raises:
        NotFound: no such question, or the actor may not change it.
        InvalidInput: not a wrong option of a multiple-choice question, or bad text.
    """
    with rt.session_factory.begin() as session:
        cq = _load(session, actor_id, course_question_id)
        current = _current(session, cq)
        if current.options is None or not 0 <= option_index < len(current.options):
            raise InvalidInput("Choose one of the question's options.")
        if option_index == current.correct_index:
            raise InvalidInput("That is the right option; replace a wrong one.")
        options = list(current.options)
        options[option_index] = text
        content = _check(
            Content(current.stem, tuple(options), current.correct_index, "", current.explanation)
        )
        return _new_version(session, cq, content, "distractor")


def correct_key(
    rt: Runtime,
    *,
    actor_id: int,
    course_question_id: int,
    correct_index: int,
    now: dt.datetime | None = None,
) -> KeyCorrection:
    """A new version with another option as the right one. Every recorded answer to the
    question is re-graded from the option it chose; enrolled learners' attempts on their copies
    too: wrong-now-right ones as a dispute re-scores them (XP, schedule), right-now-wrong ones
    marked wrong and the copy due again now (XP already earned is kept). Each learner whose
    answers changed gets a notice on Today.

    Raises:
        NotFound: no such question, or the actor may not change it.
        InvalidInput: not an option of a multiple-choice question, or already the key.
    """
    with rt.session_factory.begin() as session:
        cq = _load(session, actor_id, course_question_id)
        current = _current(session, cq)
        if current.options is None or not 0 <= correct_index < len(current.options):
            raise InvalidInput("Choose one of the question's options.")
        if correct_index == current.correct_index:
            raise InvalidInput("That option is already the right one.")
        fixed = Content(current.stem, current.options, correct_index, "", current.explanation)
        version = _new_version(session, cq, _check(fixed), "key")
        regraded = session.execute(
            update(CourseResponse)
            .where(
                CourseResponse.course_question_id == cq.id,
                CourseResponse.correct.is_distinct_from(
                    CourseResponse.chosen_index == correct_index
                ),
            )
            .values(correct=CourseResponse.chosen_index == correct_index)
            .returning(CourseResponse.attempt_id)
        ).all()
        right, wrong, learners = _regrade_attempts(
            rt,
            session,
            [r.attempt_id for r in regraded if r.attempt_id is not None],
            store.aware(now),
        )
        return KeyCorrection(version, len(regraded), right, wrong, learners)


def _regrade_attempts(
    rt: Runtime, session: Session, attempt_ids: list[int], now: dt.datetime
) -> tuple[int, int, int]:
    """Re-grade the learners' own attempts whose course answers changed; notices."""
    attempts = session.scalars(
        select(Attempt).where(Attempt.id.in_(attempt_ids)).order_by(Attempt.id).with_for_update()
    ).all()
    right = wrong = 0
    told: set[int] = set()
    for attempt in attempts:
        if attempt.correct:
            _mark_wrong(session, attempt, now)
            wrong += 1
        else:
            rescore_as_right(
                rt, session, user_id=attempt.user_id, attempt=attempt, reason=REGRADED_RIGHT
            )
            right += 1
        if attempt.user_id not in told:
            told.add(attempt.user_id)
            stem = store.load_question(session, attempt.user_id, attempt.question_id).stem
            session.add(LearnerNotice(user_id=attempt.user_id, text=_notice(stem)))
    return right, wrong, len(told)


def _mark_wrong(session: Session, attempt: Attempt, now: dt.datetime) -> None:
    attempt.correct, attempt.score = False, 0.0
    attempt.grade_reason = (attempt.grade_reason + " " + REGRADED_WRONG).strip()
    rs = session.scalar(
        select(ReviewState).where(ReviewState.question_id == attempt.question_id).with_for_update()
    )
    if rs is not None and rs.due_at > now:
        rs.due_at = rs.sm2_due_at = rs.fsrs_due_at = now


def _notice(stem: str) -> str:
    short = stem if len(stem) <= 120 else stem[:117] + "..."
    return (
        f"Your teacher corrected the answer key of “{short}”. Your answers to it were "
        "re-graded, and your schedule for it updated."
    )


def unseen_notices(rt: Runtime, *, user_id: int) -> list[tuple[int, str]]:
    """The learner's notices not yet dismissed, oldest first: (id, text)."""
    with rt.session_factory() as session:
        rows = session.execute(
            select(LearnerNotice.id, LearnerNotice.text)
            .where(LearnerNotice.user_id == user_id, LearnerNotice.seen_at.is_(None))
            .order_by(LearnerNotice.id)
        ).all()
    return [(r.id, r.text) for r in rows]


def dismiss_notice(rt: Runtime, *, user_id: int, notice_id: int) -> None:
    """Mark the learner's own notice seen (someone else's is left alone)."""
    with rt.session_factory.begin() as session:
        session.execute(
            update(LearnerNotice)
            .where(LearnerNotice.id == notice_id, LearnerNotice.user_id == user_id)
            .values(seen_at=store.utcnow())
        )
