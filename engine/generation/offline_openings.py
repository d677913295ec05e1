"""Where a chunk opens inside a sentence. Chunks overlap by words, so a chunk often starts in
the middle of a sentence of the one before; its first "sentence" is then a fragment, even when
it opens with a capital ("System Libraries, or general-purpose tools ... part of the work.")."""

from __future__ import annotations

import re
from collections.abc import Sequence

_OPENING_WORDS = 8
_SENTENCE_END = ".!?:;\u2022"


def opening(text: str) -> str:
    """A chunk's first words, as `cut_openings` holds them."""
    return " ".join(text.split()[:_OPENING_WORDS])


def cut_openings(chunks: Sequence[str]) -> frozenset[str]:
    """The openings of the chunks (in document order) that start inside a sentence of the
    chunk before: their first words repeat its end after no sentence end or paragraph break."""
    cut = set()
    for before, chunk in zip(chunks, chunks[1:], strict=False):
        words = chunk.split()[:_OPENING_WORDS]
        if not words:
            continue
        pattern = r"\s+".join(re.escape(w) for w in words)
        found = [m.start() for m in re.finditer(pattern, before)]
        if not found:
            continue  # no overlap: the chunk opens a section
        head = before[: found[-1]]
        if head.strip() and not (
            head.rstrip()[-1] in _SENTENCE_END or re.search(r"\n\s*\n\s*$", head)
        ):
            cut.add(" ".join(words))
    return frozenset(cut)


def opens_cut(text: str, sentence: str, cut: frozenset[str]) -> bool:
    """Whether the sentence is (the end of) the fragment a cut chunk (`text`) opens with: no
    sentence ends before it in the chunk ("does not include the work's" / "System Libraries,
    or ..." reads as a sentence once its short first line is split off)."""
    if not cut or opening(text) not in cut:
        return False
    words = sentence.split()[:3]
    m = re.search(r"\s+".join(re.escape(w) for w in words), text)
    return m is not None and not re.search(r"[.!?;]\s", text[: m.start()])
