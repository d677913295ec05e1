"""Questions for practice tests, inserted directly (as generation would save them)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from engine.db.models import Question

_n = itertools.count(1)


def add_question(session_factory, user_id: int, **overrides: Any) -> int:
    """Insert one active question for `user_id` and return its id (multiple choice unless told)."""
    n = next(_n)
    values: dict[str, Any] = dict(
        user_id=user_id, type="mcq", stem=f"Which organelle makes ATP? ({n})",
        options=["Nucleus", "Mitochondrion", "Ribosome", "Golgi body"], correct_index=1,
        answer="Mitochondrion", key_points=[], explanation="Mitochondria run respiration.",
        difficulty=3, excerpt="The mitochondrion is the site of aerobic respiration.",
        page_start=4, page_end=4, material_title="Cell Biology", generator="offline",
    )
    values.update(overrides)
    with session_factory.begin() as s:
        q = Question(**values)
        s.add(q)
        s.flush()
        return q.id


def token() -> str:
    return uuid.uuid4().hex


def answer_today(at, option: int, confidence: int | None = None):
    """On the Today page (AppTest): pick `option` (0-based), say how sure (1-5; left at its
    default when None) and check, as the keys 1-9, Shift+1..5 and Enter do."""
    at.button(key=f"today_option_{option}").click().run()
    if confidence is not None:
        at.button(key=f"today_sure_{confidence}").click().run()
    return at.button(key="today_check").click().run()
