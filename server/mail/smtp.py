"""The one SMTP mailer behind ``TOUCHPOINTS_SMTP_URL``, and an in-memory stand-in for demos and tests.

URL grammar (the same for rule emails, rep alerts and sign-in codes):

* ``smtp://host[:port]`` (port 25) — plain SMTP to a local relay, no credentials, no TLS.
* ``smtp://user:password@host[:port]`` — STARTTLS is required before logging in: credentials never travel in
  clear. A server that does not offer STARTTLS gets a clear :class:`MailError`, and nothing is sent.
* ``smtps://[user:password@]host[:port]`` (port 465) — implicit TLS from the first byte.
* ``smtp+starttls://...`` (port 587) — deprecated alias of ``smtp://`` that always upgrades with STARTTLS,
  even without credentials; it will be removed in a later release (docs/configuration.md).

Certificates are verified against the system's trust store (or the ``tls_context`` passed in). Example::

    SmtpMailer.from_url("smtp://127.0.0.1:8025", sender="hello@conf.example").send(
        "anna@example.com", "Tomorrow: Demo Conf", "Hi Anna, ...")
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from enum import StrEnum
from typing import Protocol
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

# A relay that does not answer in 10 s fails this attempt: the outbox retries rule emails later, and a
# sign-in request answers 503 rather than hanging the attendee's phone.
SMTP_TIMEOUT_S = 10.0


class MailError(Exception):
    """The message could not be handed to the mail server (unreachable, refused, or unsafe to send)."""


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


class Security(StrEnum):
    PLAIN = "plain"  # smtp:// — STARTTLS anyway when credentials are set
    STARTTLS = "starttls"  # smtp+starttls:// (deprecated alias) — always STARTTLS
    TLS = "tls"  # smtps:// — implicit TLS


_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": (Security.PLAIN, 25),
    "smtp+starttls": (Security.STARTTLS, 587),
    "smtps": (Security.TLS, 465),
}
DEPRECATED_SCHEMES = {"smtp+starttls": "smtp://user:password@host:587 (STARTTLS is used whenever credentials are set)"}


def message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg.set_content(body)
    return msg


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    sender: str = "touchpoints@localhost"
    security: Security = Security.PLAIN
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)  # None: system trust store

    @classmethod
    def from_url(
        cls, url: str, sender: str = "touchpoints@localhost", tls_context: ssl.SSLContext | None = None
    ) -> SmtpMailer:
        """Parse ``TOUCHPOINTS_SMTP_URL``; a URL we cannot use raises ``ValueError`` at start-up, not at send."""
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES or not parts.hostname:
            raise ValueError(f"expected smtp://[user:password@]host[:port] or smtps://..., got {url.split('@')[-1]!r}")
        if parts.scheme in DEPRECATED_SCHEMES:
            log.warning("%s:// is deprecated: use %s", parts.scheme, DEPRECATED_SCHEMES[parts.scheme])
        security, default_port = _SCHEMES[parts.scheme]
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        return cls(parts.hostname, parts.port or default_port, sender, security, username, password, tls_context)

    def send(self, to: str, subject: str, body: str) -> None:
        """Hand one message to the server; raises :class:`MailError` when it cannot, safely, be done."""
        context = self.tls_context or ssl.create_default_context()
        try:
            client: smtplib.SMTP
            if self.security == Security.TLS:
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT_S, context=context)
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_S)
            with client:
                if self.security == Security.STARTTLS or (self.security == Security.PLAIN and self.username):
                    client.ehlo()
                    if not client.has_extn("starttls"):
                        raise MailError(
                            f"{self.host}:{self.port} does not offer STARTTLS: refusing to send credentials in "
                            "clear (use smtps:// or a relay that needs no login)"
                        )
                    client.starttls(context=context)
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(message(self.sender, to, subject, body))
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"could not send mail through {self.host}:{self.port}: {exc}") from exc


@dataclass
class MemoryMailer:
    """Keeps messages in a list (demos without a relay, tests)."""

    sent: list[EmailMessage] = field(default_factory=list)
    sender: str = "touchpoints@localhost"

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append(message(self.sender, to, subject, body))
        log.info("mail to %s (no SMTP server configured): %s", to, subject)


def mailer_from_settings(smtp_url: str | None, sender: str) -> Mailer:
    """The SMTP mailer of ``TOUCHPOINTS_SMTP_URL``, or a :class:`MemoryMailer` that only logs when it is unset."""
    return SmtpMailer.from_url(smtp_url, sender) if smtp_url else MemoryMailer(sender=sender)
