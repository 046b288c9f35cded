"""Through the running server: sightings at a booth -> a push on the attendee's WebSocket; a rule edit applies
to the next touchpoint without a restart."""

from __future__ import annotations

from typing import Any

from conftest import PUSH_RULE
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import ALICE_BEACON, AUTH, CAROL_BEACON, T0, LiveServer, batch, sighting, wait_until

from server.store.models import Attendee
from server.store.rules_models import Notification, RuleDecision


def allow_push(engine: Engine, *attendee_ids: str) -> None:
    with Session(engine) as s:
        for attendee_id in attendee_ids:
            person = s.get(Attendee, attendee_id)
            assert person is not None
            person.consent_push = True
            s.add(person)
        s.commit()


def stay_at_booth(server: LiveServer, beacon: str, start: float, seconds: int, first_seq: int) -> None:
    """The booth's scanner hears the badge strongly every 2 s window: presence confirms a visit."""
    server.publisher.publish_many(
        (server.topic("sightings", "booth-1-scanner"),
         batch(first_seq + i, [sighting(beacon, rssi=-52, at=start + 2 * i)], at=start + 2 * i).to_json())
        for i in range(seconds // 2)
    )  # fmt: skip


def decision_of(engine: Engine, attendee_id: str) -> RuleDecision | None:
    with Session(engine) as s:
        query = select(RuleDecision).where(
            RuleDecision.rule_id == "hello-booth", RuleDecision.attendee_id == attendee_id
        )
        return s.exec(query).first()


def test_an_attendee_entering_a_booth_gets_the_push_on_their_websocket(live_server: LiveServer, engine: Engine):
    s = live_server
    allow_push(engine, "alice")
    assert s.client.post("/api/v1/rules", headers=AUTH, json=PUSH_RULE).status_code == 201
    created = s.client.post("/api/v1/tokens", headers=AUTH, json={"role": "attendee", "subject": "alice", "name": "a"})
    with s.client.websocket_connect(f"/api/v1/notifications/ws?token={created.json()['token']}") as ws:
        assert ws.receive_json() == {"type": "hello", "attendee_id": "alice"}
        stay_at_booth(s, ALICE_BEACON, T0, seconds=60, first_seq=0)

        def delivered() -> bool:
            with Session(engine) as db:
                note = db.exec(select(Notification).where(Notification.attendee_id == "alice")).first()
                return note is not None and note.delivered_at is not None

        assert wait_until(delivered, timeout=30), s.get("/api/v1/rule-decisions")
        message: dict[str, Any] = ws.receive_json()
    note = message["notification"]
    assert message["type"] == "notification" and note["title"] == "Hi Alice" and note["rule_id"] == "hello-booth"
    touchpoints = s.get("/api/v1/touchpoints", params={"type": "notification_sent"})
    assert [t["data"]["ref"] for t in touchpoints] == [note["id"]]  # type: ignore[union-attr, index]


def test_a_rule_edit_applies_to_the_next_touchpoint_without_a_restart(live_server: LiveServer, engine: Engine):
    s = live_server
    allow_push(engine, "alice", "carol")
    assert s.client.post("/api/v1/rules", headers=AUTH, json=PUSH_RULE).status_code == 201
    stay_at_booth(s, ALICE_BEACON, T0, seconds=60, first_seq=0)
    assert wait_until(lambda: decision_of(engine, "alice") is not None, timeout=30)
    first = decision_of(engine, "alice")
    assert first is not None and (first.rule_version, first.payload["title"]) == (1, "Hi Alice")

    edited = {**PUSH_RULE, "actions": [{"type": "push", "title": "Welcome, {attendee.name}!"}]}
    assert s.client.put("/api/v1/rules/hello-booth", headers=AUTH, json=edited).json()["version"] == 2
    stay_at_booth(s, CAROL_BEACON, T0 + 60, seconds=60, first_seq=100)
    assert wait_until(lambda: decision_of(engine, "carol") is not None, timeout=30)
    second = decision_of(engine, "carol")
    assert second is not None and (second.rule_version, second.payload["title"]) == (2, "Welcome, Carol!")
