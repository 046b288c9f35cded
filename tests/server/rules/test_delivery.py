"""Delivery of fired decisions: inbox + live hub, Web Push decrypted at a local endpoint, email over a local
SMTP server, suppression recorded with its reason, and nothing done twice."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from aiosmtpd.controller import Controller
from conftest import NOW, PUSH_RULE, add_rule
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import T0, wait_until

from server.domain.rules.events import AppAction, ZoneEntered
from server.live.hub import Hub
from server.mail import SmtpMailer
from server.rules.inbox import list_inbox, mark_clicked, subscribe_push
from server.rules.webpush import WebPushSender, generate_vapid_keys
from server.store.app_models import Lead
from server.store.models import Attendee, Touchpoint
from server.store.rules_models import ActionOutbox, Notification, PushSubscription, RuleDecision


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decisions(engine: Engine) -> list[RuleDecision]:
    with Session(engine) as s:
        return list(s.exec(select(RuleDecision).order_by(RuleDecision.decision_id)))


def test_without_tracking_consent_the_push_is_suppressed_with_its_reason_and_nothing_is_sent(
    venue: Engine, make_service: Any
) -> None:
    add_rule(venue, PUSH_RULE)
    service = make_service()
    service.submit(ZoneEntered("bob", T0, "booth-1"))  # Bob never consented to tracking
    assert service.wait_idle()
    [decision] = decisions(venue)
    assert (decision.attendee_id, decision.outcome, decision.reason) == ("bob", "suppressed", "consent_missing")
    assert decision.payload == {}
    with Session(venue) as s:
        assert list(s.exec(select(Notification))) == [] and list(s.exec(select(ActionOutbox))) == []


def test_a_push_lands_in_the_inbox_and_on_every_connected_device_once(venue: Engine, make_service: Any) -> None:
    add_rule(venue, PUSH_RULE)
    hub = Hub()
    service = make_service(hub=hub)

    async def two_devices_listen() -> list[dict[str, Any]]:
        phone, laptop = hub.subscribe("attendee:alice"), hub.subscribe("attendee:alice")
        for _ in range(2):  # the same touchpoint twice (a redelivery): one decision, one notification
            service.submit(ZoneEntered("alice", T0, "booth-1"))
        await asyncio.get_running_loop().run_in_executor(None, service.wait_idle)
        return [await asyncio.wait_for(phone.get(), 5), await asyncio.wait_for(laptop.get(), 5)]

    received = asyncio.run(two_devices_listen())
    note = received[0]["notification"]
    assert received[0] == received[1]
    assert (note["title"], note["body"], note["url"]) == ("Hi Alice", "Welcome to ACME Robotics", "/x")
    assert note["id"] == "hello-booth:1:alice:1780000000.000:0"
    with Session(venue) as s:
        [inbox] = list_inbox(s, "alice")
        assert inbox.id == note["id"] and inbox.delivered_at == NOW
        sent = s.exec(select(Touchpoint).where(Touchpoint.type == "notification_sent")).one()
        assert sent.data == {"ref": note["id"], "channel": "websocket"}
        clicked = mark_clicked(s, "alice", note["id"], NOW + 5)
        assert clicked is not None and clicked.opened_at == clicked.clicked_at == NOW + 5
        opened = s.exec(select(Touchpoint).where(Touchpoint.type == "notification_opened")).one()
        assert opened.data is not None and opened.data["ref"] == note["id"]
    assert len(decisions(venue)) == 1


class PushEndpoint:
    """A local push service: records what pywebpush posts; /gone answers 410, /missing 404."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(410 if self.path == "/gone" else 404 if self.path == "/missing" else 201)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def push_endpoint() -> Iterator[PushEndpoint]:
    endpoint = PushEndpoint()
    yield endpoint
    endpoint.close()


