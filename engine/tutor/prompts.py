"""Prompts for the tutor: system rules, the learner's profile, numbered passages and the recent
conversation trimmed to a token budget.

Templates are versioned rows in `prompt_templates` (seeded by migration 0007), like the
generation prompts. Passages are rendered between unambiguous markers and the system rules frame
them as data, so text in a PDF cannot speak as the instructions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from string import Template

from engine.domain.vocabulary import TutorMode
from engine.tutor.citations import strip_markers

SYSTEM, EXPLAIN, SOCRATIC, GENERAL, CONTEXT, REWRITE = (
    "tutor.system", "tutor.explain", "tutor.socratic", "tutor.general", "tutor.context",
    "tutor.rewrite")
TEMPLATE_NAMES = (SYSTEM, EXPLAIN, SOCRATIC, GENERAL, CONTEXT, REWRITE)

_BLOCK_MARKER = re.compile(r"<{3,}|>{3,}")


@dataclass(frozen=True)
class Templates:
    texts: dict[str, str]
    version: str  # e.g. "tutor.system@1+tutor.explain@1+..."

    def get(self, name: str) -> str:
        return self.texts[name]


@dataclass(frozen=True)
class Source:
    """A passage as the prompt numbers it."""

    n: int
    title: str
    pages: str
    text: str


@dataclass(frozen=True)
class Turn:
    """One earlier message of the conversation."""

    role: str  # 'user' or 'assistant'
    content: str


def render_sources(sources: Sequence[Source]) -> str:
    """Numbered passages between markers; marker-like text inside them is neutralised."""
    blocks = []
    for s in sources:
        title = _BLOCK_MARKER.sub(" ", s.title).replace('"', "'")
        body = _BLOCK_MARKER.sub(" ", s.text.strip())
        blocks.append(f'<<<PASSAGE [{s.n}] material="{title}" {s.pages}>>>\n{body}\n'
                      f"<<<END PASSAGE [{s.n}]>>>")
    return "\n\n".join(blocks)


def profile_text(*, level: str | None, goals: str, subjects: str) -> str:
    parts = [f"level: {level}" if level else "level: not given"]
    if goals.strip():
        parts.append(f"goals: {goals.strip()[:300]}")
    if subjects.strip():
        parts.append(f"subjects: {subjects.strip()[:200]}")
    return "; ".join(parts)


def trim_history(
    history: Sequence[Turn],
    *,
    budget: int,
    count: Callable[[list[dict[str, str]]], int],
    max_turns: int,
) -> list[dict[str, str]]:
    """The most recent turns that fit in `budget` tokens, oldest first, whole messages only.

    Args:
        history: the conversation so far, oldest first.
        budget: tokens the history may take in the prompt.
        count: token counter for chat messages (litellm's, through `engine.llm`).
        max_turns: never more than this many messages, however short.
    """
    kept: list[dict[str, str]] = []
    used = 0
    for turn in reversed(history[-max_turns:] if max_turns > 0 else []):
        message = {"role": turn.role, "content": strip_markers(turn.content)}
        cost = count([message])
        if used + cost > budget:
            break
        kept.append(message)
        used += cost
    kept.reverse()
    # A conversation given to a model starts with the learner speaking.
    while kept and kept[0]["role"] != "user":
        kept.pop(0)
    return kept


def build_messages(
    t: Templates,
    *,
    mode: str,
    profile: str,
    sources: Sequence[Source],
    history: list[dict[str, str]],
    question: str,
) -> list[dict[str, str]]:
    """System rules, trimmed history, then the passages and the learner's new message."""
    mode_rules = t.get(SOCRATIC if mode == TutorMode.SOCRATIC else EXPLAIN)
    system = Template(t.get(SYSTEM)).safe_substitute(mode_rules=mode_rules, profile=profile)
    user = Template(t.get(CONTEXT)).safe_substitute(passages=render_sources(sources),
                                                    question=question)
    return [{"role": "system", "content": system}, *history, {"role": "user", "content": user}]


def general_messages(t: Templates, *, profile: str, history: list[dict[str, str]],
                     question: str) -> list[dict[str, str]]:
    """A general-knowledge answer (the learner asked for one; shown as not from the materials)."""
    system = Template(t.get(GENERAL)).safe_substitute(profile=profile)
    return [{"role": "system", "content": system}, *history,
            {"role": "user", "content": question}]


def rewrite_messages(t: Templates, *, history: list[dict[str, str]],
                     question: str) -> list[dict[str, str]]:
    """Ask the model for one standalone search query from the conversation and the message."""
    convo = "\n".join(f"{m['role']}: {m['content'][:600]}" for m in history)
    prompt = Template(t.get(REWRITE)).safe_substitute(conversation=convo, question=question)
    return [{"role": "user", "content": prompt}]
