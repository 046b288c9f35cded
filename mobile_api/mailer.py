"""Pluggable delivery of sign-in codes: SMTP in production, a list in memory for tests and demos.

The mailer is called from a request handler: SMTP is quick on a local relay; a slow one only slows the
request that asked for a code (which is rate-limited anyway).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

SMTP_TIMEOUT_S = 10  # a relay that does not answer within this long fails the request with 503


class MailError(Exception):
    """The message could not be handed to the mail relay."""


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


@dataclass
class MemoryMailer:
    """Keeps messages in a list (demos without a relay, tests)."""

    sent: list[EmailMessage] = field(default_factory=list)
    sender: str = "touchpoints@localhost"

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append(_message(self.sender, to, subject, body))
        log.info("sign-in mail to %s (no SMTP relay configured): %s", to, subject)


@dataclass(frozen=True)
class SmtpMailer:
    """``smtp://[user:password@]host[:port]`` (port 25, STARTTLS when offered with credentials) or
    ``smtps://host[:port]`` (implicit TLS, port 465)."""

    url: str
    sender: str

    def send(self, to: str, subject: str, body: str) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise MailError(f"bad SMTP URL {self.url!r}: use smtp://host[:port] or smtps://host[:port]")
        tls = parts.scheme == "smtps"
        port = parts.port or (465 if tls else 25)
        message = _message(self.sender, to, subject, body)
        try:
            if tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    parts.hostname, port, timeout=SMTP_TIMEOUT_S, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(parts.hostname, port, timeout=SMTP_TIMEOUT_S)
            with client:
                if not tls and parts.username and client.has_extn("starttls"):
                    client.starttls(context=ssl.create_default_context())
                if parts.username:
                    client.login(unquote(parts.username), unquote(parts.password or ""))
                client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"could not send mail through {parts.hostname}:{port}: {exc}") from exc


def _message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def mailer_from_settings(smtp_url: str | None, sender: str) -> Mailer:
    return SmtpMailer(smtp_url, sender) if smtp_url else MemoryMailer(sender=sender)
