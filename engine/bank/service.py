"""The question bank services: accepted drafts saved, and the learner's questions listed, read,
edited and deleted.

Every query filters by the learner; another learner's row is reported as NotFound.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import Text, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from engine.bank.tags import bank_tags, tag_filter, tags_for
from engine.bank.views import BankPage, QuestionView, question_view
from engine.courses import revisions
from engine.db.models import Chunk, CourseQuestion, Material, Question
from engine.domain.vocabulary import QuestionStatus, QuestionType
from engine.errors import InvalidInput, NotFound
from engine.generation.drafts import Draft
from engine.generation.validation import REASONS, dedupe_key, normalise, validate
from engine.runtime import Runtime

_NOT_IN_BANK = "That question is not in your bank."


def _reason_message(reason: str) -> str:
    return f"This question cannot be saved: {REASONS.get(reason, reason)}."


def known_questions(session: Session, user_id: int) -> tuple[list[str], set[str]]:
    """The bank as generation deduplicates against it: each question's dedupe key, and the
    normalised excerpts its questions quote."""
    rows = session.execute(
        select(Question.stem, Question.answer, Question.excerpt).where(Question.user_id == user_id)
    ).all()
    return [dedupe_key(s, a) for s, a, _ in rows], {normalise(e) for _, _, e in rows}


# --- saving -----------------------------------------------------------------------------------


def _own_sources(
    session: Session, user_id: int, drafts: Sequence[Draft], replaces_question_id: int | None
) -> dict[int, str]:
    """Check that the replaced question and every draft's source are the learner's, and that
    each excerpt still occurs in its chunk; returns the chunks' texts by id. One round trip
    reads all three (an Accept in the Generate preview waits for it)."""
    material_ids = {d.material_id for d in drafts if d.material_id is not None}
    chunk_ids = {d.source_chunk_id for d in drafts if d.source_chunk_id is not None}
    nothing = literal(None, Text)
    parts = [
        select(literal("material"), Material.id, nothing).where(
            Material.user_id == user_id, Material.id.in_(material_ids)
        ),
        select(literal("chunk"), Chunk.id, Chunk.text).where(
            Chunk.user_id == user_id, Chunk.id.in_(chunk_ids)
        ),
    ]
    if replaces_question_id is not None:
        parts.append(
            select(literal("question"), Question.id, nothing).where(
                Question.id == replaces_question_id, Question.user_id == user_id
            )
        )
    owned = session.execute(union_all(*parts)).all()
    if replaces_question_id is not None and not any(kind == "question" for kind, _, _ in owned):
        raise NotFound("The question being replaced is not in your bank.")
    own_materials = {row_id for kind, row_id, _ in owned if kind == "material"}
    own_chunks = {row_id: text for kind, row_id, text in owned if kind == "chunk"}
    for d in drafts:
        material_id, source_chunk_id = d.material_id, d.source_chunk_id
        if (material_id is not None and material_id not in own_materials) or (
            source_chunk_id is not None and source_chunk_id not in own_chunks
        ):
            raise NotFound(
                "The source of this question is no longer in your library. Generate it again."
            )
        if source_chunk_id is not None and normalise(d.excerpt) not in normalise(
            own_chunks[source_chunk_id]
        ):
            raise InvalidInput(_reason_message("excerpt_not_in_source"))
    return own_chunks


def _question_row(d: Draft, *, user_id: int, replaces_question_id: int | None) -> Question:
    return Question(
        user_id=user_id,
        material_id=d.material_id,
        source_chunk_id=d.source_chunk_id,
        chunk_ids=[int(c) for c in d.chunk_ids],
        type=d.type,
        form=d.form,
        stem=d.stem.strip(),
        options=[o.strip() for o in d.options] if d.options is not None else None,
        correct_index=d.correct_index,
        answer=d.answer.strip(),
        key_points=[k.strip() for k in d.key_points],
        explanation=d.explanation.strip(),
        difficulty=d.difficulty,
        topic=(d.topic or None),
        status=QuestionStatus.ACTIVE,
        excerpt=d.excerpt.strip(),
        page_start=d.page_start,
        page_end=d.page_end,
        material_title=(d.material_title or "Untitled")[:300],
        generator=d.generator,
        model=d.model,
        prompt_version=d.prompt_version,
        tokens_in=d.tokens_in,
        tokens_out=d.tokens_out,
        cost_usd=Decimal(str(d.cost_usd)) if d.cost_usd is not None else None,
        latency_ms=d.latency_ms,
        replaces_question_id=replaces_question_id,
    )


def save_questions(
    rt: Runtime,
    *,
    user_id: int,
    drafts: Sequence[Draft],
    replaces_question_id: int | None = None,
) -> list[int]:
    """Save accepted drafts to the learner's bank, all or none, and return the new ids.

    Each draft is validated again and, when its source chunk still exists, its excerpt must
    still occur in it (so an edited or forged draft cannot lose its grounding).

    Args:
        rt: the runtime.
        user_id: the learner.
        drafts: drafts from `generate_questions` / `generate_from_chunk` (possibly edited).
        replaces_question_id: the learner's question these replace (recorded on each).

    Raises:
        InvalidInput: a draft fails validation or lost its grounding.
        NotFound: the replaced question, or a draft's source, is not the learner's.
    """
    if not drafts:
        return []
    with rt.session_factory.begin() as session:
        return add_questions(
            session, user_id=user_id, drafts=drafts, replaces_question_id=replaces_question_id
        )


def add_questions(
    session: Session,
    *,
    user_id: int,
    drafts: Sequence[Draft],
    replaces_question_id: int | None = None,
) -> list[int]:
    """`save_questions` inside the caller's transaction (so a replacement is saved in the
    same unit of work as the hand-over). Raises as `save_questions` does."""
    for d in drafts:
        reason = validate(d)
        if reason:
            raise InvalidInput(_reason_message(reason))
    _own_sources(session, user_id, drafts, replaces_question_id)
    added = [
        _question_row(d, user_id=user_id, replaces_question_id=replaces_question_id) for d in drafts
    ]
    session.add_all(added)
    session.flush()
    return [q.id for q in added]


# --- reading ----------------------------------------------------------------------------------


def _escape_like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_questions(
    rt: Runtime,
    *,
    user_id: int,
    material_id: int | None = None,
    question_type: str | None = None,
    difficulty: int | None = None,
    status: str | None = None,
    text: str | None = None,
    tag: str | None = None,
    limit: int = 25,
    offset: int = 0,
) -> BankPage:
    """A page of the learner's bank, newest first, with the total matching the filters
    (`tag`: questions with that tag or one below it), each question with its tags."""
    where = [Question.user_id == user_id]
    if material_id is not None:
        where.append(Question.material_id == material_id)
    if question_type:
        where.append(Question.type == question_type)
    if difficulty is not None:
        where.append(Question.difficulty == difficulty)
    if status:
        where.append(Question.status == status)
    if tag:
        where.append(tag_filter(user_id, tag))
    if text and text.strip():
        pattern = _escape_like(text.strip())
        where.append(
            or_(
                Question.stem.ilike(pattern, escape="\\"),
                Question.answer.ilike(pattern, escape="\\"),
            )
        )
    with rt.session_factory() as session:
        total = session.scalar(select(func.count()).select_from(Question).where(*where)) or 0
        rows = session.scalars(
            select(Question)
            .where(*where)
            .order_by(Question.created_at.desc(), Question.id.desc())
            .limit(max(1, min(limit, 200)))
            .offset(max(0, offset))
        ).all()
        tags = tags_for(session, user_id=user_id, question_ids=[q.id for q in rows])
        return BankPage([question_view(q, tags.get(q.id, ())) for q in rows], int(total))


def bank_materials(rt: Runtime, *, user_id: int) -> list[tuple[int, str]]:
    """(material id, title) of the materials the learner's questions come from."""
    with rt.session_factory() as session:
        rows = session.execute(
            select(Question.material_id, func.max(Question.material_title))
            .where(Question.user_id == user_id, Question.material_id.is_not(None))
            .group_by(Question.material_id)
            .order_by(func.max(Question.material_title))
        ).all()
    return [(m, t) for m, t in rows if m is not None]


