"""One SMTP URL grammar for every email we send, against a real local SMTP server (aiosmtpd) and a test CA.

``smtp://`` without credentials talks plain SMTP to a local relay; with credentials it must upgrade with
STARTTLS before logging in, and refuses a server that cannot; ``smtps://`` is TLS from the first byte;
``smtp+starttls://`` is a deprecated alias that always upgrades.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from server.mail import MailError, MemoryMailer, SmtpMailer, mailer_from_settings

HOST = "127.0.0.1"


@dataclass
class Mailbox:
    """What the server saw: each message with whether it came over TLS, and each login attempt."""

    received: list[tuple[str, bool]] = field(default_factory=list)  # (subject, over TLS)
    logins: list[tuple[str, str, bool]] = field(default_factory=list)  # (user, password, over TLS)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((str(message_from_bytes(envelope.content)["Subject"]), _over_tls(server, session)))
        return "250 OK"

    def authenticator(self, server: Any, session: Any, _envelope: Any, _mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login.decode(), data.password.decode(), _over_tls(server, session)))
        return AuthResult(success=data.password == b"s3cret")


def _over_tls(server: Any, session: Any) -> bool:
    """STARTTLS sets ``session.ssl``; implicit TLS shows on the transport."""
    return session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    """What our mailer trusts: the test CA only."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(context)
    return context


ServerFactory = Callable[..., tuple[Mailbox, int]]


@pytest.fixture
def smtp_server() -> Iterator[ServerFactory]:
    """Start local SMTP servers with the given options; every one is stopped at the end of the test."""
    controllers: list[Controller] = []

    def start(**options: Any) -> tuple[Mailbox, int]:
        mailbox = Mailbox()
        controller = Controller(
            mailbox, hostname=HOST, port=_free_port(), authenticator=mailbox.authenticator, **options
        )
        controller.start()
        controllers.append(controller)
        return mailbox, controller.port

    yield start
    for controller in controllers:
        controller.stop()


def test_plain_smtp_without_credentials_reaches_a_local_relay(smtp_server: ServerFactory) -> None:
    mailbox, port = smtp_server()
    SmtpMailer.from_url(f"smtp://{HOST}:{port}", sender="event@example.com").send("anna@example.com", "Hi", "Body")
    assert mailbox.received == [("Hi", False)]


def test_smtp_with_credentials_upgrades_with_starttls_before_logging_in(
    smtp_server: ServerFactory, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    mailbox, port = smtp_server(tls_context=server_tls)
    mailer = SmtpMailer.from_url(f"smtp://rita:s3cret@{HOST}:{port}", "event@example.com", tls_context=client_tls)
    mailer.send("anna@example.com", "Your code", "123456")
    assert mailbox.logins == [("rita", "s3cret", True)]
    assert mailbox.received == [("Your code", True)]


def test_smtp_with_credentials_refuses_a_server_without_starttls(smtp_server: ServerFactory) -> None:
    # The server would even accept a login in clear: the mailer must not try.
    mailbox, port = smtp_server(auth_require_tls=False)
    mailer = SmtpMailer.from_url(f"smtp://rita:s3cret@{HOST}:{port}", "event@example.com")
    with pytest.raises(MailError, match="does not offer STARTTLS: refusing to send credentials in clear"):
        mailer.send("anna@example.com", "Your code", "123456")
    assert mailbox.logins == [] and mailbox.received == []


def test_a_certificate_the_mailer_does_not_trust_fails_the_send(
    smtp_server: ServerFactory, server_tls: ssl.SSLContext
) -> None:
    mailbox, port = smtp_server(tls_context=server_tls)
    untrusting = ssl.create_default_context()
    trustme.CA().configure_trust(untrusting)  # another CA than the one that signed the server's certificate
    mailer = SmtpMailer.from_url(f"smtp://rita:s3cret@{HOST}:{port}", "event@example.com", tls_context=untrusting)
    with pytest.raises(MailError, match="certificate verify failed"):
        mailer.send("anna@example.com", "Your code", "123456")
    assert mailbox.logins == [] and mailbox.received == []


def test_smtps_is_tls_from_the_first_byte(
    smtp_server: ServerFactory, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    # aiosmtpd's auth_require_tls only knows STARTTLS; with implicit TLS the whole connection is encrypted.
    mailbox, port = smtp_server(ssl_context=server_tls, auth_require_tls=False)
    mailer = SmtpMailer.from_url(f"smtps://rita:s3cret@{HOST}:{port}", "event@example.com", tls_context=client_tls)
    mailer.send("anna@example.com", "Thanks for visiting", "Slides inside")
    assert mailbox.logins == [("rita", "s3cret", True)]
    assert mailbox.received == [("Thanks for visiting", True)]


def test_smtp_starttls_is_a_deprecated_alias_that_always_upgrades(
    smtp_server: ServerFactory,
    server_tls: ssl.SSLContext,
    client_tls: ssl.SSLContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mailbox, port = smtp_server(tls_context=server_tls)
    with caplog.at_level(logging.WARNING, logger="server.mail.smtp"):
        mailer = SmtpMailer.from_url(f"smtp+starttls://{HOST}:{port}", "event@example.com", tls_context=client_tls)
    assert "smtp+starttls:// is deprecated" in caplog.text
    mailer.send("anna@example.com", "Tomorrow", "See you")
    assert mailbox.received == [("Tomorrow", True)]


@pytest.mark.parametrize(
    ("url", "security", "port"),
    [
        ("smtp://relay", "plain", 25),
        ("smtps://mail.example", "tls", 465),
        ("smtp+starttls://mail.example", "starttls", 587),
    ],
)
def test_default_ports_follow_the_scheme(url: str, security: str, port: int) -> None:
    mailer = SmtpMailer.from_url(url)
    assert (mailer.security, mailer.port) == (security, port)


def test_credentials_are_percent_decoded() -> None:
    mailer = SmtpMailer.from_url("smtp://rita%40acme:p%40ss@mail.example:587")
    assert (mailer.username, mailer.password, mailer.port) == ("rita@acme", "p@ss", 587)


@pytest.mark.parametrize("url", ["http://rita:s3cret@mail.example", "smtp://rita:s3cret@", "mail.example:25"])
def test_a_url_we_cannot_use_fails_at_start_without_echoing_the_password(url: str) -> None:
    with pytest.raises(ValueError, match="expected smtp://") as error:
        SmtpMailer.from_url(url)
    assert "s3cret" not in str(error.value)


def test_without_a_url_mail_is_only_kept_in_memory() -> None:
    mailer = mailer_from_settings(None, "event@example.com")
    assert isinstance(mailer, MemoryMailer)
    mailer.send("anna@example.com", "Your code", "123456")
    assert [(m["To"], m["Subject"]) for m in mailer.sent] == [("anna@example.com", "Your code")]
