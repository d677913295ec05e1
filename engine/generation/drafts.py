"""The plain values generation works with: source passages and question drafts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

QUESTION_TYPES = ("mcq", "cloze", "short")
TYPE_LABELS = {"mcq": "Multiple choice", "cloze": "Cloze (fill in the blank)",
               "short": "Short answer", "mix": "A mix"}
BLANK = "_____"


@dataclass(frozen=True)
class Passage:
    """One chunk of a learner's material offered to a generator as context."""

    chunk_id: int
    material_id: int
    material_title: str
    text: str
    page_start: int
    page_end: int


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
    generator: str = "llm"
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
