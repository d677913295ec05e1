"""Chunks overlap by words: a chunk that opens inside a sentence of the one before gives no
question on its first, cut sentence, even when that opens with a capital."""

from __future__ import annotations

from engine.generation import offline
from engine.generation.drafts import Passage

FIRST = (
    "The Corresponding Source for a work means all the source code needed to modify the "
    "work. However, it does not include the work's System Libraries, or general-purpose "
    "tools which are used unmodified in performing those activities but which are not part "
    "of the work."
)
# The next chunk repeats the end of the first from inside its last sentence.
SECOND = (
    "System Libraries, or general-purpose tools which are used unmodified in performing "
    "those activities but which are not part of the work. The System Libraries of a work "
    "include every library that the operating system provides to programs."
)
# A chunk that repeats the first from a sentence start is whole.
THIRD = (
    "However, it does not include the work's System Libraries, or general-purpose tools "
    "which are used unmodified in performing those activities but which are not part of "
    "the work."
)


def test_the_cut_sentence_a_chunk_opens_with_is_no_candidate():
    assert offline.cut_openings([FIRST, SECOND]) == {" ".join(SECOND.split()[:8])}
    assert offline.cut_openings([FIRST, THIRD]) == frozenset()
    text = FIRST + " " + SECOND
    space = offline.build_space(text, names=set(), embed=None)
    space.cut_openings = offline.cut_openings([FIRST, SECOND])
    passages = [Passage(1, 1, "gpl", FIRST, 1, 1), Passage(2, 1, "gpl", SECOND, 1, 1)]

    def asked() -> set[str]:
        queues = offline._candidates(passages, {1: space}, 3, set())
        return {c.sentence.split(",")[0] for q in queues for c in q}

    assert "System Libraries" not in asked(), asked()
    space.cut_openings = frozenset()
    assert "System Libraries" in asked()  # the fragment reads as a sentence on its own
    # The chunk cut inside a line: its short first line is split off, the rest still is cut.
    second = "does not include the work's\n" + SECOND.replace(". The System", ".\nThe System")
    first = FIRST.replace("the work's System", "the work's\nSystem")
    passages[1] = Passage(2, 1, "gpl", second, 1, 1)
    space.cut_openings = offline.cut_openings([first, second])
    assert space.cut_openings
    assert "System Libraries" not in asked(), asked()
