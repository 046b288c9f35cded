"""The inbox (read, open, dismiss), Web Push subscriptions, and the WebSocket: auth, heartbeats, resume
(nothing lost while offline), live delivery and slow-client protection."""

from __future__ import annotations

import time
from typing import Any

import pytest
from app_support import Inbox, bearer, sign_in
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.websockets import WebSocketDisconnect

from mobile_api.ws import CLOSE_AUTH, CLOSE_BAD_MESSAGE, CLOSE_HEARTBEAT, CLOSE_SLOW
from server.live.hub import QUEUE_MAX
from server.rules.delivery import notification_message
from server.store.models import Touchpoint
from server.store.rules_models import Notification, PushSubscription


def notify(engine: Engine, attendee_id: str, note_id: str, at: float, title: str = "Hello") -> dict[str, Any]:
    """What the rules do: store the notification, then return the hub message they publish."""
    row: dict[str, Any] = {
        "id": note_id, "event_id": "demo", "recipient": f"attendee:{attendee_id}", "attendee_id": attendee_id,
        "rule_id": "welcome", "campaign_id": "welcome", "channel": "push", "title": title, "body": f"{title}!",
        "url": None, "data": {}, "created_at": at,
    }  # fmt: skip
    with Session(engine) as s:
        s.add(Notification(**row))
        s.commit()
    return notification_message(row)


def test_the_inbox_lists_mine_and_marks_read_opened_dismissed(app: TestClient, smtp: Inbox, engine: Engine):
    alice = bearer(sign_in(app, smtp, "alice@example.com"))
    bob = bearer(sign_in(app, smtp, "bob@example.com"))
    now = time.time()
    notify(engine, "alice", "n1", now - 30, "First")
    notify(engine, "alice", "n2", now - 20, "Second")
    notify(engine, "bob", "b1", now - 10, "Bob's")
    inbox = app.get("/app/v1/me/notifications", headers=alice).json()
    assert inbox["unread"] == 2 and [n["id"] for n in inbox["items"]] == ["n1", "n2"]
    assert [n["id"] for n in app.get("/app/v1/me/notifications?after=n1", headers=alice).json()["items"]] == ["n2"]

    assert app.post("/app/v1/me/notifications/n1/read", headers=alice).json()["read_at"] is not None
    opened = app.post("/app/v1/me/notifications/n2/open", headers=alice).json()
    assert opened["opened_at"] is not None and opened["delivered_at"] is not None
    assert app.get("/app/v1/me/notifications", headers=alice).json()["unread"] == 0
    assert app.post("/app/v1/me/notifications/n1/dismiss", headers=alice).status_code == 200
    assert [n["id"] for n in app.get("/app/v1/me/notifications", headers=alice).json()["items"]] == ["n2"]
    with Session(engine) as s:
        opens = s.exec(select(Touchpoint).where(col(Touchpoint.type) == "notification_opened")).all()
        assert [(t.attendee_id, t.data["ref"]) for t in opens] == [("alice", "n2")]  # type: ignore[index]

    # Someone else's notification is "not found", for every action; an unknown action too.
    for action in ("read", "open", "click", "dismiss"):
        assert app.post(f"/app/v1/me/notifications/b1/{action}", headers=alice).status_code == 404
    assert app.post("/app/v1/me/notifications/n2/explode", headers=alice).status_code == 404
    assert [n["id"] for n in app.get("/app/v1/me/notifications", headers=bob).json()["items"]] == ["b1"]


def test_web_push_subscriptions_register_and_unregister(app: TestClient, smtp: Inbox, engine: Engine):
    alice = bearer(sign_in(app, smtp, "alice@example.com"))
    sub = {"endpoint": "https://push.example/abc", "keys": {"p256dh": "B" * 87, "auth": "a" * 22},
           "expirationTime": None}  # fmt: skip
    created = app.post("/app/v1/me/push-subscriptions", headers=alice, json=sub)
    assert created.status_code == 201 and created.json()["endpoint"] == sub["endpoint"]
    assert app.post("/app/v1/me/push-subscriptions", headers=alice, json=sub).status_code == 201  # idempotent
    with Session(engine) as s:
        assert [p.attendee_id for p in s.exec(select(PushSubscription))] == ["alice"]
    bad = app.post("/app/v1/me/push-subscriptions", headers=alice, json={**sub, "endpoint": "http://insecure"})
    assert bad.status_code == 422
    bob = bearer(sign_in(app, smtp, "bob@example.com"))
    assert (
        app.post("/app/v1/me/push-subscriptions/remove", headers=bob, json={"endpoint": sub["endpoint"]}).status_code
        == 404
    )
    assert (
        app.post("/app/v1/me/push-subscriptions/remove", headers=alice, json={"endpoint": sub["endpoint"]}).status_code
        == 204
    )
    assert app.get("/app/v1/push/config").json() == {"enabled": False, "public_key": None}


