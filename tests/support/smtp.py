"""A local SMTP server for tests (aiosmtpd on 127.0.0.1) that keeps what it receives, and the
settings that send mail to it."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from engine.config import Settings

PUBLIC_URL = "https://groundwork.school.example"
SENDER = "Groundwork <groundwork@school.example>"
_URL = re.compile(r"https://\S+")


@dataclass
class Inbox:
    """Messages the server accepted, in order; `refuse` makes it answer every message with
    that SMTP reply instead (e.g. '554 5.7.1 Rejected')."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: str | None = None
    logins: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd calls it by this name
        if self.refuse:
            return self.refuse
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = (auth_data.login.decode(), auth_data.password.decode())
            self.logins.append(login)
            return AuthResult(success=login == ("groundwork", "smtp-Secret-9f3k"))
        return AuthResult(success=False)


def link_in(message: EmailMessage) -> str:
    """The one link in a message's plain-text body."""
    links = _URL.findall(message.get_content())
    assert len(links) == 1, links
    return links[0]


def token_in(message: EmailMessage, param: str) -> str:
    link = link_in(message)
    assert link.startswith(PUBLIC_URL + "/?"), link
    return parse_qs(urlsplit(link).query)[param][0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server(*, with_login: bool = False) -> Iterator[Inbox]:
    """An SMTP server on 127.0.0.1 for the duration of the block (plain text, no STARTTLS;
    with `with_login`, it offers AUTH and accepts only groundwork / smtp-Secret-9f3k)."""
    inbox = Inbox(port=free_port())
    extra = {"authenticator": inbox.authenticate, "auth_require_tls": False} if with_login else {}
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, **extra)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def mail_settings(settings: Settings, port: int, **more) -> Settings:
    """`settings` sending email to the local server on `port`."""
    return settings.replace(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from=SENDER,
        smtp_tls="none",
        smtp_timeout_s=10,
        public_url=PUBLIC_URL,
        **more,
    )


MAIL_ENV = {
    "GROUNDWORK_SMTP_HOST": "127.0.0.1",
    "GROUNDWORK_SMTP_FROM": SENDER,
    "GROUNDWORK_SMTP_TLS": "none",
    "GROUNDWORK_PUBLIC_URL": PUBLIC_URL,
}
