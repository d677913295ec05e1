"""The named values the code uses are exactly the values the database accepts."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import CheckConstraint

from engine.db.models.accounts import Profile
from engine.db.models.jobs import JobProgress
from engine.db.models.library import Material
from engine.db.models.practice import Flag
from engine.db.models.questions import Question
from engine.db.models.tutor import Conversation
from engine.domain.vocabulary import (
    FlagReason,
    Generator,
    JobKind,
    JobState,
    MaterialStatus,
    QuestionStatus,
    QuestionType,
    Scheduler,
    TutorMode,
)


def _allowed(model: type, name: str) -> set[str]:
    for c in model.__table__.constraints:
        if isinstance(c, CheckConstraint) and str(c.name).endswith(f"_{name}"):
            inside = re.search(r"IN\s*\(([^)]*)\)", str(c.sqltext)).group(1)
            return {v.strip().strip("'") for v in inside.split(",")}
    raise AssertionError(f"{model.__name__} has no constraint {name}")


@pytest.mark.parametrize(
    ("enum", "model", "constraint"),
    [
        (QuestionStatus, Question, "status_known"),
        (QuestionType, Question, "type_known"),
        (Generator, Question, "generator_known"),
        (Scheduler, Profile, "scheduler_known"),
        (FlagReason, Flag, "reason_known"),
        (JobKind, JobProgress, "kind_known"),
        (JobState, JobProgress, "outcome_known"),
        (TutorMode, Conversation, "mode_known"),
        (MaterialStatus, Material, "status_known"),
    ],
)
def test_each_enum_lists_exactly_the_values_its_column_accepts(enum, model, constraint):
    assert {m.value for m in enum} == _allowed(model, constraint)


def test_members_compare_equal_to_the_stored_strings():
    assert QuestionStatus.ACTIVE == "active"
    assert f"{Scheduler.FSRS}" == "fsrs"
