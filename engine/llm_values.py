"""What the model adapter (`engine.llm`) takes and returns, none of it needing litellm: the
tasks and the model configured for each, the results of a completion, a stream and an
embedding call, and the lenient parsing of a model's JSON answer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.config import Settings

Task = Literal["generation", "grading", "tutoring"]
TASKS: tuple[Task, ...] = ("generation", "grading", "tutoring")


def model_for(task: Task, settings: Settings) -> str | None:
    """The model configured for a task; grading and tutoring fall back to the generation model."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}")
    if task == "grading":
        return settings.llm.grading_model or settings.llm.generation_model
    if task == "tutoring":
        return settings.llm.tutor_model or settings.llm.generation_model
    return settings.llm.generation_model


SETTING_FOR_TASK = {
    "generation": "GROUNDWORK_LLM_GENERATION_MODEL",
    "grading": "GROUNDWORK_LLM_GRADING_MODEL",
    "tutoring": "GROUNDWORK_LLM_TUTOR_MODEL",
}


def not_configured_message(task: Task) -> str:
    return (
        f"No language model is configured for {task}. Set {SETTING_FOR_TASK[task]} "
        "(or GROUNDWORK_LLM_GENERATION_MODEL) to a litellm model name."
    )


def is_configured(task: Task, settings: Settings) -> bool:
    """Whether a model is configured for the task (otherwise callers use their offline path)."""
    return bool(model_for(task, settings))


@dataclass(frozen=True)
class Completion:
    """One finished chat completion and what it cost."""

    text: str
    model: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_ms: int
    attempts: int
    finish_reason: str | None = None


@dataclass
class Stream:
    """An iterable of text deltas; usage and cost are filled in once it has been consumed."""

    model: str
    _chunks: Iterator[str]
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0
    done: bool = False
    text_parts: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[str]:
        return self._chunks

    @property
    def text(self) -> str:
        return "".join(self.text_parts)


@dataclass(frozen=True)
class Embeddings:
    """Vectors from a hosted embedding model and what they cost (all batches together)."""

    vectors: list[list[float]]
    model: str
    tokens_in: int
    cost_usd: float
    latency_ms: int
    requests: int


def parse_json(text: str) -> Any:
    """Parse a model's JSON answer leniently: code fences, prose around it, trailing commas.

    Raises:
        ValueError: no JSON value could be recovered.
    """
    s = text.strip()
    if s.startswith("```"):
        s = s.split("\n", 1)[1] if "\n" in s else s[3:]
        if s.rstrip().endswith("```"):
            s = s.rstrip()[:-3]
    try:
        return json.loads(s)
    except json.JSONDecodeError:
        pass
    starts = [i for i in (s.find("{"), s.find("[")) if i >= 0]
    if not starts:
        raise ValueError("no JSON object in the answer")
    begin = min(starts)
    end = max(s.rfind("}"), s.rfind("]"))
    if end <= begin:
        raise ValueError("unterminated JSON in the answer")
    candidate = s[begin : end + 1]
    try:
        return json.loads(candidate)
    except json.JSONDecodeError:
        cleaned = re.sub(r",\s*([}\]])", r"\1", candidate)
        try:
            return json.loads(cleaned)
        except json.JSONDecodeError as e:
            raise ValueError(f"malformed JSON: {e}") from e