def get_question(rt: Runtime, *, user_id: int, question_id: int) -> QuestionView:
    """Raises NotFound when the question is not the learner's."""
    with rt.session_factory() as session:
        q = session.scalar(
            select(Question).where(Question.id == question_id, Question.user_id == user_id)
        )
        if q is None:
            raise NotFound(_NOT_IN_BANK)
        tags = tags_for(session, user_id=user_id, question_ids=[q.id])
        return question_view(q, tags.get(q.id, ()))


# --- editing ----------------------------------------------------------------------------------


def _edited_draft(
    q: Question,
    *,
    stem: str,
    answer: str,
    explanation: str,
    difficulty: int,
    options: list[str] | None,
    correct_index: int | None,
    key_points: list[str] | None,
) -> Draft:
    is_mcq = q.type == QuestionType.MCQ
    if (
        is_mcq
        and options is not None
        and correct_index is not None
        and (0 <= correct_index < len(options))
    ):
        answer = options[correct_index]
    return Draft(
        type=q.type,
        stem=stem,
        answer=answer,
        explanation=explanation,
        difficulty=difficulty,
        excerpt=q.excerpt,
        chunk_ids=list(q.chunk_ids),
        options=options if is_mcq else None,
        correct_index=correct_index if is_mcq else None,
        key_points=key_points if key_points is not None else list(q.key_points),
    )


