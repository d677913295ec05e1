"""Pages set in two columns read column by column, whatever order the PDF draws them in; pages in
one column, and columns already drawn in order, keep pypdf's text unchanged."""

from __future__ import annotations

import pytest

from engine.config import Settings
from engine.ingestion.columns import column_order, find_gutter, may_be_drawn_across
from engine.ingestion.pdf import read_pdf
from tests.support.library_pdfs import text_pdf, two_column_pdf

LEFT = (
    "Photosynthesis converts light energy into chemical energy stored in glucose. "
    "The light reactions take place in the thylakoid membranes of the chloroplast, where "
    "water is split and oxygen is released. The Calvin cycle then fixes carbon dioxide "
    "into sugars in the stroma, using the ATP and NADPH made by the light reactions. Plants that "
    "live in hot and dry places open their stomata at night and store carbon dioxide as "
    "malate, so that they lose less water during the day. The rate of photosynthesis rises "
    "with light intensity until another factor, such as temperature, becomes limiting."
)
RIGHT = (
    "Cellular respiration releases the energy stored in glucose. Glycolysis splits glucose "
    "into pyruvate in the cytoplasm. The citric acid cycle runs in the mitochondrial "
    "matrix, and the electron transport chain on the inner membrane makes most of the ATP "
    "a cell uses, with oxygen as the final electron acceptor. Without oxygen, many cells "
    "fall back on fermentation, which regenerates NAD+ so that glycolysis can continue, "
    "but yields only two ATP for each glucose. Muscle cells make lactate this way during "
    "hard exercise, and yeast makes ethanol and carbon dioxide."
)


def _layout(title: str, left: list[str], right: list[str], *, gap: int = 6) -> str:
    width = max(len(s) for s in left) + gap
    rows = [f"{a:<{width}}{b}".rstrip() for a, b in zip(left, right, strict=False)]
    return "\n".join([f"        {title}", "", *rows])


LEFT_LINES = [f"left line {i} of the first column text" for i in range(12)]
RIGHT_LINES = [f"right line {i} of the second column text" for i in range(12)]


def _across(left: list[str], right: list[str]) -> str:
    return "\n".join(f"{a} {b}" for a, b in zip(left, right, strict=True))


def test_lines_drawn_across_two_columns_are_read_down_each_column():
    layout = _layout("A Title Across Both Columns", LEFT_LINES, RIGHT_LINES)
    plain = "A Title Across Both Columns\n" + _across(LEFT_LINES, RIGHT_LINES)
    out = column_order(layout, plain)
    assert out is not None
    assert out.splitlines() == ["A Title Across Both Columns", *LEFT_LINES, *RIGHT_LINES]


def test_columns_already_drawn_in_order_keep_the_plain_text():
    layout = _layout("Title", LEFT_LINES, RIGHT_LINES)
    plain = "\n".join(["Title", *LEFT_LINES, *RIGHT_LINES])
    assert column_order(layout, plain) is None


def test_one_column_has_no_gutter_and_stays_as_it_is():
    words = "the quick brown fox jumps over the lazy dog while it rains".split()
    lines = [" ".join(words[i % 5 :] + words[: i % 5]) for i in range(20)]
    assert find_gutter(lines) is None
    assert column_order("\n".join(lines), "\n".join(lines)) is None


def test_a_full_width_heading_between_sections_keeps_its_place():
    top_l, top_r = LEFT_LINES[:6], RIGHT_LINES[:6]
    low_l = [f"lower left {i} continues the first column" for i in range(6)]
    low_r = [f"lower right {i} continues the second column" for i in range(6)]
    width = max(len(s) for s in top_l + low_l) + 6
    heading = "2. A Heading Long Enough To Reach Across The Gutter Between Both Columns"
    rows = (
        [f"{a:<{width}}{b}" for a, b in zip(top_l, top_r, strict=True)]
        + [heading]
        + [f"{a:<{width}}{b}" for a, b in zip(low_l, low_r, strict=True)]
    )
    plain = "\n".join([_across(top_l, top_r), heading, _across(low_l, low_r)])
    out = column_order("\n".join(rows), plain)
    assert out is not None
    assert out.splitlines() == [*top_l, *top_r, heading, *low_l, *low_r]


