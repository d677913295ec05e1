"""Questions for practice tests, inserted directly (as generation would save them)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from engine.db.models import Question
from ui.text import escape_markdown

_n = itertools.count(1)


def add_question(session_factory, user_id: int, **overrides: Any) -> int:
    """Insert one active question for `user_id` and return its id (multiple choice unless told)."""
    n = next(_n)
    values: dict[str, Any] = dict(
        user_id=user_id,
        type="mcq",
        stem=f"Which organelle makes ATP? ({n})",
        options=["Nucleus", "Mitochondrion", "Ribosome", "Golgi body"],
        correct_index=1,
        answer="Mitochondrion",
        key_points=[],
        explanation="Mitochondria run respiration.",
        difficulty=3,
        excerpt="The mitochondrion is the site of aerobic respiration.",
        page_start=4,
        page_end=4,
        material_title="Cell Biology",
        generator="offline",
    )
    values.update(overrides)
    with session_factory.begin() as s:
        q = Question(**values)
        s.add(q)
        s.flush()
        return q.id


def token() -> str:
    return uuid.uuid4().hex


def shown_position(at, option: str) -> int:
    """Where the Today page (AppTest) shows the option with this text (options are shown in
    a shuffled order)."""
    label = escape_markdown(option)
    return next(i for i in range(9) if at.button(key=f"today_option_{i}").label == label)


def answer_today(at, option: str | int, confidence: int | None = None):
    """On the Today page (AppTest): pick the option with this text (or shown at this 0-based
    position), say how sure (1-5; left at its default when None) and check, as the keys 1-9,
    Shift+1..5 and Enter do."""
    shown = option if isinstance(option, int) else shown_position(at, option)
    at.button(key=f"today_option_{shown}").click().run()
    if confidence is not None:
        at.button(key=f"today_sure_{confidence}").click().run()
    return at.button(key="today_check").click().run()


def open_popover(at, key: str):
    """Open a popover that draws its contents only while open (`on_change="rerun"`), as a
    click on it does in the browser (AppTest has no popover element to click)."""
    at.session_state[key] = True
    return at.run()
