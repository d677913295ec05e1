"""What a tutor turn is while it is being answered, the texts the tutor says of its own, and
storing an answer that needs no model call (a refusal, an offline answer, a hint, a quiz)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine import llm
from engine.runtime import Runtime
from engine.tutor import citations, grounding, prompts, store
from engine.tutor.sources import Source

REFUSAL_TEXT = (
    "Your material does not cover this, so I will not guess. The closest passages "
    "I found are listed below; try rephrasing with words from your material, "
    "choose other materials, or turn on general knowledge for an answer that is "
    "not from your materials."
)
GENERAL_OFFLINE_TEXT = (
    "Your material does not cover this, and general-knowledge answers need "
    "a language model, which is not configured. The closest passages are "
    "listed below."
)
NO_SENTENCE_TEXT = (
    "These passages of your material are about your question, but none of "
    "their sentences answers it on its own. Open them below."
)
SUGGESTIONS = 3


@dataclass(frozen=True)
class TutorMode:
    offline: bool
    model: str | None

    @property
    def label(self) -> str:
        if self.offline:
            return (
                "Offline mode: no language model is configured, so answers are the best "
                "sentences of your material, each with its source."
            )
        return f"Answers by {self.model}, only from your material, with a source per sentence."


def tutor_mode(rt: Runtime) -> TutorMode:
    model = llm.model_for("tutoring", rt.settings)
    return TutorMode(offline=not model, model=model)


@dataclass
class Turn:
    """One question being answered. `message` is set once the answer is stored."""

    user_id: int
    conversation_id: int
    question: str
    query: str
    mode: str
    kind: str  # 'answer', 'general', 'offline', 'refusal' or 'quiz'
    sources: list[Source]
    messages: list[dict[str, str]] | None = None
    prompt_version: str | None = None
    pre_llm_ms: float = 0.0
    engine_ms: float = 0.0
    message: store.MessageView | None = None
    timings: dict[str, float] = field(default_factory=dict)
    evidence: grounding.Evidence | None = None  # what the refusal rule weighed
    leads: dict[int, str] = field(default_factory=dict)  # chunk id -> text before it
    trails: dict[int, str] = field(default_factory=dict)  # chunk id -> text after it

    @property
    def needs_model(self) -> bool:
        return self.messages is not None and self.message is None

    def around(self) -> tuple[list[str | None], list[str | None]]:
        """The text before and after each source (None when unknown)."""
        ids = [s.chunk_id for s in self.sources]
        return (
            [self.leads.get(i) if i is not None else None for i in ids],
            [self.trails.get(i) if i is not None else None for i in ids],
        )

    def source(self, n: int) -> Source:
        return next(s for s in self.sources if s.n == n)


@dataclass
class TurnContext:
    """What a turn is prepared from: the conversation's history, materials and templates."""

    user_id: int
    conversation_id: int
    user_message_id: int
    question: str
    mode: str
    material_ids: list[int] | None
    earlier: list[store.MessageView]
    t: prompts.Templates
    marks: dict[str, float]


def _sentence_json(s: citations.Sentence | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(s, Mapping):
        return dict(s)
    return {"text": s.text, "refs": list(s.refs), "added": s.added}


def finish_now(
    rt: Runtime,
    turn: Turn,
    *,
    content: str,
    sources: Sequence[Source],
    sentences: Sequence[citations.Sentence | Mapping[str, Any]],
    cited_share: float | None,
) -> None:
    """Store the turn's answer (`turn.message`)."""
    with rt.session_factory.begin() as session:
        conv = store.owned(session, turn.user_id, turn.conversation_id)
        msg = store.add_message(
            session,
            user_id=turn.user_id,
            conversation=conv,
            role="assistant",
            kind=turn.kind,
            mode=turn.mode,
            content=content,
            citations=[s.to_json() for s in sources],
            search_query=turn.query,
            sentences=[_sentence_json(s) for s in sentences],
            cited_share=cited_share,
        )
        turn.message = store._msg_view(msg)
