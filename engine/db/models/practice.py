"""Practice: each question's scheduling state, every attempt, flags, and personal FSRS parameters.

The due queue reads `review_states` through a partial index on (user_id, due_at) that leaves
out suspended rows (questions flagged or retired), so a learner's due questions are one short
index range scan however many states and attempts the database holds.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
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
from engine.domain.vocabulary import FlagReason, Scheduler

SCHEDULERS = tuple(s.value for s in Scheduler)
FLAG_REASONS = tuple(r.value for r in FlagReason)
FLAG_RESOLUTIONS = ("kept", "retired", "replaced")


class ReviewState(Base):
    """One row per question the learner has answered: both schedulers' state, kept in step, so
    switching scheduler loses nothing; `due_at` is the due time of the scheduler in use."""

    __tablename__ = "review_states"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # True while the question is flagged or retired: out of every queue.
    suspended: Mapped[bool] = mapped_column(Boolean, server_default="false")
    reviews: Mapped[int] = mapped_column(Integer, server_default="0")
    lapses: Mapped[int] = mapped_column(Integer, server_default="0")
    first_reviewed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_reviewed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sm2_repetitions: Mapped[int] = mapped_column(Integer)
    sm2_interval_days: Mapped[int] = mapped_column(Integer)
    sm2_easiness: Mapped[float] = mapped_column(Float)
    sm2_due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    fsrs_state: Mapped[int] = mapped_column(SmallInteger)
    fsrs_step: Mapped[int | None] = mapped_column(SmallInteger)
    fsrs_stability: Mapped[float | None] = mapped_column(Float)
    fsrs_difficulty: Mapped[float | None] = mapped_column(Float)
    fsrs_due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("question_id", name="uq_review_states_question_id"),
        CheckConstraint("reviews >= 0 AND lapses >= 0", name="counts_non_negative"),
        CheckConstraint("sm2_easiness >= 1", name="sm2_easiness_positive"),
        CheckConstraint("fsrs_state IN (1, 2, 3)", name="fsrs_state_known"),
        Index(
            "ix_review_states_due", "user_id", "due_at", postgresql_where=sql_text("NOT suspended")
        ),
        # Every schedule of a learner, suspended ones included (analytics, migration 0008).
        Index("ix_review_states_user", "user_id"),
    )


class Attempt(Base):
    """One answer. `token` is made by the page when the question is shown, so a double click or
    a second tab submits the same token and is recognised; `review_number` is the question's
    review count after this answer, unique per question."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64))
    review_number: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    seconds: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[int] = mapped_column(SmallInteger)
    response: Mapped[str] = mapped_column(Text, server_default="")
    hinted: Mapped[bool] = mapped_column(Boolean, server_default="false")
    correct: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[float] = mapped_column(Float)
    grader: Mapped[str] = mapped_column(String(10))
    grade_reason: Mapped[str] = mapped_column(Text, server_default="")
    quality: Mapped[int] = mapped_column(SmallInteger)
    rating: Mapped[int] = mapped_column(SmallInteger)
    scheduler: Mapped[str] = mapped_column(String(10))
    xp: Mapped[int] = mapped_column(Integer)
    state_before: Mapped[dict | None] = mapped_column(JSONB)
    # When the question's previous answer was saved (NULL for a first answer): the
    # `last_reviewed_at` of `state_before`, as a column so analytics read it from the index.
    previous_answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    state_after: Mapped[dict] = mapped_column(JSONB)
    disputed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    dispute_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("user_id", "token", name="uq_attempts_user_token"),
        UniqueConstraint("question_id", "review_number", name="uq_attempts_question_review"),
        CheckConstraint("seconds BETWEEN 1 AND 3600", name="seconds_range"),
        CheckConstraint("confidence BETWEEN 1 AND 5", name="confidence_range"),
        CheckConstraint("quality BETWEEN 0 AND 5", name="quality_range"),
        CheckConstraint("rating BETWEEN 1 AND 4", name="rating_range"),
        CheckConstraint("score >= 0 AND score <= 1", name="score_range"),
        CheckConstraint("scheduler IN ('sm2','fsrs')", name="scheduler_known"),
        # 'self': a flashcard the learner rated themselves (Again/Hard/Good/Easy), in
        # Groundwork or in Anki before an import.
        CheckConstraint(
            "grader IN ('choice','exact','fuzzy','keypoints','llm','self')", name="grader_known"
        ),
        CheckConstraint("xp >= 0", name="xp_non_negative"),
        # Covering: the analytics aggregates read only the index (migrations 0008, 0013).
        Index(
            "ix_attempts_user_answered",
            "user_id",
            "answered_at",
            postgresql_include=[
                "question_id",
                "review_number",
                "correct",
                "seconds",
                "confidence",
                "rating",
                "xp",
                "previous_answered_at",
            ],
        ),
    )


class Flag(Base):
    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(String(10))

    __table_args__ = (
        CheckConstraint("reason IN ('wrong','unclear','duplicate','other')", name="reason_known"),
        CheckConstraint(
            "resolution IS NULL OR resolution IN ('kept','retired','replaced')",
            name="resolution_known",
        ),
        Index("ix_flags_question", "question_id"),
        Index("ix_flags_user_open", "user_id", postgresql_where=sql_text("resolved_at IS NULL")),
    )


class SchedulerParameters(Base):
    """A learner's personal FSRS-6 parameters and the comparison that decided on them."""

    __tablename__ = "scheduler_parameters"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    parameters: Mapped[list[float]] = mapped_column(JSONB)
    adopted: Mapped[bool] = mapped_column(Boolean)
    n_reviews: Mapped[int] = mapped_column(Integer)
    current_log_loss: Mapped[float | None] = mapped_column(Float)
    candidate_log_loss: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text, server_default="")
    fitted_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class AttemptRollup(Base):
    """The learner's attempts counted per local day (their profile's time zone) in five
    groupings (`kind`): 1 category x true review x right, 2 hour, 3 confidence, 4 time bucket,
    5 question type x rating. Keys a grouping does not use hold -1 / '' / false.

    Written only by PostgreSQL triggers on `attempts` and `profiles` (migrations 0014, 0027),
    in the same transaction as each answer, dispute or deletion (which recounts only the local
    days of the deleted answers); `attempt_rollups_rebuild(user_ids[])` rebuilds any set of
    learners in one statement. Read by the Analytics page."""

    __tablename__ = "attempt_rollups"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    category: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    true_review: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    correct: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    confidence: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    qtype: Mapped[str] = mapped_column(String(10), primary_key=True)
    rating: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    answers: Mapped[int] = mapped_column(Integer)
    right: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[int] = mapped_column(BigInteger)
    xp: Mapped[int] = mapped_column(BigInteger)
