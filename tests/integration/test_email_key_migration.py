"""Migration 0005 recomputes existing accounts' email keys with the look-alike-proof
normalisation, keeps both accounts of a colliding pair able to log in, and downgrades."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text

from engine.accounts import normalise_email
from engine.db.migrate import alembic_config


def _keys(url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT email, email_normalized FROM users")).all())
    finally:
        engine.dispose()


def test_existing_email_keys_are_normalised(database_factory):
    url = database_factory.create_empty()
    cfg = alembic_config(url)
    try:
        command.upgrade(cfg, "0004")
        engine = create_engine(url)
        with engine.begin() as conn:
            for email in [
                "ｂｏｂ@example.com",
                "admin@example.com",
                "admın@example.com",
                "plain@example.com",
            ]:
                conn.execute(
                    text(
                        "INSERT INTO users (email, email_normalized, password_hash, display_name) "
                        "VALUES (CAST(:e AS text), lower(CAST(:e AS text)), '$2b$12$x', 'x')"
                    ),
                    {"e": email},
                )
        engine.dispose()

        command.upgrade(cfg, "0005")
        keys = _keys(url)
        assert (
            keys["ｂｏｂ@example.com"] == "bob@example.com" == normalise_email("ｂｏｂ@example.com")
        )
        assert keys["admin@example.com"] == "admin@example.com"
        assert keys["admın@example.com"] == "admın@example.com"  # the newer of a look-alike pair
        assert keys["plain@example.com"] == "plain@example.com"

        command.downgrade(cfg, "0004")
        assert _keys(url)["ｂｏｂ@example.com"] == "ｂｏｂ@example.com"
    finally:
        database_factory.drop(url)
