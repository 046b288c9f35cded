"""Helpers of the app's tests: the SMTP inbox, the app venue, signing in."""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session
from support import AUTH, EVENT, T0, seed_small_venue, wait_until

from server.store.models import AgendaSession, Attendee, Exhibitor, Zone, ZoneKind


@dataclass
class Inbox:
    """Messages the local SMTP server received."""

    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def code_for(self, address: str, timeout: float = 10.0) -> str:
        """The newest sign-in code mailed to ``address``."""
        found: list[str] = []

        def arrived() -> bool:
            with self.lock:
                mine = [m for m in self.messages if m["To"] == address]
            if mine:
                found.append(re.search(r"\b(\d{6})\b", mine[-1].get_payload(decode=True).decode()).group(1))  # type: ignore[union-attr]
            return bool(mine)

        assert wait_until(arrived, timeout), f"no mail to {address}"
        return found[-1]

    def count_to(self, address: str) -> int:
        with self.lock:
            return sum(1 for m in self.messages if m["To"] == address)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_app_venue(engine: Engine) -> None:
    """The small venue plus: emails, two exhibitors (acme owns booth-1), a room with two sessions."""
    seed_small_venue(engine)
    with Session(engine) as s:
        s.add(Exhibitor(id="acme", event_id=EVENT, name="Acme"))
        s.add(Exhibitor(id="globex", event_id=EVENT, name="Globex"))
        s.add(Zone(id="hall-a", event_id=EVENT, name="Hall A", kind=ZoneKind.ROOM, x=0, y=20, width=20, height=20))
        s.add(Zone(id="booth-2", event_id=EVENT, name="Booth 2", kind=ZoneKind.BOOTH, x=30, y=0, width=5, height=5))
        s.commit()
        booth = s.get(Zone, "booth-1")
        assert booth is not None
        booth.exhibitor_id = "acme"
        s.get(Zone, "booth-2").exhibitor_id = "globex"  # type: ignore[union-attr]
        s.add(AgendaSession(id="keynote", event_id=EVENT, zone_id="hall-a", title="Keynote", starts_at=T0 + 3600,
                            ends_at=T0 + 7200, tags=["ai"]))  # fmt: skip
        s.add(AgendaSession(id="panel", event_id=EVENT, zone_id="hall-a", title="Panel", starts_at=T0 + 9000,
                            ends_at=T0 + 12600, tags=["data"]))  # fmt: skip
        for attendee_id, email in (("alice", "alice@example.com"), ("bob", "bob@example.com"),
                                   ("carol", "carol@example.com")):  # fmt: skip
            a = s.get(Attendee, attendee_id)
            assert a is not None
            a.email, a.company, a.job_title = email, f"{attendee_id.title()} GmbH", "Engineer"
            s.add(a)
        s.commit()


def sign_in(client: TestClient, smtp: Inbox, email: str) -> dict[str, Any]:
    """Request a code, read it from the SMTP server, redeem it: the token response."""
    sent = client.post("/app/v1/auth/code", json={"email": email})
    assert sent.status_code == 202, sent.text
    code = smtp.code_for(email)
    response = client.post("/app/v1/auth/token", json={"email": email, "code": code})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens: dict[str, Any] | str) -> dict[str, str]:
    token = tokens if isinstance(tokens, str) else tokens["access_token"]
    return {"Authorization": f"Bearer {token}"}


def staff_sign_in(client: TestClient, smtp: Inbox, email: str, exhibitor_id: str, role: str = "rep") -> dict[str, Any]:
    created = client.post(
        "/app/v1/admin/exhibitor-users",
        headers=AUTH,
        json={"email": email, "exhibitor_id": exhibitor_id, "name": email.split("@")[0], "role": role},
    )
    assert created.status_code == 201, created.text
    assert client.post("/app/v1/exhibitor/auth/code", json={"email": email}).status_code == 202
    code = smtp.code_for(email)
    response = client.post("/app/v1/exhibitor/auth/token", json={"email": email, "code": code})
    assert response.status_code == 200, response.text
    return response.json()
