"""What a generation request reports: progress while it runs, and its result."""

from __future__ import annotations

from dataclasses import dataclass

from engine.generation.drafts import Draft
from engine.generation.validation import REASONS


@dataclass
class Progress:
    """Reported after each step: `done` of `total` steps, drafts kept so far."""

    done: int
    total: int
    drafts: list[Draft]
    message: str


@dataclass
class GenerationResult:
    drafts: list[Draft]
    rejections: dict[str, int]
    generator: str  # 'llm' or 'offline'
    model: str | None
    prompt_version: str | None
    requested: int
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    llm_calls: int = 0
    cached_calls: int = 0
    engine_ms: float = 0.0  # our own time, excluding waiting for the model
    note: str | None = None  # why fewer were made than asked for, or how a topic narrowed it

    def rejection_summary(self) -> list[str]:
        return [
            f"{n} × {REASONS.get(reason, reason)}"
            for reason, n in sorted(self.rejections.items(), key=lambda kv: -kv[1])
        ]
