"""No password, key or cookie reaches a log line."""

from __future__ import annotations

import io
import logging

from engine.logging_setup import RedactingFilter, _Formatter, redact


def _emit(message: str, *args: object, **extra: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_Formatter(as_json=False))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("engine.test_logging")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.info(message, *args, extra=extra)
    return stream.getvalue()


def test_inline_secrets_are_masked():
    line = _emit("connecting with password=hunter2hunter2 and api_key: sk-live-123")
    assert "hunter2hunter2" not in line
    assert "sk-live-123" not in line
    assert "password=***" in line


def test_secret_extras_are_masked_and_other_extras_kept():
    line = _emit("login", password="s3cret-pass-word", cookie="eyJhbGciOi", user_id=42)
    assert "s3cret-pass-word" not in line
    assert "eyJhbGciOi" not in line
    assert "user_id=42" in line


def test_url_passwords_are_masked():
    assert redact("postgresql://app:topsecret@db:5432/gw") == "postgresql://app:***@db:5432/gw"


def test_format_args_are_redacted():
    line = _emit("retrying %s", "token=abcdef123456")
    assert "abcdef123456" not in line
