"""pages read by OCR, and how confidently

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

- materials.ocr_pages: 1-based numbers of the pages read by OCR (they count against the
  learner's OCR page allowance).
- materials.ocr_confidence: the mean recognition confidence of those pages (null: none).
- materials.low_confidence_pages: OCR pages read with less confidence than the floor; kept
  searchable, left out of question generation.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "materials",
        sa.Column(
            "ocr_pages",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
    )
    op.add_column("materials", sa.Column("ocr_confidence", sa.Float(), nullable=True))
    op.add_column(
        "materials",
        sa.Column(
            "low_confidence_pages",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("materials", "low_confidence_pages")
    op.drop_column("materials", "ocr_confidence")
    op.drop_column("materials", "ocr_pages")