def update_question(
    rt: Runtime,
    *,
    user_id: int,
    question_id: int,
    stem: str,
    answer: str,
    explanation: str,
    difficulty: int,
    options: list[str] | None = None,
    correct_index: int | None = None,
    key_points: list[str] | None = None,
    status: str | None = None,
) -> QuestionView:
    """Edit a question of the learner's bank. The source excerpt and page are kept.

    Raises:
        NotFound: not the learner's question.
        InvalidInput: the edit breaks the rules a question must follow.
    """
    with rt.session_factory.begin() as session:
        q = session.scalar(
            select(Question)
            .where(Question.id == question_id, Question.user_id == user_id)
            .with_for_update()
        )
        if q is None:
            raise NotFound(_NOT_IN_BANK)
        if status is not None and status not in tuple(QuestionStatus):
            raise InvalidInput("Status must be active, flagged or retired.")
        draft = _edited_draft(
            q,
            stem=stem,
            answer=answer,
            explanation=explanation,
            difficulty=difficulty,
            options=options,
            correct_index=correct_index,
            key_points=key_points,
        )
        reason = validate(draft)
        if reason:
            raise InvalidInput(f"This edit cannot be saved: {REASONS.get(reason, reason)}.")
        _refuse_copy_rewording(q, draft)
        _revise_course_master(session, q, draft)
        q.stem, q.answer, q.explanation = (
            draft.stem.strip(),
            draft.answer.strip(),
            draft.explanation.strip(),
        )
        q.difficulty = draft.difficulty
        q.options = [o.strip() for o in draft.options] if draft.options is not None else None
        q.correct_index = draft.correct_index
        q.key_points = [k.strip() for k in draft.key_points]
        if status is not None:
            q.status = status
        session.flush()
        return question_view(q)


def _revise_course_master(session: Session, q: Question, draft: Draft) -> None:
    """A teacher's question in a course bank: a changed wording is a new version of the course
    question, on every learner's copy too (as Course insights' Edit does).

    Raises:
        InvalidInput: the edit changes which option is right, or the number of options.
    """
    cq = session.scalar(
        select(CourseQuestion).where(CourseQuestion.question_id == q.id).with_for_update()
    )
    if cq is None or (
        _content(q) == _content(draft) and q.explanation.strip() == draft.explanation.strip()
    ):
        return
    options = tuple(o.strip() for o in draft.options) if draft.options is not None else None
    content = revisions.Content(
        draft.stem, options, draft.correct_index, draft.answer, draft.explanation
    )
    revisions.revise(session, cq, content)


def _refuse_copy_rewording(q: Question, draft: Draft) -> None:
    """A learner's copy of a course question keeps the teacher's wording and option order
    (the course counts answers by them); its status and explanation may change."""
    if q.course_question_id is not None and _content(q) != _content(draft):
        raise InvalidInput(
            "This question comes from a course: its teacher edits it. Flag it if something "
            "is wrong. Nothing was changed."
        )


def _content(q: Question | Draft) -> tuple[object, ...]:
    """What a learner's answer is graded against."""
    if q.options is not None:  # multiple choice: the options and which one is right
        return (q.stem.strip(), [o.strip() for o in q.options], q.correct_index)
    return (q.stem.strip(), q.answer.strip())


def delete_question(rt: Runtime, *, user_id: int, question_id: int) -> None:
    """Delete one of the learner's questions (and, by cascade, its practice history).

    Raises:
        NotFound: not the learner's question.
        InvalidInput: a teacher's question in a course bank.
    """
    with rt.session_factory.begin() as session:
        q = session.scalar(
            select(Question).where(Question.id == question_id, Question.user_id == user_id)
        )
        if q is None:
            raise NotFound(_NOT_IN_BANK)
        if session.scalar(select(CourseQuestion.id).where(CourseQuestion.question_id == q.id)):
            # Deleting it would delete the course question and the class's answers to it.
            raise InvalidInput(
                "This question is in a course bank: retire it in the course instead of "
                "deleting it. Nothing was deleted."
            )
        session.delete(q)


__all__ = [
    "BankPage",
    "QuestionView",
    "add_questions",
    "bank_materials",
    "bank_tags",
    "delete_question",
    "get_question",
    "known_questions",
    "list_questions",
    "save_questions",
    "update_question",
]
