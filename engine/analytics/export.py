"""CSV exports of a learner's own data: attempts, review states and the question bank.

Each is one query filtered by the learner, written by pandas; nothing of another learner can
appear. Timestamps are ISO 8601 in UTC; JSON columns are written as JSON text; text cells are
neutralised against formula injection (`engine.csv_cells`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import text

from engine.csv_cells import neutralise_frame

if TYPE_CHECKING:
    from engine.runtime import Runtime


ATTEMPT_COLUMNS = [
    "id",
    "question_id",
    "review_number",
    "answered_at",
    "seconds",
    "confidence",
    "response",
    "hinted",
    "correct",
    "score",
    "grader",
    "grade_reason",
    "quality",
    "rating",
    "scheduler",
    "xp",
    "disputed_at",
    "dispute_note",
]
STATE_COLUMNS = [
    "question_id",
    "due_at",
    "suspended",
    "reviews",
    "lapses",
    "first_reviewed_at",
    "last_reviewed_at",
    "sm2_repetitions",
    "sm2_interval_days",
    "sm2_easiness",
    "sm2_due_at",
    "fsrs_state",
    "fsrs_step",
    "fsrs_stability",
    "fsrs_difficulty",
    "fsrs_due_at",
]
QUESTION_COLUMNS = [
    "id",
    "material_id",
    "material_title",
    "page_start",
    "page_end",
    "type",
    "stem",
    "options",
    "correct_index",
    "answer",
    "key_points",
    "explanation",
    "difficulty",
    "topic",
    "status",
    "quality_score",
    "excerpt",
    "generator",
    "model",
    "created_at",
]
JSON_COLUMNS = ("options", "key_points")


def _query(rt: Runtime, table: str, columns: list[str], user_id: int, order: str) -> pd.DataFrame:
    sql = f"SELECT {', '.join(columns)} FROM {table} WHERE user_id = :u ORDER BY {order}"
    with rt.session_factory() as session:
        rows = session.execute(text(sql), {"u": user_id}).all()
    out = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    for col in JSON_COLUMNS:
        if col in out:
            out[col] = [None if v is None else json.dumps(v, ensure_ascii=False) for v in out[col]]
    return out


def attempts_frame(rt: Runtime, *, user_id: int) -> pd.DataFrame:
    return _query(rt, "attempts", ATTEMPT_COLUMNS, user_id, "answered_at, id")


def review_states_frame(rt: Runtime, *, user_id: int) -> pd.DataFrame:
    return _query(rt, "review_states", STATE_COLUMNS, user_id, "question_id")


def questions_frame(rt: Runtime, *, user_id: int) -> pd.DataFrame:
    return _query(rt, "questions", QUESTION_COLUMNS, user_id, "id")


EXPORTS = {
    "attempts": attempts_frame,
    "review_states": review_states_frame,
    "questions": questions_frame,
}


def csv_bytes(rt: Runtime, *, user_id: int, what: str) -> bytes:
    """One of EXPORTS as UTF-8 CSV (KeyError for an unknown name)."""
    frame = EXPORTS[what](rt, user_id=user_id)
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            frame[col] = frame[col].dt.tz_convert("UTC")
    return (
        neutralise_frame(frame)
        .to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S.%f%z")
        .encode("utf-8")
    )
