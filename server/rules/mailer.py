"""Sending email: a small pluggable interface with an SMTP implementation (``TOUCHPOINTS_SMTP_URL``).

``smtp://[user[:password]@]host[:port]`` (plain, port 25), ``smtp+starttls://...`` (port 587) or
``smtps://...`` (TLS, port 465); the sender is ``TOUCHPOINTS_MAIL_FROM``. Tests run a local aiosmtpd
server. Example::

    SmtpMailer.from_url("smtp://127.0.0.1:8025", sender="hello@conf.example").send(
        "anna@example.com", "Tomorrow: Demo Conf", "Hi Anna, ...")
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

SMTP_TIMEOUT_S = 10.0  # a mail server that does not answer in 10 s is retried later by the outbox


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    sender: str = "touchpoints@localhost"
    mode: str = "plain"  # plain | starttls | tls
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str, sender: str = "touchpoints@localhost") -> SmtpMailer:
        parts = urlsplit(url)
        modes = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}
        if parts.scheme not in modes or not parts.hostname:
            raise ValueError(f"expected smtp://, smtp+starttls:// or smtps://host[:port], got {url!r}")
        mode, default_port = modes[parts.scheme]
        return cls(
            parts.hostname, parts.port or default_port, sender, mode,
            unquote(parts.username) if parts.username else None, unquote(parts.password) if parts.password else None,
        )  # fmt: skip

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message.set_content(body)
        smtp_class = smtplib.SMTP_SSL if self.mode == "tls" else smtplib.SMTP
        with smtp_class(self.host, self.port, timeout=SMTP_TIMEOUT_S) as client:
            if self.mode == "starttls":
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(message)
