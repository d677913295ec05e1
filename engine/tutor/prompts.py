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
    "tutor.system",
    "tutor.explain",
    "tutor.socratic",
    "tutor.general",
    "tutor.context",
    "tutor.rewrite",
)
TEMPLATE_NAMES = (SYSTEM, EXPLAIN, SOCRATIC, GENERAL, CONTEXT, REWRITE)

# Characters that read as an angle bracket (or two, or three): a run of them worth three or
# more, even with spaces or invisible characters between, could pass for a passage marker.
_ANGLE_WEIGHT = {
    **dict.fromkeys(
        "<>\u2039\u203a\u02c2\u02c3\u1438\u1433\u2329\u232a\u27e8\u27e9\u3008\u3009"
        "\u276c\u276d\u276e\u276f\u2770\u2771\u29fc\u29fd\uff1c\uff1e\ufe64\ufe65"
        "\u227a\u227b\u22d6\u22d7\u22b2\u22b3\u25c0\u25b6\u25c1\u25b7\u2989\u298a"
        "\u2991\u2992\u2329\u232a\u1438\u1433",
        1,
    ),
    **dict.fromkeys("\u00ab\u00bb\u226a\u226b\u300a\u300b\u27ea\u27eb\u2aa1\u2aa2", 2),
    **dict.fromkeys("\u22d8\u22d9\u2af7\u2af8", 3),
}
_ANGLES = "".join(_ANGLE_WEIGHT)
_INVISIBLE = "\\s\u00ad\u034f\u180e\u200b-\u200f\u2060-\u2064\ufeff"
_MARKER_LIKE = re.compile(f"[{_ANGLES}](?:[{_INVISIBLE}]*[{_ANGLES}])*")


def neutralise_markers(text: str) -> str:
    """`text` with every run of angle-like characters that could pass for a passage marker
    (`<<<`, `«««`, `❮❮❮`, `<< <`, `≪<`, fullwidth forms...) replaced by a space. Shorter runs
    (`a < b`, `x << 2`) are kept."""

    def repl(m: re.Match[str]) -> str:
        weight = sum(_ANGLE_WEIGHT.get(c, 0) for c in m.group(0))
        return " " if weight >= 3 else m.group(0)

    return _MARKER_LIKE.sub(repl, text)


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
        title = neutralise_markers(s.title).replace('"', "'")
        body = neutralise_markers(s.text.strip())
        blocks.append(
            f'<<<PASSAGE [{s.n}] material="{title}" {s.pages}>>>\n{body}\n<<<END PASSAGE [{s.n}]>>>'
        )
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
    """System rules, trimmed history, then the passages and the learner's new message (the
    learner's and the history's text with marker look-alikes neutralised, like the passages)."""
    mode_rules = t.get(SOCRATIC if mode == TutorMode.SOCRATIC else EXPLAIN)
    system = Template(t.get(SYSTEM)).safe_substitute(mode_rules=mode_rules, profile=profile)
    user = Template(t.get(CONTEXT)).safe_substitute(
        passages=render_sources(sources), question=neutralise_markers(question)
    )
    return [
        {"role": "system", "content": system},
        *_neutral(history),
        {"role": "user", "content": user},
    ]


def _neutral(history: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{**m, "content": neutralise_markers(m["content"])} for m in history]


def general_messages(
    t: Templates, *, profile: str, history: list[dict[str, str]], question: str
) -> list[dict[str, str]]:
    """A general-knowledge answer (the learner asked for one; shown as not from the materials)."""
    system = Template(t.get(GENERAL)).safe_substitute(profile=profile)
    return [
        {"role": "system", "content": system},
        *_neutral(history),
        {"role": "user", "content": neutralise_markers(question)},
    ]


def rewrite_messages(
    t: Templates, *, history: list[dict[str, str]], question: str
) -> list[dict[str, str]]:
    """Ask the model for one standalone search query from the conversation and the message."""
    convo = "\n".join(f"{m['role']}: {m['content'][:600]}" for m in _neutral(history))
    prompt = Template(t.get(REWRITE)).safe_substitute(
        conversation=convo, question=neutralise_markers(question)
    )
    return [{"role": "user", "content": prompt}]
