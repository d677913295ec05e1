"""page intake: pages each learner added, for the daily page quota

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

One row per stored material (user, pages, when). The daily quota sums a learner's rows of the
last 24 hours; deleting a material leaves its row, so deleting and uploading again does not
refill the quota. Rows go with the account (ON DELETE CASCADE).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "page_intake",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("pages >= 0", name=op.f("ck_page_intake_pages_non_negative")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_page_intake_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_intake")),
    )
    op.create_index("ix_page_intake_user_created", "page_intake", ["user_id", "created_at"])
    # Materials stored before this revision count as added when they were created.
    op.execute(
        "INSERT INTO page_intake (user_id, pages, created_at) "
        "SELECT user_id, page_count, created_at FROM materials"
    )


def downgrade() -> None:
    op.drop_index("ix_page_intake_user_created", table_name="page_intake")
    op.drop_table("page_intake")
