"""CSV import of questions: both layouts, types by column, bad files refused whole, re-import
updates, isolation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.db.models import Question
from engine.interop.csv_import import CsvRefused, import_csv


def bank(rt, uid) -> list[Question]:
    with rt.session_factory() as s:
        return list(
            s.scalars(select(Question).where(Question.user_id == uid).order_by(Question.id))
        )


QUESTIONS = (
    "\ufeffStem,Options,Answer,Explanation,Topic,Ignored\n"
    "Which organelle makes ATP?,Nucleus|Mitochondrion|Ribosome,b,Respiration.,cells,x\n"
    '"Languages such as _____ and _____.",,Python; Ruby,,langs,\n'
    "'=Why is the sky blue?,,Rayleigh scattering,,,\n"
).encode()


def test_question_layout_makes_each_type(runtime, make_user):
    uid = make_user()
    summary = import_csv(runtime, user_id=uid, data=QUESTIONS)
    assert (summary.rows, summary.created, summary.updated) == (3, 3, 0)
    mcq, cloze, short = bank(runtime, uid)
    assert (mcq.type, mcq.options, mcq.correct_index, mcq.answer, mcq.topic) == (
        "mcq",
        ["Nucleus", "Mitochondrion", "Ribosome"],
        1,
        "Mitochondrion",
        "cells",
    )
    assert (cloze.type, cloze.answer) == ("cloze", "Python; Ruby")
    # A cell protected by Groundwork's own CSV export is read back as typed.
    assert (short.type, short.stem, short.generator) == ("short", "=Why is the sky blue?", "csv")


def test_flashcard_layout_and_reimport_updates(runtime, make_user):
    uid = make_user()
    import_csv(runtime, user_id=uid, data=b"front,back\nperro,dog\ngato,cat\n")
    first = bank(runtime, uid)
    assert [(q.form, q.stem, q.answer) for q in first] == [
        ("flashcard", "perro", "dog"),
        ("flashcard", "gato", "cat"),
    ]
    again = import_csv(runtime, user_id=uid, data=b"front,back\nPerro ,hound\n")
    assert (again.created, again.updated) == (0, 1)
    after = bank(runtime, uid)
    assert [q.id for q in after] == [q.id for q in first] and after[0].answer == "hound"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"question,reply\na,b\n", "needs a header"),
        (b"front,back\n", "no rows"),
        (b"\xff\xfe\x00b", "not UTF-8"),
        (
            b"stem,options,answer\nQ1?,a|b,c\nQ2?,,x\n,,y\nQ4?,only,z\n",
            (
                "row 2: the answer is not one of the options.*row 4: stem and answer.*row 5: a "
                "multiple-choice question needs two"
            ),
        ),
    ],
)
def test_bad_files_are_refused_whole(runtime, make_user, data, reason):
    uid = make_user()
    with pytest.raises(CsvRefused, match=reason):
        import_csv(runtime, user_id=uid, data=data)
    assert bank(runtime, uid) == []


def test_learners_are_isolated(runtime, make_user):
    me, other = make_user(), make_user()
    import_csv(runtime, user_id=other, data=b"front,back\nperro,theirs\n")
    summary = import_csv(runtime, user_id=me, data=b"front,back\nperro,mine\n")
    assert (summary.created, summary.updated) == (1, 0)
    assert [q.answer for q in bank(runtime, other)] == ["theirs"]
    assert [q.answer for q in bank(runtime, me)] == ["mine"]