def browser_keys() -> tuple[ec.EllipticCurvePrivateKey, str, bytes, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    auth = os.urandom(16)
    return key, b64(point), auth, b64(auth)


def test_web_push_reaches_a_subscribed_device_that_is_not_connected_and_decrypts(
    venue: Engine, make_service: Any, push_endpoint: PushEndpoint
) -> None:
    add_rule(venue, PUSH_RULE)
    private, public = generate_vapid_keys()
    service = make_service(webpush=WebPushSender(private, "mailto:ops@example.com"))
    key, p256dh, auth, auth_b64 = browser_keys()
    with Session(venue) as s:
        subscribe_push(s, "alice", f"{push_endpoint.url}/push/alice-phone", p256dh, auth_b64, T0)
    service.submit(ZoneEntered("alice", T0, "booth-1"))
    assert wait_until(lambda: len(push_endpoint.received) == 1, timeout=10)
    path, headers, body = push_endpoint.received[0]
    assert path == "/push/alice-phone" and headers["content-encoding"] == "aes128gcm"
    assert headers["authorization"].startswith("vapid t=") and f"k={public}" in headers["authorization"]
    message = json.loads(http_ece.decrypt(body, private_key=key, auth_secret=auth, version="aes128gcm"))
    assert message["type"] == "notification"
    assert (message["notification"]["title"], message["notification"]["attendee_id"]) == ("Hi Alice", "alice")

    def delivered() -> bool:
        with Session(venue) as s:
            note = s.get(Notification, message["notification"]["id"])
            return note is not None and note.delivered_at is not None

    assert wait_until(delivered, timeout=5)


@pytest.mark.parametrize("gone_path", ["/gone", "/missing"])
def test_a_subscription_the_push_service_reports_gone_is_removed(
    venue: Engine, make_service: Any, push_endpoint: PushEndpoint, gone_path: str
) -> None:
    add_rule(venue, PUSH_RULE)
    private, _public = generate_vapid_keys()
    service = make_service(webpush=WebPushSender(private, "mailto:ops@example.com"))
    _key, p256dh, _auth, auth_b64 = browser_keys()
    with Session(venue) as s:
        subscribe_push(s, "alice", f"{push_endpoint.url}{gone_path}", p256dh, auth_b64, T0)
    service.submit(ZoneEntered("alice", T0, "booth-1"))

    def removed() -> bool:
        with Session(venue) as s:
            return list(s.exec(select(PushSubscription))) == []

    def given_up() -> bool:  # recorded just after the removal, in its own transaction
        with Session(venue) as s:
            [row] = s.exec(select(ActionOutbox).where(ActionOutbox.kind == "webpush"))
            return row.status == "dead" and "gone" in (row.last_error or "")

    assert wait_until(removed, timeout=10) and wait_until(given_up, timeout=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpMailer]]:
    """A local SMTP server (aiosmtpd) collecting what is sent, and our mailer pointed at it."""
    mailbox = Inbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield mailbox, SmtpMailer("127.0.0.1", controller.port, sender="hello@demo.example")
    finally:
        controller.stop()


def test_an_email_goes_out_through_smtp_and_counts_as_delivered(
    venue: Engine, make_service: Any, smtp: tuple[Inbox, SmtpMailer]
) -> None:
    add_rule(venue, {
        "id": "thanks-mail", "name": "Thanks by mail", "campaign_id": "thanks",
        "trigger": {"type": "app_action", "name": "bookmark"},
        "actions": [{"type": "email", "transactional": True, "subject": "Saved for {event.name}",
                     "body": "Hi {attendee.name}, your bookmark is saved."}],
    })  # fmt: skip
    mailbox, mailer = smtp
    service = make_service(mailer=mailer)
    service.submit(AppAction("alice", T0, "bookmark"))
    assert wait_until(lambda: len(mailbox.messages) == 1, timeout=10)
    recipients, content = mailbox.messages[0]
    assert recipients == ["alice@example.com"]
    assert b"Subject: Saved for Demo Conf" in content and b"Hi Alice, your bookmark is saved." in content
    with Session(venue) as s:
        assert wait_until(lambda: s.exec(select(ActionOutbox)).one().status == "sent", timeout=5)
        sent = s.exec(select(Touchpoint).where(Touchpoint.type == "notification_sent")).one()
        assert sent.data is not None and sent.data["channel"] == "email"


def test_a_rep_alert_nobody_sees_live_is_mailed_to_each_active_booth_account_once(
    venue: Engine, make_service: Any, smtp: tuple[Inbox, SmtpMailer]
) -> None:
    from server.store.app_models import ExhibitorUser

    with Session(venue) as s:
        s.add(ExhibitorUser(exhibitor_id="acme", email="rep@acme.example", name="Rita", created_at=T0))
        s.add(ExhibitorUser(exhibitor_id="acme", email="gone@acme.example", created_at=T0, disabled_at=T0 + 1))
        s.commit()
    add_rule(venue, {
        "id": "hot-visitor", "name": "Hot visitor", "campaign_id": "reps",
        "trigger": {"type": "app_action", "name": "demo"},
        "actions": [{"type": "rep_alert", "message": "{attendee.name} wants a demo",
                     "opener": "Ask {attendee.name} about robotics"}],
    })  # fmt: skip
    mailbox, mailer = smtp
    service = make_service(mailer=mailer)
    service.submit(AppAction("alice", T0, "demo", zone_id="booth-1"))  # no booth app is connected
    assert wait_until(lambda: len(mailbox.messages) == 1, timeout=10)
    with Session(venue) as s:
        assert wait_until(lambda: s.exec(select(ActionOutbox)).one().status == "sent", timeout=5)
    service.submit(AppAction("alice", T0, "demo", zone_id="booth-1"))  # the same event again: no second mail
    assert service.wait_idle()
    recipients, content = mailbox.messages[0]
    assert recipients == ["rep@acme.example"] and len(mailbox.messages) == 1
    # Alice has not agreed to share her contact with exhibitors: the mail names no one (as the booth app would).
    assert b"Subject: At your booth: an attendee wants a demo" in content and b"Ask an attendee about" in content
    assert b"Alice" not in content


