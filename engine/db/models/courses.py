"""Courses: a teacher's materials and question bank shared with a class, and the anonymous
record of how the class answered each course question (item analysis reads only that).

A published course question is copied into each enrolled learner's own bank (`questions` with
`course_question_id` set), so the learner's schedule, XP and analytics are their own. The
teacher's master question is the row `course_questions.question_id` points at; every change to
it is a new version in `course_question_versions`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text as sql_text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.base import Base

COURSE_QUESTION_STATUSES = ("draft", "published", "retired")
COURSE_QUESTION_CHANGES = ("created", "edited", "distractor", "key")


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    # Learners join with it while joining is open; the teacher can change it.
    join_code: Mapped[str] = mapped_column(String(16))
    joining_open: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        UniqueConstraint("join_code", name="uq_courses_join_code"),
        CheckConstraint("length(btrim(title)) > 0", name="title_present"),
        Index("ix_courses_teacher", "teacher_id"),
    )


class CourseMember(Base):
    """An enrolment. `member_key` is the anonymous name the course's answer record uses; when a
    learner leaves, `user_id` is cleared and `left_at` set, so the course keeps only anonymous
    statistics of their answers (their own questions and history stay in their account)."""

    __tablename__ = "course_members"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    member_key: Mapped[str] = mapped_column(String(32))
    joined_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    left_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("member_key", name="uq_course_members_member_key"),
        # One current enrolment per learner and course.
        Index(
            "uq_course_members_current",
            "course_id",
            "user_id",
            unique=True,
            postgresql_where=sql_text("left_at IS NULL"),
        ),
        Index("ix_course_members_user", "user_id"),
    )


class CourseMaterial(Base):
    """A material (owned by the teacher) shared with a course: read-only for its learners,
    searchable by them and their tutor."""

    __tablename__ = "course_materials"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    material_id: Mapped[int] = mapped_column(
        ForeignKey("materials.id", ondelete="CASCADE"), primary_key=True
    )
    added_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (Index("ix_course_materials_material", "material_id"),)


class CourseQuestion(Base):
    """A question of a course's bank: the teacher's master question, its current version and
    whether learners get it (published) or no longer (retired)."""

    __tablename__ = "course_questions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    status: Mapped[str] = mapped_column(String(10), server_default="draft")
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        UniqueConstraint("question_id", name="uq_course_questions_question_id"),
        CheckConstraint("status IN ('draft','published','retired')", name="status_known"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_course_questions_course_status", "course_id", "status"),
    )


class CourseQuestionVersion(Base):
    """The content of one version of a course question, kept when it changes."""

    __tablename__ = "course_question_versions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    course_question_id: Mapped[int] = mapped_column(
        ForeignKey("course_questions.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str] | None] = mapped_column(JSONB)
    correct_index: Mapped[int | None] = mapped_column(SmallInteger)
    answer: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text, server_default="")
    # created, edited, distractor (one wrong option replaced), key (the correct answer fixed)
    change: Mapped[str] = mapped_column(String(12))
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        UniqueConstraint("course_question_id", "version", name="uq_course_question_versions"),
        CheckConstraint("change IN ('created','edited','distractor','key')", name="change_known"),
    )


class CourseResponse(Base):
    """One answer of an enrolled learner to a course question, anonymous (by membership):
    what item analysis counts. `attempt_id` links the learner's own attempt while they are
    enrolled (a key correction re-grades it) and is cleared when they leave."""

    __tablename__ = "course_responses"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    course_question_id: Mapped[int] = mapped_column(
        ForeignKey("course_questions.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int] = mapped_column(ForeignKey("course_members.id", ondelete="CASCADE"))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id", ondelete="SET NULL"))
    # The member's first answer to this question (difficulty and discrimination count these).
    first_attempt: Mapped[bool] = mapped_column(Boolean)
    # The option chosen (multiple choice), else NULL.
    chosen_index: Mapped[int | None] = mapped_column(SmallInteger)
    correct: Mapped[bool] = mapped_column(Boolean)
    seconds: Mapped[int] = mapped_column(Integer)
    flagged: Mapped[bool] = mapped_column(Boolean, server_default="false")
    answered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_course_responses_question", "course_question_id", "version"),
        Index("ix_course_responses_member", "member_id"),
        Index("ix_course_responses_attempt", "attempt_id"),
    )
