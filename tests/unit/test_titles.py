"""Choosing a material's title: full titles, never cut mid-phrase."""

from __future__ import annotations

from engine.library import TITLE_MAX, choose_title

TRACEMONKEY = (
    "Trace-based Just-in-Time Type Specialization for Dynamic\nLanguages\n"
    "Andreas Gal, Brendan Eich, Mike Shaver\nMozilla Corporation\nAbstract\n"
)


def test_largest_font_lines_give_the_full_title():
    lines = ["Trace-based Just-in-Time Type Specialization for Dynamic Languages"]
    assert choose_title(None, [TRACEMONKEY], "tracemonkey.pdf", lines) == lines[0]


def test_first_lines_continue_while_they_end_mid_phrase():
    title = choose_title(None, [TRACEMONKEY], "tracemonkey.pdf")
    assert title == "Trace-based Just-in-Time Type Specialization for Dynamic Languages"
    assert choose_title(None, ["Notes on soil\nSoil forms slowly."], "x.pdf") == "Notes on soil"


def test_metadata_title_is_used_unless_junk_or_cut_short():
    assert choose_title("Soil Science Basics", ["Other\n"], "a.pdf") == "Soil Science Basics"
    assert (
        choose_title("Microsoft Word - draft.docx", ["Real Title Here\n"], "a.pdf")
        == "Real Title Here"
    )
    cut = choose_title(
        "Trace-based Just-in-Time Type Specialization for Dynamic",
        [TRACEMONKEY],
        "t.pdf",
        ["Trace-based Just-in-Time Type Specialization for Dynamic Languages"],
    )
    assert cut.endswith("Dynamic Languages")


def test_long_titles_end_at_a_word():
    long = " ".join(["word"] * 100)
    title = choose_title(long, [], "a.pdf")
    assert len(title) <= TITLE_MAX and title.endswith("word")
    assert choose_title(None, [""], "my_notes.pdf") == "my notes"
