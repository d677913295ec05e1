"""Anki export: an `.apkg` deck of the learner's questions, written with `genanki`.

* Every note's guid is derived from the learner and question ids, so importing a later export
  of the same questions updates those notes instead of adding duplicates.
* Multiple-choice and short-answer questions are "Groundwork Q&A" notes; cloze questions are
  Anki cloze notes (the blank becomes `{{c1::answer}}`). A question with several blanks (the
  list form: `such as _____, _____, and _____` with the answers in order, separated by ';',
  as grading reads them) gets one deletion per blank, `{{c1::..}}, {{c2::..}}, {{c3::..}}`:
  Anki then makes one card per blank, as it does for every cloze note with several deletions.
* The back shows the answer, the explanation, the source excerpt and "title, p. N".
* Tags: one per material (`material::<title>`) and one per topic (`topic::<topic>`).
* genanki writes new cards only: no intervals, due dates or review history are carried.

All text is HTML-escaped: Anki renders fields as HTML and this text comes from PDFs and models.
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import genanki
from sqlalchemy import select

from engine.db.models import Question
from engine.domain.passage import page_range_label
from engine.domain.vocabulary import QuestionStatus, QuestionType
from engine.errors import InvalidInput

if TYPE_CHECKING:
    from engine.runtime import Runtime

# Fixed ids: Anki identifies note types and decks by them, so they must never change.
QA_MODEL_ID = 1_607_392_319
CLOZE_MODEL_ID = 1_607_392_320
DECK_ID_BASE = 1_900_000_000
BLANK = re.compile(r"_{3,}")

_CSS = (
    ".card { font-family: sans-serif; font-size: 20px; text-align: left; }\n"
    ".source { font-size: 14px; color: #555; margin-top: 1em; }\n"
    ".citation { font-size: 14px; font-style: italic; }\n"
)

QA_MODEL = genanki.Model(
    QA_MODEL_ID,
    "Groundwork Q&A",
    fields=[
        {"name": "Question"},
        {"name": "Answer"},
        {"name": "Explanation"},
        {"name": "Source"},
        {"name": "Citation"},
        {"name": "QuestionId"},
    ],
    templates=[
        {
            "name": "Card 1",
            "qfmt": "{{Question}}",
            "afmt": (
                "{{FrontSide}}<hr id=answer>{{Answer}}<div>{{Explanation}}</div>"
                "<div class=source>{{Source}}</div><div class=citation>{{Citation}}</div>"
            ),
        }
    ],
    css=_CSS,
    sort_field_index=0,
)

CLOZE_MODEL = genanki.Model(
    CLOZE_MODEL_ID,
    "Groundwork Cloze",
    fields=[
        {"name": "Text"},
        {"name": "Explanation"},
        {"name": "Source"},
        {"name": "Citation"},
        {"name": "QuestionId"},
    ],
    templates=[
        {
            "name": "Cloze",
            "qfmt": "{{cloze:Text}}",
            "afmt": (
                "{{cloze:Text}}<div>{{Explanation}}</div><div class=source>{{Source}}</div>"
                "<div class=citation>{{Citation}}</div>"
            ),
        }
    ],
    css=_CSS,
    model_type=genanki.Model.CLOZE,
)


@dataclass(frozen=True)
class Selection:
    """Which questions: all (both None), one material, or one topic tag."""

    material_id: int | None = None
    topic: str | None = None


def note_guid(user_id: int, question_id: int) -> str:
    """Stable across exports: the same question always gets the same note."""
    return genanki.guid_for("groundwork", user_id, question_id)


def tag(kind: str, value: str) -> str:
    """An Anki tag (no spaces allowed): `kind::value` with runs of other characters as `_`."""
    slug = re.sub(r"[^\w-]+", "_", value.strip(), flags=re.UNICODE).strip("_") or "untitled"
    return f"{kind}::{slug[:80]}"


def citation(q: Question) -> str:
    return f"{q.material_title}, {page_range_label(q.page_start, q.page_end)}"


def _e(value: str | None) -> str:
    return html.escape(value or "").replace("\n", "<br>")


def cloze_answers(stem: str, answer: str) -> list[str]:
    """The answer of each blank of a cloze stem, in order.

    Several blanks take the ';'-separated answers in order (as grading pairs them); surplus
    answers go to the last blank. One blank (or an answer without ';') takes the whole answer.
    """
    blanks = len(BLANK.findall(stem))
    parts = [p.strip() for p in answer.split(";")]
    if blanks <= 1 or len(parts) == 1:
        return [answer.strip()]
    head, tail = parts[: blanks - 1], parts[blanks - 1 :]
    return [*head, "; ".join(tail)]


def _cloze_text(q: Question) -> str:
    answers = cloze_answers(q.stem, q.answer)
    deletions = iter(f"{{{{c{i}::{_e(a)}}}}}" for i, a in enumerate(answers, start=1))
    stem = _e(q.stem)
    # html.escape leaves underscores alone, so the blanks survive escaping; a blank with no
    # answer left (more blanks than answers) stays as it is.
    if not BLANK.search(stem):
        return f"{stem}<br>{next(deletions)}"
    return BLANK.sub(lambda m: next(deletions, m.group(0)), stem)


def _front(q: Question) -> str:
    if q.type != QuestionType.MCQ or not q.options:
        return _e(q.stem)
    items = "".join(f"<li>{_e(o)}</li>" for o in q.options)
    return f"{_e(q.stem)}<ol type=A>{items}</ol>"


def _answer(q: Question) -> str:
    if q.type == QuestionType.MCQ and q.options and q.correct_index is not None:
        return f"{chr(65 + q.correct_index)}. {_e(q.options[q.correct_index])}"
    return _e(q.answer)


def note_for(q: Question) -> genanki.Note:
    tags = [tag("material", q.material_title)] + ([tag("topic", q.topic)] if q.topic else [])
    common = [_e(q.explanation), _e(q.excerpt), _e(citation(q)), str(q.id)]
    if q.type == QuestionType.CLOZE:
        return genanki.Note(
            model=CLOZE_MODEL,
            fields=[_cloze_text(q), *common],
            tags=tags,
            guid=note_guid(q.user_id, q.id),
        )
    return genanki.Note(
        model=QA_MODEL,
        fields=[_front(q), _answer(q), *common],
        tags=tags,
        guid=note_guid(q.user_id, q.id),
    )


def selected_questions(rt: Runtime, *, user_id: int, selection: Selection) -> list[Question]:
    """The learner's active and flagged questions in the selection (retired ones are left out)."""
    stmt = (
        select(Question)
        .where(Question.user_id == user_id, Question.status != QuestionStatus.RETIRED)
        .order_by(Question.id)
    )
    if selection.material_id is not None:
        stmt = stmt.where(Question.material_id == selection.material_id)
    if selection.topic is not None:
        stmt = stmt.where(Question.topic == selection.topic)
    with rt.session_factory() as session:
        return list(session.scalars(stmt))


def export_apkg(
    rt: Runtime, *, user_id: int, selection: Selection, deck_name: str = "Groundwork"
) -> tuple[bytes, int]:
    """The `.apkg` bytes and how many notes it holds.

    Raises:
        InvalidInput: the selection has no questions.
    """
    questions = selected_questions(rt, user_id=user_id, selection=selection)
    if not questions:
        raise InvalidInput(
            "There are no questions to export in that selection. Choose "
            "another material or topic, or generate questions first."
        )
    deck = genanki.Deck(DECK_ID_BASE + user_id % 100_000_000, deck_name)
    for q in questions:
        deck.add_note(note_for(q))
    buffer = io.BytesIO()
    genanki.Package(deck).write_to_file(buffer)
    return buffer.getvalue(), len(questions)


def topics(rt: Runtime, *, user_id: int) -> list[str]:
    """The learner's topic tags, for the export selection."""
    with rt.session_factory() as session:
        return list(
            session.scalars(
                select(Question.topic)
                .where(
                    Question.user_id == user_id,
                    Question.topic.is_not(None),
                    Question.status != QuestionStatus.RETIRED,
                )
                .distinct()
                .order_by(Question.topic)
            )
        )
