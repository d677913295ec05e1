"""A passage an answer cites (or suggests): what the prompt numbers, the page shows and the
conversation stores. Messages keep their citations as JSON; `Source.from_json` also reads rows
written before this type existed, whose keys may be missing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from engine.domain.passage import Passage, page_range_label


@dataclass(frozen=True)
class Source:
    """One numbered passage of a turn.

    n: its number in the answer's markers ([n]);
    chunk_id, material_id: where it is in the learner's library (None in old rows that did
        not store them: such a source cannot be opened in its page);
    title, page_start, page_end: the material and pages it comes from;
    text: the passage;
    score: its retrieval score.
    """

    n: int
    text: str
    title: str = ""
    chunk_id: int | None = None
    material_id: int | None = None
    page_start: int | None = None
    page_end: int | None = None
    score: float = 0.0

    @classmethod
    def from_passage(cls, n: int, p: Passage) -> Source:
        return cls(
            n=n,
            text=p.text,
            title=p.material_title,
            chunk_id=p.chunk_id,
            material_id=p.material_id,
            page_start=p.page_start,
            page_end=p.page_end,
            score=p.score,
        )

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> Source:
        """A stored citation (keys not stored are left at their defaults; unknown keys are
        ignored)."""

        def number(key: str) -> int | None:
            value = row.get(key)
            return None if value is None else int(value)

        start = number("page_start")
        return cls(
            n=int(row["n"]),
            text=str(row.get("text") or ""),
            title=str(row.get("title") or ""),
            chunk_id=number("chunk_id"),
            material_id=number("material_id"),
            page_start=start,
            page_end=number("page_end") if row.get("page_end") is not None else start,
            score=float(row.get("score") or 0.0),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def pages(self) -> str:
        """'p. 4' or 'pp. 4–5' ('' when the pages are unknown)."""
        if self.page_start is None:
            return ""
        end = self.page_end if self.page_end is not None else self.page_start
        return page_range_label(self.page_start, end)
