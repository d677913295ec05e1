"""CSV that a spreadsheet opens as data, never as formulas (CSV/formula injection).

Every CSV the app writes goes through `csv_text` (rows of dicts) or `neutralise_frame` (pandas).
Following OWASP ("CSV Injection"), a text cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return gets a leading single quote, so Excel, LibreOffice and Google Sheets show it as
text instead of evaluating it. This covers text from PDFs (titles from metadata, file names),
from learners (answers, notes) and from the model.

Numbers stay numbers: a value of a numeric type (int, float, Decimal, numpy numbers; not bool,
which never starts with those characters anyway) is written as it is, so `-3` in a numeric
column is still -3 for a spreadsheet, and a number cannot carry a formula. The same characters
in a text cell are always neutralised, even when the text looks like a number (an answer
typed as "-3" is written as '-3): a text column may hold anything.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value` as a CSV cell that cannot start a formula (non-text values are unchanged)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Rows as CSV with a header; lists and dicts are written as JSON text; every text cell is
    neutralised (`safe_cell`); keys not in `columns` are left out."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: safe_cell(json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v)
                for k, v in row.items()
            }
        )
    return out.getvalue()


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells are neutralised (numeric columns are untouched)."""
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_datetime64_any_dtype(
            out[col]
        ):
            out[col] = out[col].map(safe_cell)
    return out
