"""Materials (uploaded PDFs) and their chunks: the source of truth that vectors point back to."""

from __future__ import annotations

import datetime as dt

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
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.base import Base


class Material(Base):
    __tablename__ = "materials"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    page_count: Mapped[int] = mapped_column(Integer)
    chunk_count: Mapped[int] = mapped_column(Integer, server_default="0")
    status: Mapped[str] = mapped_column(String(20), server_default="ready")
    # 1-based page numbers that had no extractable text.
    pages_without_text: Mapped[list[int]] = mapped_column(JSONB, server_default="[]")
    note: Mapped[str | None] = mapped_column(Text)
    embedding_model: Mapped[str | None] = mapped_column(String(200))
    # The text-cleaning pipeline version its pages and chunks were made with (see
    # engine.ingestion.cleaning.TEXT_PIPELINE_VERSION); older ones are re-cleaned by reindex.
    text_version: Mapped[int] = mapped_column(Integer, server_default="1")
    # The main language of its text (ISO 639-1, 'und' when it cannot be told; NULL: not
    # detected yet, stored before languages were). See engine.domain.language.
    language: Mapped[str | None] = mapped_column(String(8))
    # 1-based numbers of the pages read by OCR, their mean recognition confidence, and those
    # read with less than the floor (searchable, but left out of question generation).
    ocr_pages: Mapped[list[int]] = mapped_column(JSONB, server_default="[]")
    ocr_confidence: Mapped[float | None] = mapped_column(Float)
    low_confidence_pages: Mapped[list[int]] = mapped_column(JSONB, server_default="[]")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        UniqueConstraint("user_id", "sha256", name="uq_materials_user_sha256"),
        # 'indexing': rows committed, vectors being written; 'deleting': vectors being removed.
        # Neither is listed or searched; `python -m engine check --repair` finishes either.
        CheckConstraint(
            "status IN ('ready','processing','failed','indexing','deleting')", name="status_known"
        ),
        CheckConstraint("page_count >= 0 AND chunk_count >= 0", name="counts_non_negative"),
    )


class Chunk(Base):
    __tablename__ = "chunks"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    page_start: Mapped[int] = mapped_column(Integer)
    page_end: Mapped[int] = mapped_column(Integer)
    char_start: Mapped[int] = mapped_column(Integer)
    char_end: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str | None] = mapped_column(Text)
    token_count: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    # The terms the lexical ranking indexes (space-separated), computed once at ingestion.
    lexical: Mapped[str] = mapped_column(Text, server_default="")

    __table_args__ = (
        UniqueConstraint("material_id", "ordinal", name="uq_chunks_material_ordinal"),
        Index("ix_chunks_user_material", "user_id", "material_id"),
        CheckConstraint("page_start >= 1 AND page_end >= page_start", name="pages_ordered"),
        CheckConstraint("char_start >= 0 AND char_end >= char_start", name="chars_ordered"),
    )


class MaterialPage(Base):
    """The text of each page as read, for preview and for re-chunking without the PDF."""

    __tablename__ = "material_pages"

    material_id: Mapped[int] = mapped_column(
        ForeignKey("materials.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1-based
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    # Where this page starts in the material's text (pages joined by a blank line); chunk
    # character offsets are relative to that text.
    char_start: Mapped[int] = mapped_column(Integer)
    # The page's language where it differs from the material's (else the same code).
    language: Mapped[str | None] = mapped_column(String(8))

    __table_args__ = (CheckConstraint("number >= 1", name="number_positive"),)


class VectorIndex(Base):
    """Which Chroma collection holds a learner's vectors now.

    A rebuild fills a collection under a new name and then switches this pointer in one commit,
    so the vectors in use are always a complete set. No row: the original name `gw_user_<id>`.
    """

    __tablename__ = "vector_indexes"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    collection: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class PageIntake(Base):
    """Pages a learner added, one row per stored material: the daily page quota counts these
    (deleting the material does not give the pages back)."""

    __tablename__ = "page_intake"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    pages: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        Index("ix_page_intake_user_created", "user_id", "created_at"),
        CheckConstraint("pages >= 0", name="pages_non_negative"),
    )
