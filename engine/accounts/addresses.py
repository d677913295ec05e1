"""The browser's network address, as the login and sign-up limits count it."""

from __future__ import annotations

from collections.abc import Mapping

MAX_ADDRESS_LENGTH = 64


def client_address_from(
    headers: Mapping[str, str], peer: str | None, header: str | None
) -> str | None:
    """The last entry of the `header` a trusted proxy sets (the address that proxy saw) when
    `header` is configured and present; otherwise the connection's peer (None on localhost).

    Behind a proxy every browser's peer is the proxy itself, so without the header one
    stranger's failed logins would lock every learner out.
    """
    if header:
        forwarded = headers.get(header)
        if isinstance(forwarded, str) and forwarded.strip():
            return forwarded.split(",")[-1].strip()[:MAX_ADDRESS_LENGTH] or None
    return peer[:MAX_ADDRESS_LENGTH] if isinstance(peer, str) and peer else None
