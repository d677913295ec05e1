"""Each text-cleaning rule of engine.ingestion.cleaning, on small hand-made pages."""

from __future__ import annotations

from engine.ingestion.cleaning import (
    clean_pages,
    drop_running_lines,
    glyph_name_share,
    is_glyph_garbage,
    is_heading_line,
    join_hyphenation,
    normalise_characters,
    separate_headings,
)


def test_line_break_hyphenation_is_joined():
    assert join_hyphenation("we cap-\nture the loop") == "we capture the loop"
    assert join_hyphenation("Spi-\nderMonkey runs") == "SpiderMonkey runs"


def test_real_hyphens_are_kept():
    text = "a type-\nspecialized trace; type-specialized code"
    assert "type-specialized trace" in join_hyphenation(text)
    assert join_hyphenation("the SM-\n2 scheduler") == "the SM-2 scheduler"
    assert join_hyphenation("a type-specialized trace") == "a type-specialized trace"


def test_ligatures_and_loose_accents_become_letters():
    assert normalise_characters("\ufb01le \ufb02ow e\ufb03cient") == "file flow efficient"
    assert normalise_characters("a na\u00a8\u0131ve one") == "a na\u00efve one"


def test_whitespace_and_invisible_characters_are_normalised():
    text = "a\u00a0\u00a0b\t c\u00adon\u200btrol\x07x\r\n\n\n\nnext"
    assert normalise_characters(text) == "a b control x\n\nnext"


def test_running_headers_footers_and_page_numbers_are_dropped():
    pages = [
        f"Journal of Tests, Vol. 3\nBody text of page {n} goes here.\nMore body.\n{n}"
        for n in range(1, 6)
    ]
    cleaned = drop_running_lines(pages)
    for n, page in enumerate(cleaned, start=1):
        assert "Journal of Tests" not in page
        assert not page.endswith(f"\n{n}")
        assert f"Body text of page {n} goes here." in page


def test_a_line_on_only_two_pages_is_not_a_running_header():
    pages = ["Intro\nText one.", "Intro\nText two.", "Other\nText three.", "Else\nText four."]
    assert drop_running_lines(pages)[0].startswith("Intro")


def test_headings_are_separated_from_body_text():
    text = "3.3 Nested Trace Tree Formation\nFigure 7 shows basic trace tree compilation."
    assert separate_headings(text).split("\n")[:2] == ["3.3 Nested Trace Tree Formation", ""]
    assert is_heading_line("Abstract")
    assert not is_heading_line("the loop is compiled when it becomes hot, and the trace")
    assert not is_heading_line("3.2 percent of all loops were hot")


def test_glyph_name_pages_are_unreadable():
    garbage = "/g18/g152/g135/g3/g145/g136/g3 Perceived/g3enjoyment /uni00A0 (cid:12)(cid:13)"
    assert is_glyph_garbage(garbage)
    assert glyph_name_share(garbage) > 0.5
    assert not is_glyph_garbage("Paths like /usr/bin and a ratio 1/2 are fine text here.")


def test_clean_pages_reports_unreadable_pages_and_keeps_the_rest():
    pages = ["The heart pumps blood.", "/g3/g4/g5/g6 /g7/g8", "Cells carry oxy-\ngen."]
    cleaned, unreadable = clean_pages(pages)
    assert unreadable == [2]
    assert cleaned == ["The heart pumps blood.", "", "Cells carry oxygen."]


def test_symbol_soup_lines_are_dropped_but_equations_and_code_stay():
    from engine.ingestion.cleaning import drop_symbol_soup, is_symbol_soup

    assert is_symbol_soup("<//2??.B<AAC0/;#3%4%56#")
    assert is_symbol_soup("KA>29:92># L<ID2#")
    for kept in ("x = (a + b) / 2;", "if (a<b && c>d) { x; }", "{gal,shaver}@mozilla.com"):
        assert not is_symbol_soup(kept), kept
    assert drop_symbol_soup("Body line.\n?>9@AJ.B<?><#3$4(56#\nMore.") == "Body line.\nMore."


def test_paragraph_separators_become_line_breaks():
    assert normalise_characters("Tree\u2029Anchor") == "Tree\nAnchor"


def test_long_or_lone_lines_are_never_taken_for_running_headers():
    body = (
        "Soil forms slowly as rock weathers and organic matter accumulates over centuries "
        "while roots, fungi and worms mix it."
    )
    assert drop_running_lines([body] * 4) == [body] * 4
    pages = [f"Header\n{body}\nLine two {n}.\nLine three {n}." for n in range(4)]
    assert all(p.startswith(body) for p in drop_running_lines(pages))
