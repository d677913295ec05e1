"""What the Generate page shows before a request: whether generation uses a model or the
offline generator (`generation_mode`), and the learner's materials ready to generate from (the
learner's model use is `engine.usage.usage_summary`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine import llm
from engine.config import Settings
from engine.db.models import Material
from engine.domain.language import is_supported
from engine.domain.vocabulary import FLASHCARD_FORM, MaterialStatus, QuestionType
from engine.generation.drafts import QUESTION_TYPES
from engine.runtime import Runtime

# What a learner can ask for offline: multiple choice, cloze, and self-rated flashcards (the
# only 'short' questions the offline generator makes).
OFFLINE_CHOICES = (QuestionType.MCQ, QuestionType.CLOZE, FLASHCARD_FORM)


@dataclass(frozen=True)
class GenerationMode:
    offline: bool
    model: str | None
    types: tuple[str, ...]

    @property
    def label(self) -> str:
        if self.offline:
            return "Offline mode: no language model configured (extractive questions)"
        return f"Questions by {self.model}"


def mode_for(settings: Settings) -> GenerationMode:
    model = llm.model_for("generation", settings)
    if not model:
        return GenerationMode(offline=True, model=None, types=OFFLINE_CHOICES)
    return GenerationMode(offline=False, model=model, types=QUESTION_TYPES)


def generation_mode(rt: Runtime) -> GenerationMode:
    """Whether generation uses a model (and which) or the offline generator."""
    return mode_for(rt.settings)


@dataclass(frozen=True)
class MaterialChoice:
    id: int
    title: str
    page_count: int
    chunk_count: int
    language: str | None = None  # ISO 639-1; None: not detected yet

    @property
    def offline_supported(self) -> bool:
        return self.language is None or is_supported(self.language)


def materials_for_generation(rt: Runtime, *, user_id: int) -> list[MaterialChoice]:
    """The learner's materials that are ready to generate from, newest first."""
    with rt.session_factory() as session:
        rows = session.execute(
            select(
                Material.id,
                Material.title,
                Material.page_count,
                Material.chunk_count,
                Material.language,
            )
            .where(
                Material.user_id == user_id,
                Material.status == MaterialStatus.READY,
                Material.chunk_count > 0,
            )
            .order_by(Material.created_at.desc(), Material.id.desc())
        ).all()
    return [MaterialChoice(*r) for r in rows]