def test_tags_are_added_and_leads_and_crm_updates_wait_in_the_outbox(venue: Engine, make_service: Any) -> None:
    with Session(venue) as s:
        alice = s.get(Attendee, "alice")
        assert alice is not None
        alice.consent_crm = True
        s.add(alice)
        s.commit()
    add_rule(venue, {
        "id": "hot", "name": "Hot", "campaign_id": "hot", "trigger": {"type": "app_action", "name": "demo"},
        "actions": [{"type": "add_tag", "tag": "wants-demo"}, {"type": "lead", "rating": "hot"},
                    {"type": "crm_update", "fields": {"Interest__c": "demo at {zone.name}"}}],
    })  # fmt: skip
    service = make_service()
    service.submit(AppAction("alice", T0, "demo", zone_id="booth-1"))
    assert service.wait_idle()
    with Session(venue) as s:
        assert s.get(Attendee, "alice").tags == ["wants-demo"]  # type: ignore[union-attr]
        rows = {r.kind: r for r in s.exec(select(ActionOutbox))}
    assert rows["lead"].payload == {"exhibitor_id": "acme", "rating": "hot"}
    assert rows["crm"].payload == {"fields": {"Interest__c": "demo at Booth 1"}}
    assert rows["crm"].idempotency_key == "hot:1:alice:1780000000.000:2" and rows["crm"].status == "pending"
    # The lead action becomes ACME's lead for Alice (hot = 4 on the booth app's 1-5 scale), with her contact,
    # which she shares; the CRM worker takes it from there.
    with Session(venue) as s:
        lead_row = select(ActionOutbox).where(ActionOutbox.kind == "lead")
        assert wait_until(lambda: s.exec(lead_row).one().status == "sent")
        [lead] = s.exec(select(Lead))
        assert (lead.exhibitor_id, lead.attendee_id, lead.source, lead.rating) == ("acme", "alice", "rule", 4)
        assert lead.contact_shared and lead.name == "Alice"


def test_a_lead_action_upgrades_an_existing_lead_and_never_downgrades_it(venue: Engine, make_service: Any) -> None:
    with Session(venue) as s:
        s.add(Lead(event_id="demo", exhibitor_id="acme", attendee_id="alice", source="nfc", captured_by="door-1",
                   rating=5, created_at=T0, updated_at=T0))  # fmt: skip
        s.add(Lead(event_id="demo", exhibitor_id="acme", attendee_id="carol", source="qr", captured_by="rep-1",
                   rating=None, created_at=T0, updated_at=T0))  # fmt: skip
        for attendee_id in ("alice", "carol"):  # a lead action needs consent to share with exhibitors
            person = s.get(Attendee, attendee_id)
            assert person is not None
            person.consent_crm = True
            s.add(person)
        s.commit()
    add_rule(venue, {
        "id": "warm", "name": "Warm", "campaign_id": "warm", "trigger": {"type": "app_action", "name": "demo"},
        "actions": [{"type": "lead", "rating": "warm"}],
    })  # fmt: skip
    service = make_service()
    service.submit(AppAction("alice", T0, "demo", zone_id="booth-1"))
    service.submit(AppAction("carol", T0, "demo", zone_id="booth-1"))
    with Session(venue) as s:
        done = lambda: [r.status for r in s.exec(select(ActionOutbox))] == ["sent", "sent"]  # noqa: E731
        assert wait_until(done)
        ratings = {lead.attendee_id: (lead.rating, lead.source) for lead in s.exec(select(Lead))}
    assert ratings == {"alice": (5, "nfc"), "carol": (3, "qr")}


def test_the_engine_state_survives_a_restart(venue: Engine, make_service: Any) -> None:
    add_rule(venue, PUSH_RULE)
    first = make_service()
    first.submit(ZoneEntered("alice", T0, "booth-1"))
    assert first.wait_idle()
    first.stop()
    second = make_service()  # restored state: the daily rule cap remembers Alice's push
    second.submit(ZoneEntered("alice", T0 + 50, "booth-1"))
    assert second.wait_idle()
    assert [(d.outcome, d.reason) for d in decisions(venue)] == [("fired", None), ("suppressed", "cap_rule")]


def test_a_replayed_decision_is_recognised_and_its_push_not_repeated_on_every_database(venue: Engine) -> None:
    # On PostgreSQL, SQLAlchemy reported rowcount -1 for these ON CONFLICT inserts, so every replay looked new.
    from server.domain.rules.events import Decision, Outcome
    from server.domain.rules.guards import Channel
    from server.rules import store
    from server.rules.delivery import AfterCommit, execute

    decision = Decision("d-1", "hello-booth", 1, "hello", "alice", 0, Channel.PUSH, Outcome.FIRED, None, NOW,
                        "zone_entered", {"title": "Hi", "body": "Welcome"})  # fmt: skip
    outcomes = []
    for _ in range(2):
        with venue.begin() as conn:
            if store.record_decision(conn, decision, "demo"):
                after = AfterCommit()
                execute(conn, decision, "demo", True, after, NOW)
                outcomes.append("acted")
            else:
                outcomes.append("replay")
    assert outcomes == ["acted", "replay"]
    with Session(venue) as s:
        assert len(s.exec(select(Notification)).all()) == 1
        assert len(s.exec(select(Touchpoint).where(Touchpoint.type == "notification_sent")).all()) == 1
