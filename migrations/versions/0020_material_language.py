"""library: the language of each material and page

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

`materials.language` is the main language of a material's text and `material_pages.language`
each page's (ISO 639-1 codes; 'und' when too little text to tell), detected at ingestion by
`engine.domain.language`. The offline generator splits sentences, drops function words, picks
key terms and stems by it, and makes no questions from a language it cannot handle. Existing
rows stay NULL ("not detected yet"): the generator detects their language from their pages
when it first needs it and stores it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("materials", sa.Column("language", sa.String(8), nullable=True))
    op.add_column("material_pages", sa.Column("language", sa.String(8), nullable=True))


def downgrade() -> None:
    op.drop_column("material_pages", "language")
    op.drop_column("materials", "language")
