"""Questions in a learner's bank and the versioned prompt templates that generate them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
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
from engine.domain.vocabulary import QuestionType

QUESTION_TYPES = tuple(t.value for t in QuestionType)
QUESTION_STATUSES = ("active", "flagged", "retired")


class PromptTemplate(Base):
    __tablename__ = "prompt_templates"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_prompt_templates_name_version"),
        # At most one active version per template name.
        Index(
            "uq_prompt_templates_active_name",
            "name",
            unique=True,
            postgresql_where=sql_text("active"),
        ),
    )


class Question(Base):
    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Kept nullable: a question outlives its material and keeps its excerpt/page/title.
    material_id: Mapped[int | None] = mapped_column(ForeignKey("materials.id", ondelete="SET NULL"))
    source_chunk_id: Mapped[int | None] = mapped_column(
        ForeignKey("chunks.id", ondelete="SET NULL")
    )
    chunk_ids: Mapped[list[int]] = mapped_column(JSONB, server_default="[]")
    type: Mapped[str] = mapped_column(String(10))
    # The exercise within the type: 'term', 'definition', 'statement', 'list' (None: plain).
    form: Mapped[str | None] = mapped_column(String(20))
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str] | None] = mapped_column(JSONB)
    correct_index: Mapped[int | None] = mapped_column(SmallInteger)
    answer: Mapped[str] = mapped_column(Text)
    key_points: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    explanation: Mapped[str] = mapped_column(Text, server_default="")
    difficulty: Mapped[int] = mapped_column(SmallInteger, server_default="3")
    topic: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), server_default="active")
    quality_score: Mapped[float | None] = mapped_column(Float)
    # Provenance that survives deletion of the material.
    excerpt: Mapped[str] = mapped_column(Text)
    page_start: Mapped[int] = mapped_column(Integer)
    page_end: Mapped[int] = mapped_column(Integer)
    material_title: Mapped[str] = mapped_column(String(300))
    # What made it.
    # 'llm', 'offline'; imported: 'anki', 'csv'
    generator: Mapped[str] = mapped_column(String(10))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(120))
    tokens_in: Mapped[int | None] = mapped_column(Integer)
    tokens_out: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    # Where an imported question came from ('anki:<note guid>:<card ord>'): a re-import
    # updates the question instead of adding it again.
    external_key: Mapped[str | None] = mapped_column(String(160))
    replaces_question_id: Mapped[int | None] = mapped_column(
        ForeignKey("questions.id", ondelete="SET NULL")
    )
    # A learner's copy of a published course question, and the version it shows.
    course_question_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_questions.id", ondelete="SET NULL", use_alter=True)
    )
    course_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        CheckConstraint("type IN ('mcq','cloze','short')", name="type_known"),
        CheckConstraint("status IN ('active','flagged','retired')", name="status_known"),
        CheckConstraint("difficulty BETWEEN 1 AND 5", name="difficulty_range"),
        CheckConstraint(
            "quality_score IS NULL OR (quality_score >= 0 AND quality_score <= 1)",
            name="quality_score_range",
        ),
        CheckConstraint(
            "type <> 'mcq' OR (options IS NOT NULL AND correct_index IS NOT NULL"
            " AND correct_index >= 0 AND correct_index < jsonb_array_length(options))",
            name="mcq_correct_index_in_options",
        ),
        CheckConstraint("generator IN ('llm','offline','anki','csv')", name="generator_known"),
        CheckConstraint(
            "length(btrim(stem)) > 0 AND length(btrim(excerpt)) > 0", name="text_present"
        ),
        CheckConstraint("page_start >= 1 AND page_end >= page_start", name="pages_ordered"),
        Index("ix_questions_user_material", "user_id", "material_id"),
        Index("ix_questions_user_topic", "user_id", "topic"),
        Index("ix_questions_user_status", "user_id", "status"),
        # Deleting a question sets `replaces_question_id` to NULL where it pointed at it: found
        # through this index, not by reading every question (migration 0027).
        Index(
            "ix_questions_replaces_question_id",
            "replaces_question_id",
            postgresql_where=sql_text("replaces_question_id IS NOT NULL"),
        ),
        Index(
            "ix_questions_course_question",
            "course_question_id",
            postgresql_where=sql_text("course_question_id IS NOT NULL"),
        ),
        Index(
            "uq_questions_user_external_key",
            "user_id",
            "external_key",
            unique=True,
            postgresql_where=sql_text("external_key IS NOT NULL"),
        ),
    )


IMAGE_MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
IMAGE_SIDES = ("question", "answer")


class QuestionImage(Base):
    """An image shown with a question (imported from an Anki note): checked to be a real PNG,
    JPEG, GIF or WebP before it is stored (engine.interop.anki_media); shown from its bytes,
    never through the note's HTML. It goes with its question and with the account."""

    __tablename__ = "question_images"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    side: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(SmallInteger)
    media_type: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint(f"side IN {IMAGE_SIDES}", name="side_known"),
        CheckConstraint(f"media_type IN {IMAGE_MEDIA_TYPES}", name="media_type_known"),
        Index("ix_question_images_user_question", "user_id", "question_id"),
    )


