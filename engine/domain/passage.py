"""A passage of a learner's material: a chunk with its provenance, as search returns it and as
generators read it."""

from __future__ import annotations

from dataclasses import dataclass


def page_range_label(page_start: int, page_end: int) -> str:
    """Where a passage is in its material, for citations: 'p. 4', or 'pp. 4–5' (en dash)."""
    if page_start == page_end:
        return f"p. {page_start}"
    return f"pp. {page_start}\u2013{page_end}"


@dataclass(frozen=True)
class Passage:
    """One chunk of a learner's material with where it comes from. `score` is the search
    relevance (0 when the passage was not found by a search)."""

    chunk_id: int
    material_id: int
    material_title: str
    text: str
    page_start: int
    page_end: int
    score: float = 0.0
    heading: str | None = None
    cosine: float | None = None  # the query's cosine similarity, when a search knew it

    @property
    def pages(self) -> str:
        """'p. 4' or 'pp. 4–5', for citations."""
        return page_range_label(self.page_start, self.page_end)
