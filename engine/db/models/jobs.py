"""Background jobs: one progress row per queued job, written by the worker and read by pages.

The queue itself (procrastinate's tables) lives in the `procrastinate` schema, created by the
same Alembic chain; this table is ours: who owns the job, how far it got, and its outcome,
kept until the learner dismisses it.
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
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.base import Base
from engine.domain.vocabulary import JobKind, JobState

JOB_KINDS = tuple(k.value for k in JobKind)
JOB_OUTCOMES = tuple(s.value for s in JobState)


class JobProgress(Base):
    __tablename__ = "job_progress"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    queue_job_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(Text, server_default="")
    stage: Mapped[str] = mapped_column(String(40), server_default="queued")
    done: Mapped[int] = mapped_column(Integer, server_default="0")
    total: Mapped[int] = mapped_column(Integer, server_default="0")
    message: Mapped[str] = mapped_column(Text, server_default="")
    outcome: Mapped[str] = mapped_column(String(20), server_default="queued")
    result: Mapped[dict | None] = mapped_column(JSONB)
    # What the job needs besides its id (a generation's settings, an upload's SHA-256): the
    # queue's own tables hold ids only, and this row goes with the account.
    params: Mapped[dict | None] = mapped_column(JSONB)
    spool_path: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, server_default="false")
    dismissed: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"kind IN {JOB_KINDS}", name="kind_known"),
        CheckConstraint(f"outcome IN {JOB_OUTCOMES}", name="outcome_known"),
        CheckConstraint("done >= 0 AND total >= 0", name="counts_non_negative"),
        Index("ix_job_progress_user_recent", "user_id", "created_at"),
        Index("ix_job_progress_queue_job_id", "queue_job_id", unique=True),
    )
