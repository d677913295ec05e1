"""LMS exports of the learner's own questions (all, one material or one topic)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.analytics.anki import Selection, citation, selected_questions
from engine.errors import InvalidInput
from engine.interop.lms import ExportQuestion, LmsFile, LmsFormat, export

if TYPE_CHECKING:
    from engine.runtime import Runtime

__all__ = ["LmsFormat", "Selection", "export_for_lms"]


def export_for_lms(rt: Runtime, *, user_id: int, selection: Selection, fmt: LmsFormat) -> LmsFile:
    """The learner's active and flagged questions in `selection` as a file of `fmt`.

    Raises:
        InvalidInput: the selection holds none of the learner's questions (another learner's
            material or topic selects nothing).
    """
    rows = selected_questions(rt, user_id=user_id, selection=selection)
    if not rows:
        raise InvalidInput(
            "There are no questions to export in that selection. Choose "
            "another material or topic, or generate questions first."
        )
    questions = [
        ExportQuestion(
            id=q.id,
            type=q.type,
            stem=q.stem,
            options=q.options,
            correct_index=q.correct_index,
            answer=q.answer,
            explanation=q.explanation or "",
            citation=citation(q),
            topic=q.topic,
        )
        for q in rows
    ]
    return export(questions, fmt)
