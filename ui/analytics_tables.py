"""Tables on the Analytics page with human column headings instead of the engine's names.

The engine's frames name columns for code (`expected_recalled`, `question_id`); a learner sees
"Expected to recall" and no internal ids. Cells stay plain text (st.dataframe never renders
Markdown), so untrusted stems and titles show as written.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.labels import QUESTION_STATUS_LABELS, QUESTION_TYPE_LABELS, label

COLUMN_LABELS = {
    "material": "Material",
    "questions": "Questions",
    "reviewed": "Reviewed",
    "expected_recalled": "Expected to recall",
    "readiness": "Predicted recall",
    "status": "Status",
    "stem": "Question",
    "page": "Page",
    "quality": "Quality",
    "open_flags": "Open flags",
    "type": "Type",
    "reviews": "Reviews",
    "recall": "Recall now",
    "period": "Period",
    "young": "Young",
    "mature": "Mature",
    "total": "Total",
}
# Internal keys a learner has no use for.
HIDDEN = ("question_id", "material_id")


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with internal ids dropped, coded values in words and columns headed for people."""
    out = frame.drop(columns=[c for c in HIDDEN if c in frame.columns])
    if "type" in out.columns:
        out["type"] = out["type"].map(lambda t: label(QUESTION_TYPE_LABELS, t))
    if "status" in out.columns:
        out["status"] = out["status"].map(lambda s: label(QUESTION_STATUS_LABELS, s))
    return out.rename(columns=COLUMN_LABELS)


def table(frame: pd.DataFrame, *, progress: tuple[str, ...] = ()) -> None:
    """Show `frame` labelled; the engine columns in `progress` (shares 0-1) as bars."""
    config = {
        COLUMN_LABELS[c]: st.column_config.ProgressColumn(
            COLUMN_LABELS[c], min_value=0, max_value=1, format="percent"
        )
        for c in progress
    }
    st.dataframe(labelled(frame), hide_index=True, column_config=config)
