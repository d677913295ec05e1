"""Outgoing email: the only module that speaks SMTP (smtplib), for invitations and password
reset links.

`send_mail` hands one plain-text message to the configured server and raises `MailNotSent`
when it cannot; `send_later` does the same on a background thread (for "forgot password",
whose answer must not take longer when the address has an account). Neither logs the SMTP
password nor the message body (it holds a link that is a secret).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from functools import lru_cache
from urllib.parse import urlencode

from engine.config import Settings
from engine.errors import MailNotSent

log = logging.getLogger(__name__)

NOT_CONFIGURED = (
    "Email is not set up on this server (GROUNDWORK_SMTP_HOST, GROUNDWORK_SMTP_FROM and "
    "GROUNDWORK_PUBLIC_URL): copy the link instead."
)


def links_by_email(settings: Settings) -> bool:
    """Whether links can be sent by email: an SMTP server and sender, and the public address
    the links start with."""
    return settings.mail.configured and settings.deployment.base_url is not None


def app_link(base_url: str, **params: str) -> str:
    """A link to the app's root page with `params` in its query, e.g. `/?reset=...`."""
    return f"{base_url.rstrip('/')}/?{urlencode(params)}"


def _message(settings: Settings, *, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail.from_address
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    domain = parseaddr(settings.mail.from_address or "")[1].rpartition("@")[2] or None
    msg["Message-ID"] = make_msgid(domain=domain)
    msg.set_content(body)
    return msg


def _connect(settings: Settings) -> smtplib.SMTP:
    m = settings.mail
    assert m.host is not None
    if m.tls == "ssl":
        return smtplib.SMTP_SSL(
            m.host, m.port, timeout=m.timeout_s, context=ssl.create_default_context()
        )
    server = smtplib.SMTP(m.host, m.port, timeout=m.timeout_s)
    try:
        if m.tls == "starttls":
            server.starttls(context=ssl.create_default_context())
    except BaseException:
        server.close()
        raise
    return server


def send_mail(settings: Settings, *, to: str, subject: str, body: str) -> None:
    """Send one plain-text email to `to`.

    Raises:
        MailNotSent: email is not set up, or the server could not be reached, refused the
            connection's security, the sign-in or the message.
    """
    m = settings.mail
    if not links_by_email(settings):
        raise MailNotSent(NOT_CONFIGURED)
    try:
        msg = _message(settings, to=to, subject=subject, body=body)
    except ValueError as e:  # a header with a line break: refused, not sent
        raise MailNotSent(f"No email was sent to {to}: the address is not usable.") from e
    try:
        with _connect(settings) as server:
            if m.username:
                password = m.password.get_secret_value() if m.password else ""
                server.login(m.username, password)
            server.send_message(msg)
    except (smtplib.SMTPException, OSError) as e:
        # The error's class and text name the cause (refused, timed out, no STARTTLS...);
        # neither holds the password, and the message body is not logged.
        log.warning(
            "email not sent: %s: %s",
            type(e).__name__,
            e,
            extra={"smtp_host": m.host, "smtp_port": m.port},
        )
        raise MailNotSent(
            f"The email to {to} could not be sent: the mail server {m.host}:{m.port} {_reason(e)}.",
            detail=type(e).__name__,
        ) from e
    log.info("email sent", extra={"smtp_host": m.host})


def _reason(e: Exception) -> str:
    if isinstance(e, smtplib.SMTPAuthenticationError):
        return "refused the sign-in (check GROUNDWORK_SMTP_USERNAME and _PASSWORD)"
    if isinstance(e, smtplib.SMTPNotSupportedError):
        return "does not offer STARTTLS (set GROUNDWORK_SMTP_TLS to 'ssl' or check the port)"
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return "refused the recipient"
    if isinstance(e, smtplib.SMTPResponseException):
        return f"answered {e.smtp_code}"
    if isinstance(e, TimeoutError):
        return "did not answer in time"
    if isinstance(e, ssl.SSLError):
        return "failed the secure connection"
    if isinstance(e, OSError):
        return "could not be reached"
    return "refused the message"


@lru_cache(maxsize=1)
def _outbox() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix="mail")


_outbox_lock = threading.Lock()


def _log_failure(future: Future[None]) -> None:
    if (e := future.exception()) is not None and not isinstance(e, MailNotSent):
        log.error("email sending failed unexpectedly", exc_info=e)  # MailNotSent logged above


def send_later(settings: Settings, *, to: str, subject: str, body: str) -> Future[None]:
    """`send_mail` on this process's mail thread (messages go one at a time, in order); a
    failure is logged there."""
    with _outbox_lock:
        future = _outbox().submit(send_mail, settings, to=to, subject=subject, body=body)
    future.add_done_callback(_log_failure)
    return future


def wait_for_outbox(timeout_s: float = 30.0) -> None:
    """Wait until every message handed to `send_later` so far was sent or failed (tests,
    and a process about to exit)."""
    with _outbox_lock:
        marker = _outbox().submit(lambda: None)
    marker.result(timeout=timeout_s)
