"""server-side sessions, per-address login limits, look-alike-proof email keys

Revision ID: 0005
Revises: 0006
Create Date: 2026-11-23

- auth_sessions: one row per signed-in browser (hash of the random session id in the cookie).
- login_attempts.client_address: throttling per client address beside per email.
- users.email_normalized: recomputed with engine.accounts.emails.normalise_email (NFKC,
  casefold, look-alikes folded), so it is no longer lower(email) and that check goes. When two
  existing accounts fall onto one key, the older keeps it and the newer keeps its old key (both
  can still log in with the exact spelling they used); a warning names them for the operator.
"""

from __future__ import annotations

import logging
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0006"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# A frozen copy of the normalisation at this revision (migrations never import the engine).
_LOOK_ALIKES = str.maketrans({"ı": "i", "ȷ": "j"})
_INVISIBLE = {"Cf", "Cc", "Co", "Cs", "Cn"}


def _normalise(email: str) -> str:
    visible = "".join(c for c in email if unicodedata.category(c) not in _INVISIBLE)
    folded = unicodedata.normalize("NFKC", visible).strip().casefold()
    decomposed = unicodedata.normalize("NFD", folded.translate(_LOOK_ALIKES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare)


def _renormalise_emails() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, email, email_normalized FROM users ORDER BY id"))
    taken: dict[str, int] = {}
    changes: list[tuple[int, str]] = []
    for user_id, email, current in rows:
        key = _normalise(email)
        if key in taken:
            log.warning(
                "accounts %s and %s have look-alike emails; %s keeps its old key %r",
                taken[key],
                user_id,
                user_id,
                re.sub(r"[^\x20-\x7e]", "?", current),
            )
            continue
        taken[key] = user_id
        if key != current:
            changes.append((user_id, key))
    # Two passes so a key freed by one row and taken by another never collides midway.
    for user_id, _ in changes:
        conn.execute(
            sa.text("UPDATE users SET email_normalized = '#' || id WHERE id = :id"), {"id": user_id}
        )
    for user_id, key in changes:
        conn.execute(
            sa.text("UPDATE users SET email_normalized = :key WHERE id = :id"),
            {"id": user_id, "key": key},
        )


def upgrade() -> None:
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_auth_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_sessions_token_hash")),
    )
    op.create_index(op.f("ix_auth_sessions_user_id"), "auth_sessions", ["user_id"], unique=False)
    op.add_column(
        "login_attempts", sa.Column("client_address", sa.String(length=64), nullable=True)
    )
    op.create_index(
        "ix_login_attempts_address_time",
        "login_attempts",
        ["client_address", "attempted_at"],
        unique=False,
    )
    op.drop_constraint(op.f("ck_users_email_normalized_lower"), "users", type_="check")
    _renormalise_emails()


def downgrade() -> None:
    op.execute("UPDATE users SET email_normalized = lower(email)")
    op.create_check_constraint(
        op.f("ck_users_email_normalized_lower"), "users", "email_normalized = lower(email)"
    )
    op.drop_index("ix_login_attempts_address_time", table_name="login_attempts")
    op.drop_column("login_attempts", "client_address")
    op.drop_index(op.f("ix_auth_sessions_user_id"), table_name="auth_sessions")
    op.drop_table("auth_sessions")
