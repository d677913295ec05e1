"""Prompts for LLM question generation and the reading of the model's answers.

Templates are versioned rows in `prompt_templates` (seeded by migration 0003); the rendered
prompt delimits source text as data, and answers are parsed leniently into `Draft`s.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from string import Template
from typing import Any

from engine.domain.vocabulary import Generator, QuestionType
from engine.generation.drafts import TYPE_LABELS, Draft, Passage
from engine.generation.validation import canonical_blank

SYSTEM, USER, REPAIR = "questions.system", "questions.user", "questions.repair"
TEMPLATE_NAMES = (SYSTEM, USER, REPAIR)

RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "questions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["mcq", "cloze", "short"]},
                    "stem": {"type": "string"},
                    "options": {"type": ["array", "null"], "items": {"type": "string"}},
                    "correct_index": {"type": ["integer", "null"]},
                    "answer": {"type": "string"},
                    "key_points": {"type": "array", "items": {"type": "string"}},
                    "explanation": {"type": "string"},
                    "difficulty": {"type": "integer", "minimum": 1, "maximum": 5},
                    "chunk_ids": {"type": "array", "items": {"type": "integer"}},
                    "excerpt": {"type": "string"},
                },
                "required": [
                    "type",
                    "stem",
                    "answer",
                    "explanation",
                    "difficulty",
                    "chunk_ids",
                    "excerpt",
                ],
            },
        }
    },
    "required": ["questions"],
}


@dataclass(frozen=True)
class Templates:
    system: str
    user: str
    repair: str
    version: str  # e.g. "questions.system@1+questions.user@1+questions.repair@1"


_MARKER = re.compile(r"<{3,}|>{3,}")


def render_passages(passages: Sequence[Passage]) -> str:
    """Passages between unambiguous markers; marker-like text inside them is neutralised so a
    document cannot close its own block and speak as the instructions."""
    blocks = []
    for p in passages:
        pages = str(p.page_start) if p.page_start == p.page_end else f"{p.page_start}-{p.page_end}"
        title = _MARKER.sub(" ", p.material_title).replace('"', "'")
        body = _MARKER.sub(" ", p.text.strip())
        blocks.append(
            f'<<<PASSAGE id={p.chunk_id} material="{title}" pages={pages}>>>\n'
            f"{body}\n<<<END PASSAGE id={p.chunk_id}>>>"
        )
    return "\n\n".join(blocks)


def build_messages(
    t: Templates,
    passages: Sequence[Passage],
    *,
    count: int,
    types: Sequence[str],
    difficulty: int,
    topic: str | None,
) -> list[dict[str, str]]:
    type_text = " or ".join(f"{q} ({TYPE_LABELS[q].lower()})" for q in types)
    if len(types) > 1:
        type_text += " - vary the types"
    topic_line = f"\nFocus on this topic where the passages allow: {topic}" if topic else ""
    user = Template(t.user).safe_substitute(
        count=count,
        types=type_text,
        difficulty=difficulty,
        topic_line=topic_line,
        passages=render_passages(passages),
    )
    return [{"role": "system", "content": t.system}, {"role": "user", "content": user}]


def repair_messages(
    t: Templates, messages: list[dict[str, str]], bad_answer: str, error: str
) -> list[dict[str, str]]:
    return [
        *messages,
        {"role": "assistant", "content": bad_answer[:8000]},
        {"role": "user", "content": Template(t.repair).safe_substitute(error=error)},
    ]


def cache_key(
    *,
    user_id: int,
    model: str,
    prompt_version: str,
    messages: list[dict[str, str]],
    params: dict[str, Any],
) -> str:
    """sha256 over (learner, prompt version, model, context hash, parameters)."""
    context_hash = hashlib.sha256(
        json.dumps(messages, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    blob = json.dumps(
        {
            "user": user_id,
            "model": model,
            "prompt": prompt_version,
            "context": context_hash,
            "params": params,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _as_int(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        digits = re.sub(r"^\s*[A-Za-z#_-]*", "", value).strip()
        if digits.lstrip("-").isdigit():
            return int(digits)
    return value


def _as_str(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def items_from(payload: Any) -> list[dict[str, Any]]:
    """The question objects of a parsed answer (`{"questions": [...]}`, a bare list, or one).

    Raises:
        ValueError: the answer has no question objects.
    """
    if isinstance(payload, dict) and isinstance(payload.get("questions"), list):
        items = payload["questions"]
    elif isinstance(payload, list):
        items = payload
    elif isinstance(payload, dict) and "stem" in payload:
        items = [payload]
    else:
        raise ValueError('expected an object with a "questions" list')
    return [i for i in items if isinstance(i, dict)]


def to_draft(item: dict[str, Any]) -> Draft | None:
    """One question object as a Draft (coercing harmless variations), or None if unusable."""
    qtype = _as_str(item.get("type"))
    qtype = {
        "multiple_choice": "mcq",
        "multiple-choice": "mcq",
        "fill_in_the_blank": "cloze",
        "short_answer": "short",
    }.get(qtype, qtype)
    options = item.get("options")
    if qtype != QuestionType.MCQ and options in ([], None):
        options = None
    if isinstance(options, list):
        options = [_as_str(o) for o in options]
    correct = _as_int(item.get("correct_index"))
    if qtype != QuestionType.MCQ and correct is None:
        correct = None
    chunk_ids = item.get("chunk_ids")
    if not isinstance(chunk_ids, list):
        chunk_ids = [chunk_ids] if chunk_ids is not None else []
    key_points = item.get("key_points") or []
    if not isinstance(key_points, list):
        return None
    stem, answer = _as_str(item.get("stem")), _as_str(item.get("answer"))
    explanation, excerpt = _as_str(item.get("explanation")), _as_str(item.get("excerpt"))
    if not all(isinstance(x, str) for x in (qtype, stem, answer, explanation, excerpt)):
        return None
    if (
        qtype == QuestionType.MCQ
        and answer == ""
        and isinstance(options, list)
        and isinstance(correct, int)
        and 0 <= correct < len(options)
    ):
        answer = options[correct]
    if qtype == QuestionType.CLOZE:
        stem = canonical_blank(stem)
    return Draft(
        type=qtype,
        stem=stem,
        answer=answer,
        explanation=explanation,
        difficulty=_as_int(item.get("difficulty")),
        excerpt=excerpt,
        chunk_ids=[_as_int(c) for c in chunk_ids],
        options=options,
        correct_index=correct,
        key_points=[_as_str(k) for k in key_points],
        generator=Generator.LLM,
    )
