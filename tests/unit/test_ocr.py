"""The pure parts of OCR: which pages need it, the reading order of detected lines (two columns
included), the scripts the model reads, and the model loaded from the wheel without a download."""

from __future__ import annotations

import numpy as np
import pytest

from engine.ingestion.ocr import (
    OcrLine,
    Reader,
    dominant_script,
    mean_confidence,
    needs_ocr,
    reading_order,
    script_supported,
)


def test_pages_without_a_usable_text_layer_need_ocr():
    assert needs_ocr("", usable=False, image_cover=0.0)
    assert needs_ocr("ÿþ junk", usable=False, image_cover=0.0)
    # A page number printed over a full-page scan.
    assert needs_ocr("12", usable=True, image_cover=0.95)
    assert not needs_ocr("A real page of text. " * 20, usable=True, image_cover=0.95)
    assert not needs_ocr("A short note.", usable=True, image_cover=0.1)


def _line(x0, y0, x1, text, confidence=0.99):
    return OcrLine(x0, y0, x1, y0 + 20, text, confidence)


def test_one_column_is_read_top_down_and_left_to_right_in_a_row():
    lines = [
        _line(300, 100, 500, "right part"),
        _line(50, 102, 280, "left part"),
        _line(50, 40, 500, "Title"),
    ]
    assert reading_order(lines, 600).splitlines() == ["Title", "left part right part"]


def test_two_columns_are_read_left_then_right_with_a_full_width_title_first():
    left = [_line(40, 100 + 30 * i, 280, f"left {i}") for i in range(6)]
    right = [_line(320, 100 + 30 * i, 560, f"right {i}") for i in range(6)]
    title = _line(40, 40, 560, "A Title Across Both Columns")
    text = reading_order([*right, title, *left], 600)
    assert text.splitlines() == [
        "A Title Across Both Columns",
        *[f"left {i}" for i in range(6)],
        *[f"right {i}" for i in range(6)],
    ]


def test_confidence_is_weighted_by_length():
    lines = [_line(0, 0, 10, "a" * 90, 1.0), _line(0, 30, 10, "b" * 10, 0.5)]
    assert mean_confidence(lines) == pytest.approx(0.95)
    assert mean_confidence([]) == 0.0


def test_the_models_scripts_are_latin_and_chinese():
    assert dominant_script(["Größere Flügel"]) == "LATIN"
    assert dominant_script(["光合作用"]) == "CJK"
    assert dominant_script(["שלום עולם"]) == "HEBREW"
    assert script_supported("LATIN") and script_supported("CJK") and script_supported(None)
    assert not script_supported("HEBREW") and not script_supported("ARABIC")


def test_the_model_loads_from_the_wheel_without_downloading(monkeypatch):
    from rapidocr.utils import download_file

    def refuse(*args, **kwargs):
        raise AssertionError("OCR tried to download a model")

    monkeypatch.setattr(download_file.DownloadFile, "run", refuse)
    reader = Reader()
    assert reader.read(np.full((200, 400, 3), 255, dtype=np.uint8)) == []


def test_a_paper_with_a_title_block_over_two_columns_is_read_column_by_column():
    # A title, authors and affiliations across the page (13 of 53 lines), then two columns.
    block = [_line(100, 20 + 22 * i, 500, f"header {i}") for i in range(13)]
    left = [_line(40, 320 + 22 * i, 285, f"left {i}") for i in range(20)]
    right = [_line(315, 320 + 22 * i, 560, f"right {i}") for i in range(20)]
    text = reading_order([*block, *right, *left], 600).splitlines()
    assert text == [
        *[f"header {i}" for i in range(13)],
        *[f"left {i}" for i in range(20)],
        *[f"right {i}" for i in range(20)],
    ]


def test_short_lines_of_one_column_are_not_taken_for_two_columns():
    # A list of short items on the left and a few page-wide lines: one column.
    items = [_line(40, 20 + 22 * i, 200, f"item {i}") for i in range(12)]
    wide = [_line(40, 300 + 22 * i, 560, f"wide {i}") for i in range(8)]
    notes = [_line(400, 500 + 22 * i, 560, f"note {i}") for i in range(2)]
    text = reading_order([*items, *wide, *notes], 600).splitlines()
    assert text[:12] == [f"item {i}" for i in range(12)]
    assert text[12:20] == [f"wide {i}" for i in range(8)]


def test_columns_below_a_listing_across_the_middle_are_read_column_by_column():
    # A code listing whose comments cross the middle (14 of 40 lines: over the share a
    # page-wide gutter allows), its caption across the page, then two columns of prose.
    listing = [_line(40, 20 + 22 * i, 160, f"v{i} := ld state") for i in range(14)]
    comments = [_line(130, 20 + 22 * i, 380, f"// comment {i}") for i in range(14)]
    caption = _line(40, 340, 560, "Figure 3. A listing.")
    left = [_line(40, 380 + 22 * i, 285, f"left {i}") for i in range(6)]
    right = [_line(315, 380 + 22 * i, 560, f"right {i}") for i in range(6)]
    text = reading_order([*right, *comments, caption, *left, *listing], 600).splitlines()
    assert text == [
        *[f"v{i} := ld state // comment {i}" for i in range(14)],
        "Figure 3. A listing.",
        *[f"left {i}" for i in range(6)],
        *[f"right {i}" for i in range(6)],
    ]


def test_a_table_of_short_cells_between_wide_lines_is_read_row_by_row():
    wide = [_line(40, 20 + 22 * i, 560, f"wide {i}") for i in range(10)]
    labels = [_line(40, 260 + 22 * i, 120 + 10 * (i % 3), f"label {i}") for i in range(8)]
    values = [_line(330, 260 + 22 * i, 380 + 40 * (i % 4), f"value {i}") for i in range(8)]
    text = reading_order([*values, *labels, *wide], 600).splitlines()
    assert text == [*[f"wide {i}" for i in range(10)], *[f"label {i} value {i}" for i in range(8)]]
