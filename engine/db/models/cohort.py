"""What cohort item analysis keeps beside the course tables: answer counts per course question
version (kept by triggers), the first-answer index it reads, and notices to learners."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    func,
    text as sql_text,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.base import Base
from engine.db.models.courses import CourseResponse

# One first answer per member and question, its columns in the index: item analysis reads the
# course's first answers from the index alone (migration 0032).
Index(
    "uq_course_responses_first",
    CourseResponse.course_question_id,
    CourseResponse.member_id,
    unique=True,
    postgresql_where=sql_text("first_attempt"),
    postgresql_include=["version", "correct", "chosen_index", "seconds"],
)


class CourseItemCount(Base):
    """Answers (reviews included) and flagged answers per course question version: written
    only by PostgreSQL triggers on `course_responses` (migration 0032), in the same
    transaction, so item analysis does not count millions of answers on each page load."""

    __tablename__ = "course_item_counts"

    course_question_id: Mapped[int] = mapped_column(
        ForeignKey("course_questions.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    answers: Mapped[int] = mapped_column(BigInteger)
    flagged: Mapped[int] = mapped_column(BigInteger)


class CourseMemberTotal(Base):
    """A member's first answers to the course's questions and how many were right (for their
    rest scores): written only by the triggers on `course_responses` (migration 0032)."""

    __tablename__ = "course_member_totals"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("course_members.id", ondelete="CASCADE"), primary_key=True
    )
    first_answers: Mapped[int] = mapped_column(Integer)
    first_right: Mapped[int] = mapped_column(Integer)


class LearnerNotice(Base):
    """A message to a learner shown on their Today page until they dismiss it (e.g. a course
    question's key was corrected and their answers re-graded)."""

    __tablename__ = "learner_notices"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "ix_learner_notices_unseen",
            "user_id",
            postgresql_where=sql_text("seen_at IS NULL"),
        ),
    )