class QuestionTag(Base):
    """A tag of a question (imported from its Anki note), hierarchical tags kept as their
    path ("Lang::Spanish"). The bank filters on (learner, tag): the "C" collation lets the
    same index serve a tag and its descendants (`LIKE 'Lang::%'`). It goes with its question
    and with the account."""

    __tablename__ = "question_tags"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(200, collation="C"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    __table_args__ = (Index("ix_question_tags_user_tag", "user_id", "tag"),)


class RejectedQuestion(Base):
    """A generated question the learner rejected on the Generate page: generation (and so
    Quiz me in the tutor) never offers it again. Keyed like the bank's deduplication."""

    __tablename__ = "rejected_questions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    material_id: Mapped[int | None] = mapped_column(ForeignKey("materials.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(Text)
    # The normalised source sentence: offline, it is not asked about again either.
    excerpt: Mapped[str] = mapped_column(Text)
    stem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key", name="uq_rejected_questions_user_key"),
    )


class LLMUsage(Base):
    """One row per model call (generation, grading, tutor; generation offline too): what it
    cost and how it ended; or a reservation for a call being made (outcome 'reserved', see
    engine/usage/).

    Also the ledger the limits count from. Deleting an account keeps its rows of the last
    day without the account (`user_id` NULL): `account_key` (a keyed hash of the email) and
    `address_key` (of the client address) still count them, so signing up again does not
    refill the limits.
    """

    __tablename__ = "llm_usage"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # HMAC-SHA256 (server key) of the learner's normalised email and of the client address
    # the learner signed in from (engine/usage/); never the email or address itself.
    account_key: Mapped[str | None] = mapped_column(String(64))
    address_key: Mapped[str | None] = mapped_column(String(64))
    # All calls made for one learner request share it.
    request_id: Mapped[str] = mapped_column(String(36))
    task: Mapped[str] = mapped_column(String(20))
    generator: Mapped[str] = mapped_column(String(10))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(120))
    tokens_in: Mapped[int] = mapped_column(Integer, server_default="0")
    tokens_out: Mapped[int] = mapped_column(Integer, server_default="0")
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), server_default="0")
    latency_ms: Mapped[int] = mapped_column(Integer, server_default="0")
    # reserved, ok, cached, malformed, auth_failed, rate_limited, unavailable, invalid
    outcome: Mapped[str] = mapped_column(String(20))
    questions_returned: Mapped[int] = mapped_column(Integer, server_default="0")
    # While reserved: the units held (generation: questions asked for) and when the
    # reservation lapses if its process never settles it.
    units: Mapped[int] = mapped_column(Integer, server_default="0")
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint("generator IN ('llm','offline')", name="generator_known"),
        CheckConstraint("task IN ('generation','grading','tutor','embedding')", name="task_known"),
        CheckConstraint(
            "outcome <> 'reserved' OR expires_at IS NOT NULL", name="reservation_expires"
        ),
        CheckConstraint(
            "tokens_in >= 0 AND tokens_out >= 0 AND cost_usd >= 0 AND latency_ms >= 0"
            " AND questions_returned >= 0 AND units >= 0",
            name="amounts_non_negative",
        ),
        Index("ix_llm_usage_user_created", "user_id", "created_at"),
        Index("ix_llm_usage_created", "created_at"),  # server-wide limits, the admin console
        Index("ix_llm_usage_account_created", "account_key", "created_at"),
        Index("ix_llm_usage_address_created", "address_key", "created_at"),
        # The calls in flight everywhere (the system-wide cap counts them).
        Index(
            "ix_llm_usage_reserved", "expires_at", postgresql_where=sql_text("outcome = 'reserved'")
        ),
    )


class LLMCache(Base):
    """Model answers keyed by (learner, prompt version, model, context hash, parameters), so an
    identical request costs no second call."""

    __tablename__ = "llm_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(200))
    prompt_version: Mapped[str] = mapped_column(String(120))
    response_text: Mapped[str] = mapped_column(Text)
    tokens_in: Mapped[int] = mapped_column(Integer, server_default="0")
    tokens_out: Mapped[int] = mapped_column(Integer, server_default="0")
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6), server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (Index("ix_llm_cache_user_created", "user_id", "created_at"),)
