"""How counts are written in messages the learner reads (shared by the engine and the pages)."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """A count with its noun: "1 page", "2 pages", "0 pages" (`many` for irregular plurals)."""
    return f"{n} {word if n == 1 else many or word + 's'}"
