"""The key that signs the "stay signed in" cookie.

There is no built-in key. `cookie_key` from the settings (environment or
`.streamlit/secrets.toml`) is used when given and must be at least 32 characters; otherwise the
first start generates a random key and keeps it in `<data_dir>/cookie_key` (mode 0600), so every
install signs with its own key and two installs never accept each other's cookies. Deleting the
file signs everyone out at the next start.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from engine.config import Settings
from engine.errors import ConfigurationError

log = logging.getLogger(__name__)

MIN_KEY_LENGTH = 32
KEY_FILE_NAME = "cookie_key"


def key_file(settings: Settings) -> Path:
    return settings.storage.data_dir / KEY_FILE_NAME


def _read(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, 0o600)
        log.warning(
            "cookie key file was readable by others; restricted it to its owner",
            extra={"path": str(path)},
        )
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigurationError(
            f"The cookie key file {path} is damaged (shorter than {MIN_KEY_LENGTH} characters). "
            "Delete it to have a new key generated (everyone will have to log in again)."
        )
    return key


def _create(path: Path) -> str:
    """Write a new key atomically: a half-written file is never seen, and when two processes
    start at once both end up with the key of whichever linked its file first."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_urlsafe(48)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)
    except FileExistsError:
        return _read(path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("generated a new cookie signing key", extra={"path": str(path)})
    return key


def cookie_signing_key(settings: Settings) -> str:
    """The configured key, or this install's own key from the data folder (created if absent).

    Raises:
        ConfigurationError: a configured key that is too short, or a key file that cannot be
            read or written.
    """
    if settings.accounts.cookie_key is not None:
        configured = settings.accounts.cookie_key.get_secret_value()
        if len(configured) < MIN_KEY_LENGTH:
            raise ConfigurationError(
                f"The configured cookie key is shorter than {MIN_KEY_LENGTH} characters. Set "
                "GROUNDWORK_COOKIE_KEY to a long random string (e.g. `openssl rand -hex 32`), "
                "or remove it to use a key generated in the data folder."
            )
        return configured
    path = key_file(settings)
    try:
        return _read(path) if path.exists() else _create(path)
    except OSError as e:
        raise ConfigurationError(
            f"Cannot read or create the cookie key file {path}. Make the data folder writable "
            "or set GROUNDWORK_COOKIE_KEY.",
            detail=type(e).__name__,
        ) from e
