"""Tutor conversations and their messages (with the citations of each answer)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
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

MESSAGE_ROLES = ("user", "assistant")
MESSAGE_STATUSES = ("complete", "failed")
# How an assistant message was made: a grounded model answer, the offline extractive answer,
# a refusal (no model call), a general-knowledge answer, or a quiz preview.
MESSAGE_KINDS = ("question", "answer", "offline", "refusal", "general", "quiz")
TUTOR_MODES = ("explain", "socratic", "quiz")


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    # The learner's materials this conversation is limited to; NULL = all of them.
    material_ids: Mapped[list[int] | None] = mapped_column(JSONB)
    mode: Mapped[str] = mapped_column(String(10), server_default="explain")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint("mode IN ('explain','socratic','quiz')", name="mode_known"),
        CheckConstraint("length(btrim(title)) > 0", name="title_present"),
        Index("ix_conversations_user_updated", "user_id", "updated_at"),
    )


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(10), server_default="explain")
    content: Mapped[str] = mapped_column(Text)
    # [{"n": 1, "chunk_id": .., "material_id": .., "title": .., "page_start": .., "page_end": ..,
    #   "text": ..}] for the passages an answer cites (and, for a refusal, the closest ones).
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    # [{"text": .., "refs": [1], "added": false}] per sentence of an answer, after validation.
    sentences: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    # Share of the answer's sentences that carry a citation (NULL for learner messages).
    cited_share: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10), server_default="complete")
    # The standalone query retrieval used for this turn (after rewriting a follow-up).
    search_query: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(120))
    tokens_in: Mapped[int] = mapped_column(Integer, server_default="0")
    tokens_out: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint("role IN ('user','assistant')", name="role_known"),
        CheckConstraint("status IN ('complete','failed')", name="status_known"),
        CheckConstraint(
            "kind IN ('question','answer','offline','refusal','general','quiz')",
            name="kind_known",
        ),
        CheckConstraint("mode IN ('explain','socratic','quiz')", name="mode_known"),
        CheckConstraint(
            "cited_share IS NULL OR (cited_share >= 0 AND cited_share <= 1)",
            name="cited_share_range",
        ),
        Index("ix_messages_conversation_id", "conversation_id", "id"),
        Index("ix_messages_user", "user_id"),
    )
