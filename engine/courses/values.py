"""What the course services hand to pages: frozen values, no ORM rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class CourseSummary:
    id: int
    title: str
    join_code: str  # empty for a learner's view: only the teacher hands it out
    joining_open: bool
    members: int  # current learners (0 in a learner's view)
    teacher_name: str
    created_at: dt.datetime


@dataclass(frozen=True)
class CourseMaterialRow:
    material_id: int
    title: str
    pages: int


@dataclass(frozen=True)
class CourseQuestionRow:
    id: int  # the course question's id
    question_id: int  # the teacher's master question
    status: str  # CourseQuestionStatus
    version: int
    type: str
    stem: str
    material_title: str
    page_start: int
    copies: int  # learners' copies currently attached


@dataclass(frozen=True)
class MemberRow:
    """A current learner as the teacher sees them: name and course answers only."""

    display_name: str
    joined_at: dt.datetime
    answers: int  # answers to this course's questions
    correct: int


@dataclass(frozen=True)
class PublishOutcome:
    published: int  # course questions published by this call
    copies: int  # questions added to learners' banks


@dataclass(frozen=True)
class BankChoice:
    """A question of the teacher's own bank that can be added to a course."""

    question_id: int
    stem: str
    material_title: str
