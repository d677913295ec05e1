"""Outgoing email settings (the `smtp_` group of `engine.config`)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from engine.config_groups import _Group, _prefixed


class MailSettings(_Group):
    """Outgoing email (engine/mail.py): invitations and password reset links. Unset host: no
    email is sent and the admin console shows links to copy."""

    model_config = _prefixed("smtp_")

    host: str | None = Field(None, description="The SMTP server, e.g. smtp.school.example.")
    port: int = Field(587, ge=1, le=65535, description="587 for STARTTLS, 465 for SSL.")
    username: str | None = Field(None, description="Sign-in name at the SMTP server, if any.")
    password: SecretStr | None = Field(None, description="Its password (never logged).")
    from_address: str | None = Field(
        None,
        alias="smtp_from",
        description="The sender, e.g. 'Groundwork <groundwork@school.example>'.",
    )
    tls: str = Field(
        "starttls",
        pattern="^(starttls|ssl|none)$",
        description="'starttls' (upgrade the connection; refuse to send if the server cannot), "
        "'ssl' (TLS from the start) or 'none' (plain text: a server on the same host only).",
    )
    timeout_s: float = Field(10.0, gt=0, description="Connecting and each SMTP command.")

    @property
    def configured(self) -> bool:
        """Whether email can be sent (a host and a sender are set)."""
        return bool(self.host and self.from_address)
