"""What the bank shows of a question: plain values read from a `Question` row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.db.models import Question
from engine.domain.passage import page_range_label


@dataclass(frozen=True)
class QuestionView:
    id: int
    type: str
    stem: str
    options: list[str] | None
    correct_index: int | None
    answer: str
    key_points: list[str]
    explanation: str
    difficulty: int
    status: str
    quality_score: float | None
    excerpt: str
    page_start: int
    page_end: int
    material_id: int | None
    material_title: str
    topic: str | None
    generator: str
    model: str | None
    created_at: dt.datetime
    tags: tuple[str, ...] = ()  # paths kept ("Lang::Spanish"), sorted

    @property
    def pages(self) -> str:
        return page_range_label(self.page_start, self.page_end)


def question_view(q: Question, tags: tuple[str, ...] = ()) -> QuestionView:
    return QuestionView(
        id=q.id,
        type=q.type,
        stem=q.stem,
        options=q.options,
        correct_index=q.correct_index,
        answer=q.answer,
        key_points=list(q.key_points or []),
        explanation=q.explanation,
        difficulty=q.difficulty,
        status=q.status,
        quality_score=q.quality_score,
        excerpt=q.excerpt,
        page_start=q.page_start,
        page_end=q.page_end,
        material_id=q.material_id,
        material_title=q.material_title,
        topic=q.topic,
        generator=q.generator,
        model=q.model,
        created_at=q.created_at,
        tags=tags,
    )


@dataclass(frozen=True)
class BankPage:
    questions: list[QuestionView]
    total: int
