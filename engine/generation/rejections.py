"""Questions a learner rejected on the Generate page: kept per learner so that generation
(and so Quiz me in the tutor, which generates through it) never offers them again."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from engine.db.models import Material, RejectedQuestion
from engine.errors import NotFound
from engine.generation.drafts import Draft
from engine.generation.validation import dedupe_key, normalise
from engine.runtime import Runtime


def reject_draft(rt: Runtime, *, user_id: int, draft: Draft) -> None:
    """Remember that the learner rejected this generated question (again: no change).

    Raises:
        NotFound: the draft's material is not the learner's.
    """
    with rt.session_factory.begin() as session:
        if draft.material_id is not None and not session.scalar(
            select(Material.id).where(Material.id == draft.material_id, Material.user_id == user_id)
        ):
            raise NotFound("That material is not in your library.")
        session.execute(
            insert(RejectedQuestion)
            .values(
                user_id=user_id,
                material_id=draft.material_id,
                dedupe_key=dedupe_key(draft.stem, draft.answer),
                excerpt=normalise(draft.excerpt),
                stem=draft.stem,
            )
            .on_conflict_do_nothing(constraint="uq_rejected_questions_user_key")
        )


def undo_rejection(rt: Runtime, *, user_id: int, draft: Draft) -> None:
    """Forget the learner's rejection of this question (Undo on the Generate page)."""
    with rt.session_factory.begin() as session:
        session.execute(
            delete(RejectedQuestion).where(
                RejectedQuestion.user_id == user_id,
                RejectedQuestion.dedupe_key == dedupe_key(draft.stem, draft.answer),
            )
        )


def rejected_questions(session: Session, user_id: int) -> tuple[list[str], set[str]]:
    """The learner's rejected questions as generation leaves them out: their dedupe keys,
    and the normalised source sentences they were built on."""
    rows = session.execute(
        select(RejectedQuestion.dedupe_key, RejectedQuestion.excerpt).where(
            RejectedQuestion.user_id == user_id
        )
    ).all()
    return [k for k, _ in rows], {e for _, e in rows}
