"""text pipeline version on materials, question form

Revision ID: 0009
Revises: 0011
Create Date: 2026-11-23

Existing materials were made by text pipeline version 1; `python -m engine reindex` re-cleans
and re-chunks them with the current version.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "materials", sa.Column("text_version", sa.Integer(), server_default="1", nullable=False)
    )
    op.add_column("questions", sa.Column("form", sa.String(length=20), nullable=True))


def downgrade() -> None:
    op.drop_column("questions", "form")
    op.drop_column("materials", "text_version")
