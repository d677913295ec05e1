"""vector index pointer and in-between material states

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-23

`vector_indexes` names the Chroma collection that holds each learner's vectors, so a rebuild
can fill a new collection and switch to it in one commit. Materials gain the states
'indexing' (rows committed, vectors being written) and 'deleting' (vectors being removed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None

_OLD = "status IN ('ready','processing','failed')"
_NEW = "status IN ('ready','processing','failed','indexing','deleting')"


def upgrade() -> None:
    op.create_table(
        "vector_indexes",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("collection", sa.String(length=100), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_vector_indexes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_vector_indexes")),
    )
    op.drop_constraint(op.f("ck_materials_status_known"), "materials", type_="check")
    op.create_check_constraint(op.f("ck_materials_status_known"), "materials", _NEW)


def downgrade() -> None:
    # Materials caught between states cannot be represented before this revision.
    op.execute("UPDATE materials SET status = 'failed' WHERE status IN ('indexing','deleting')")
    op.drop_constraint(op.f("ck_materials_status_known"), "materials", type_="check")
    op.create_check_constraint(op.f("ck_materials_status_known"), "materials", _OLD)
    op.drop_table("vector_indexes")