def test_a_short_text_beside_a_column_is_not_a_second_column():
    # A page of one column with a few margin notes on the right: too little to be a column.
    body = [f"body line {i} of a page set in a single wide column of text" for i in range(20)]
    notes = ["note one", "note two"] + [""] * 18
    layout = "\n".join(f"{b:<66}{n}".rstrip() for b, n in zip(body, notes, strict=True))
    plain = "\n".join(f"{b} {n}".rstrip() for b, n in zip(body, notes, strict=True))
    assert column_order(layout, plain) is None


@pytest.fixture
def limits(tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path, pdf_page_timeout_s=10, pdf_parse_timeout_s=30, pdf_parse_memory_mb=1024
    )


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("across", [True, False], ids=["drawn across", "drawn down"])
def test_a_two_column_pdf_reads_title_then_left_then_right(limits, across):
    pdf = read_pdf(two_column_pdf("Energy in Cells", LEFT, RIGHT, across=across), settings=limits)
    page = _flat(pdf.pages[0])
    assert page.startswith("Energy in Cells")
    assert _flat(LEFT) in page and _flat(RIGHT) in page
    assert page.index(_flat(LEFT)) < page.index(_flat(RIGHT))


def test_a_one_column_pdf_reads_as_before(limits):
    text = "One column of text about lift and drag. " * 30
    pdf = read_pdf(text_pdf([text]), settings=limits)
    assert _flat(pdf.pages[0]) == _flat(text)


def test_a_latex_two_column_paper_keeps_its_column_order(shared_data, limits):
    pdf = read_pdf((shared_data / "pdf-corpus" / "multicolumn.pdf").read_bytes(), settings=limits)
    page = _flat(pdf.pages[0])
    first_left = page.index("This is a sample document with two columns")
    body_left = page.index("Lorem ipsum dolor sit amet, consectetuer adipiscing elit")
    first_right = page.index("Phasellus adipiscing semper elit")
    assert first_left < body_left < first_right


def _run_starts(pdf: bytes) -> tuple[list[tuple[float, float]], float, float]:
    import io

    import pypdf

    from engine.ingestion.pdf_worker import _plain_text

    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    _, starts = _plain_text(page)
    return starts, float(page.mediabox.left), float(page.mediabox.width)


@pytest.mark.parametrize(
    ("pdf", "expected"),
    [
        (lambda: two_column_pdf("Energy in Cells", LEFT, RIGHT, across=True), True),
        (lambda: two_column_pdf("Energy in Cells", LEFT, RIGHT, across=False), False),
        (lambda: text_pdf(["One column of text about lift and drag. " * 40]), False),
    ],
    ids=["drawn across", "drawn down", "one column"],
)
def test_layout_mode_is_asked_for_only_where_columns_are_drawn_across(pdf, expected):
    starts, left, width = _run_starts(pdf())
    assert may_be_drawn_across(starts, page_left=left, page_width=width) is expected


def test_words_starting_anywhere_mid_line_do_not_look_like_a_column_edge():
    # A one-column page whose lines each have an italic word somewhere in the middle.
    starts = []
    for row in range(30):
        y = 800 - row * 14
        starts += [(72, y), (180 + (row * 37) % 250, y), (200 + (row * 37) % 250, y)]
    assert not may_be_drawn_across(starts, page_left=0, page_width=595)
    # The same page drawn across two columns: every row moves forward to x = 310.
    across = [pt for row in range(30) for pt in ((72, 800 - row * 14), (310, 800 - row * 14))]
    assert may_be_drawn_across(across, page_left=0, page_width=595)
