"""The plain values generation works with: question drafts (and the source passages they come
from, `engine.domain.passage.Passage`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from engine.domain.passage import Passage
from engine.domain.vocabulary import Generator, QuestionType

QUESTION_TYPES = (QuestionType.MCQ, QuestionType.CLOZE, QuestionType.SHORT)
MIX = "mix"  # a request for every type the generator makes
TYPE_LABELS = {
    QuestionType.MCQ: "Multiple choice",
    QuestionType.CLOZE: "Cloze (fill in the blank)",
    QuestionType.SHORT: "Short answer",
    MIX: "A mix",
}
BLANK = "_____"


@dataclass
class Draft:
    """A generated question before the learner accepts it (then it becomes a `Question`).

    `options`/`correct_index` are set for multiple choice only; `answer` holds the correct
    option's text (mcq), the missing term (cloze) or a model answer (short).
    """

    type: str
    stem: str
    answer: str
    explanation: str
    difficulty: int
    excerpt: str
    chunk_ids: list[int]
    options: list[str] | None = None
    correct_index: int | None = None
    key_points: list[str] = field(default_factory=list)
    # The exercise within the type ('term', 'definition', 'statement', 'list'; None: plain),
    # and, offline, the measured difficulty signal in [0, 1] behind `difficulty`.
    form: str | None = None
    difficulty_signal: float | None = None
    # Filled in by the grounding check from the cited chunk.
    source_chunk_id: int | None = None
    material_id: int | None = None
    material_title: str = ""
    page_start: int = 1
    page_end: int = 1
    topic: str | None = None
    # What made it.
    generator: str = Generator.LLM
    model: str | None = None
    prompt_version: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    latency_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Draft:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


__all__ = ["BLANK", "MIX", "QUESTION_TYPES", "TYPE_LABELS", "Draft", "Passage"]
