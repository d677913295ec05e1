"""Importing questions from a CSV file (a spreadsheet, or another tool's export).

Two layouts, told by the header (case and spacing do not matter; other columns are ignored):

* `front, back`: self-rated flashcards (form 'flashcard').
* `stem, answer` with optional `options`: multiple choice when `options` holds two or more
  choices separated by `|` (the answer is one of them, or its letter A, B, ...); otherwise a
  cloze question when the stem has a blank `_____` (several blanks: answers separated by
  ';'), else a short answer.

Optional in both: `explanation`, `topic`. Every row is checked first; a file with any bad row
is refused, naming the first few, and nothing is imported. A cell that Groundwork's own CSV
export protected from spreadsheets (a leading `'` before `= + - @`) is read back without it.
Each question is keyed by its text (`csv:<hash of stem>`), so importing the same file again
updates those questions instead of adding them twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from engine.csv_cells import FORMULA_STARTS
from engine.db.models import Question
from engine.domain.vocabulary import FLASHCARD_FORM, Generator
from engine.errors import InvalidInput

if TYPE_CHECKING:
    from engine.runtime import Runtime

MAX_ROWS = 10_000
MAX_CELL = 20_000
BLANK = re.compile(r"_{5,}")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SOURCE = "CSV import"


class CsvRefused(InvalidInput):
    """A CSV file that cannot be imported; the message says why."""


@dataclass(frozen=True)
class CsvQuestion:
    key: str
    type: str
    form: str | None
    stem: str
    options: list[str] | None
    correct_index: int | None
    answer: str
    explanation: str
    topic: str | None


@dataclass(frozen=True)
class CsvSummary:
    rows: int
    created: int
    updated: int


def _cell(value: str | None) -> str:
    text = CONTROL.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()
    if text[:1] == "'" and text[1:2] and text[1:2] in "".join(FORMULA_STARTS):
        text = text[1:]
    return text[:MAX_CELL]


def parse_csv(data: bytes, *, max_bytes: int) -> list[CsvQuestion]:
    """The questions in a CSV file.

    Raises:
        CsvRefused: not readable as UTF-8 CSV, an unknown layout, too many rows, or bad rows.
    """
    if len(data) > max_bytes:
        raise CsvRefused(f"This CSV file is over {max_bytes / 1e6:.0f} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CsvRefused("This file is not UTF-8 text; save the CSV as UTF-8 and try again.") from e
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
        if {"front", "back"} <= set(header):
            layout = "flashcard"
        elif {"stem", "answer"} <= set(header):
            layout = "question"
        else:
            raise CsvRefused(
                "The CSV needs a header with the columns front, back (flashcards) "
                "or stem, answer (optional: options separated by |); "
                "explanation and topic are optional in both."
            )
        rows: list[dict[str, str]] = []
        for row in reader:
            if len(rows) >= MAX_ROWS:
                raise CsvRefused(f"The CSV has more than {MAX_ROWS:,} rows; split it.")
            rows.append({k: _cell(row.get(original)) for k, original in header.items()})
    except csv.Error as e:
        raise CsvRefused(f"The CSV file cannot be read: {e}.") from e
    if not rows:
        raise CsvRefused("The CSV has a header but no rows.")
    questions, problems = [], []
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        try:
            questions.append(_question(row, layout))
        except ValueError as e:
            problems.append(f"row {number}: {e}")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise CsvRefused("Nothing was imported: " + "; ".join(problems[:3]) + more + ".")
    return questions


def _question(row: dict[str, str], layout: str) -> CsvQuestion:
    explanation, topic = row.get("explanation", ""), row.get("topic", "")[:200] or None
    if layout == "flashcard":
        front, back = row["front"], row["back"]
        if not front or not back:
            raise ValueError("front and back are both needed")
        return CsvQuestion(
            _key(front), "short", FLASHCARD_FORM, front, None, None, back, explanation, topic
        )
    stem, answer = row["stem"], row["answer"]
    if not stem or not answer:
        raise ValueError("stem and answer are both needed")
    options = [o.strip() for o in row.get("options", "").split("|") if o.strip()]
    if len(options) >= 2:
        index = _choice(options, answer)
        return CsvQuestion(
            _key(stem), "mcq", None, stem, options, index, options[index], explanation, topic
        )
    if options:
        raise ValueError("a multiple-choice question needs two or more options")
    kind = "cloze" if BLANK.search(stem) else "short"
    return CsvQuestion(_key(stem), kind, None, stem, None, None, answer, explanation, topic)


def _choice(options: list[str], answer: str) -> int:
    folded = [o.casefold() for o in options]
    if answer.casefold() in folded:
        return folded.index(answer.casefold())
    if len(answer) == 1 and "A" <= answer.upper() < chr(65 + len(options)):
        return ord(answer.upper()) - 65
    raise ValueError("the answer is not one of the options (give its text or its letter)")


def _key(stem: str) -> str:
    return "csv:" + hashlib.sha256(" ".join(stem.split()).casefold().encode()).hexdigest()[:40]


def import_csv(rt: Runtime, *, user_id: int, data: bytes) -> CsvSummary:
    """Import the questions of a CSV file into the learner's bank, in one transaction.

    Raises:
        CsvRefused (an InvalidInput): the file cannot be imported; nothing was.
    """
    questions = parse_csv(data, max_bytes=rt.settings.ingestion.upload_max_mb * 1_000_000)
    by_key = {q.key: q for q in questions}  # a stem twice: the later row wins
    with rt.session_factory.begin() as session:
        existing = {
            key: qid
            for key, qid in session.execute(
                select(Question.external_key, Question.id).where(
                    Question.user_id == user_id, Question.external_key.in_(list(by_key))
                )
            )
            if key is not None  # the query matched set keys only
        }
        for key, qid in existing.items():
            session.execute(
                update(Question).where(Question.id == qid).values(**_values(by_key[key]))
            )
        fresh = [
            {
                "user_id": user_id,
                "external_key": q.key,
                "page_start": 1,
                "page_end": 1,
                "generator": Generator.CSV,
                "key_points": [],
                "difficulty": 3,
                **_values(q),
            }
            for key, q in by_key.items()
            if key not in existing
        ]
        if fresh:
            session.execute(insert(Question), fresh)
    return CsvSummary(rows=len(questions), created=len(fresh), updated=len(existing))


def _values(q: CsvQuestion) -> dict[str, Any]:
    return {
        "type": q.type,
        "form": q.form,
        "stem": q.stem,
        "options": q.options,
        "correct_index": q.correct_index,
        "answer": q.answer,
        "explanation": q.explanation,
        "topic": q.topic,
        "excerpt": f"Imported from a CSV file ({SOURCE}).",
        "material_title": SOURCE,
    }
