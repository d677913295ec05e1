"""Device cookies: the browser its owner signed in from stays usable while strangers hammer
the email (OWASP "Slow down online guessing attacks with device cookies").

After a successful sign-in the browser receives a signed token naming one email and a random
device id. A later login on that email presenting the token is counted against that device
only: it is not refused by the email's lock (which then covers untrusted browsers) nor by its
client address's lock, and it has its own lock after the same number of failures. The token
grants no access on its own, and is worth nothing for any other email.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import jwt

from engine.accounts.emails import normalise_email
from engine.config import Settings

_ALGORITHM = "HS256"
_TYPE = "device"
_MAX_TOKEN_LENGTH = 4096


def device_cookie_name(settings: Settings) -> str:
    """The device cookie's name (beside the session cookie's)."""
    return f"{settings.accounts.cookie_name}_device"


def issue_device_token(
    email: str, key: str, *, settings: Settings, now: dt.datetime | None = None
) -> str:
    """A new device token for `email`, signed with the install's cookie key."""
    if len(key) < 32:
        raise ValueError("cookie signing key too short")
    now = now or dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(days=settings.accounts.device_cookie_days)
    return jwt.encode(
        {
            "typ": _TYPE,
            "dev": secrets.token_urlsafe(24),
            "sub": normalise_email(email),
            "exp": int(expires.timestamp()),
        },
        key,
        algorithm=_ALGORITHM,
    )


def device_hash(token: str | None, email: str, key: str) -> str | None:
    """SHA-256 of the device id when `token` is a valid, unexpired device token for `email`
    (any spelling of it), else None."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    try:
        claims = jwt.decode(
            token, key, algorithms=[_ALGORITHM], options={"require": ["typ", "dev", "sub", "exp"]}
        )
    except jwt.PyJWTError:
        return None
    device = claims.get("dev")
    if (
        claims.get("typ") != _TYPE
        or not isinstance(device, str)
        or not device
        or claims.get("sub") != normalise_email(email)
    ):
        return None
    return hashlib.sha256(device.encode("utf-8")).hexdigest()