def test_the_socket_needs_a_valid_token(app: TestClient, smtp: Inbox):
    with pytest.raises(WebSocketDisconnect) as info, app.websocket_connect("/app/v1/ws?token=nope") as ws:
        ws.receive_json()
    assert info.value.code == CLOSE_AUTH
    with pytest.raises(WebSocketDisconnect) as info, app.websocket_connect("/app/v1/ws") as ws:
        ws.send_json({"type": "hello"})
        ws.receive_json()
    assert info.value.code == CLOSE_BAD_MESSAGE
    token = sign_in(app, smtp, "alice@example.com")["access_token"]
    with app.websocket_connect("/app/v1/ws") as ws:
        ws.send_json({"type": "auth", "token": token})
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["topic"] == "attendee:alice"
        assert ws.receive_json() == {"type": "replayed", "count": 0, "last_id": None}
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"


def test_resume_replays_what_was_missed_in_order_then_streams_live(app: TestClient, smtp: Inbox, engine: Engine):
    token = sign_in(app, smtp, "alice@example.com")["access_token"]
    hub = app.app.state.runtime.hub  # type: ignore[attr-defined]
    now = time.time()
    with app.websocket_connect(f"/app/v1/ws?token={token}&since={now - 3600}") as ws:
        assert ws.receive_json()["type"] == "hello"
        assert ws.receive_json()["type"] == "replayed"
        hub.publish("attendee:alice", notify(engine, "alice", "live-1", now - 100, "Welcome"))
        seen = ws.receive_json()
        assert seen["type"] == "notification" and seen["notification"]["id"] == "live-1"
    # Offline: three notifications are stored (nobody is connected, so the rules only store them).
    for i, note_id in enumerate(["m-c", "m-a", "m-b"]):
        notify(engine, "alice", note_id, now - 50 + i, f"Missed {i}")
    notify(engine, "bob", "not-mine", now - 40)
    with app.websocket_connect("/app/v1/ws") as ws:
        ws.send_json({"type": "auth", "token": token, "last_id": "live-1"})
        assert ws.receive_json()["type"] == "hello"
        replay = [ws.receive_json() for _ in range(3)]
        assert [m["notification"]["id"] for m in replay] == ["m-c", "m-a", "m-b"]  # in the order they were made
        assert all(m["replayed"] for m in replay)
        assert ws.receive_json() == {"type": "replayed", "count": 3, "last_id": "m-b"}
        # A notification both stored before the replay read and published live is sent once.
        hub.publish("attendee:alice", notification_message({"id": "m-b", "title": "dup"}))
        hub.publish("attendee:alice", notify(engine, "alice", "live-2", now, "Now"))
        nxt = ws.receive_json()
        assert nxt["notification"]["id"] == "live-2" and "replayed" not in nxt


def test_heartbeats_ping_and_a_silent_client_is_closed(app: TestClient, smtp: Inbox):
    app.app.state.mobile.heartbeat_s = 0.2  # type: ignore[attr-defined]
    token = sign_in(app, smtp, "alice@example.com")["access_token"]
    with app.websocket_connect(f"/app/v1/ws?token={token}") as ws:
        assert ws.receive_json()["heartbeat_s"] == 0.2
        ws.receive_json()  # replayed
        ping = ws.receive_json()
        assert ping["type"] == "ping"
        ws.send_json({"type": "pong"})
        assert ws.receive_json()["type"] == "ping"  # still alive after answering
        with pytest.raises(WebSocketDisconnect) as info:
            while True:  # stop answering: closed within 2 heartbeats + grace
                ws.receive_json()
        assert info.value.code == CLOSE_HEARTBEAT


def test_signing_out_closes_the_live_connection(app: TestClient, smtp: Inbox):
    app.app.state.mobile.heartbeat_s = 0.2  # type: ignore[attr-defined]
    tokens = sign_in(app, smtp, "alice@example.com")
    with app.websocket_connect(f"/app/v1/ws?token={tokens['access_token']}") as ws:
        ws.receive_json()
        ws.receive_json()
        app.post("/app/v1/auth/signout-everywhere", headers=bearer(tokens))
        with pytest.raises(WebSocketDisconnect) as info:
            while True:
                ws.receive_json()
        assert info.value.code == CLOSE_AUTH


def test_a_client_too_slow_to_keep_up_is_closed_and_resumes_from_the_inbox(app: TestClient, smtp: Inbox):
    token = sign_in(app, smtp, "alice@example.com")["access_token"]
    hub = app.app.state.runtime.hub  # type: ignore[attr-defined]
    with app.websocket_connect(f"/app/v1/ws?token={token}") as ws:
        ws.receive_json()
        ws.receive_json()
        for i in range(QUEUE_MAX * 3):  # faster than anyone reads: the hub queue overflows
            hub.publish("attendee:alice", {"type": "notification", "notification": {"id": f"x{i}"}})
        with pytest.raises(WebSocketDisconnect) as info:
            while True:
                ws.receive_json()
        assert info.value.code == CLOSE_SLOW
