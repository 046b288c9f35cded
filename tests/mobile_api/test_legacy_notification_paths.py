"""The old ``/api/v1/notifications/*`` paths keep working until 0.2.0: each lands on the one attendee API.

HTTP paths answer with a redirect that keeps method and body (308, 307 for the configuration-dependent key);
a client that follows it gets the new route's answer. The WebSocket and the DELETE call the new handlers.
"""

from __future__ import annotations

import time

import pytest
from app_support import Inbox, bearer, sign_in
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.websockets import WebSocketDisconnect
from test_app_inbox_ws import notify

from mobile_api.ws import LEGACY_CLOSE_POLICY
from server.store.rules_models import PushSubscription

SUB = {"endpoint": "https://push.example/abc", "keys": {"p256dh": "B" * 87, "auth": "a" * 22}}


@pytest.mark.parametrize(("old", "new"), [("opened", "open"), ("clicked", "click")])
def test_opened_and_clicked_redirect_to_the_inbox_actions(
    app: TestClient, smtp: Inbox, engine: Engine, old: str, new: str
) -> None:
    alice = bearer(sign_in(app, smtp, "alice@example.com"))
    notify(engine, "alice", "n1", time.time() - 5)
    moved = app.post(f"/api/v1/notifications/n1/{old}", headers=alice, follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (308, f"/app/v1/me/notifications/n1/{new}")
    followed = app.post(f"/api/v1/notifications/n1/{old}", headers=alice)
    assert followed.status_code == 200 and followed.json()["opened_at"] is not None
    assert (followed.json()["clicked_at"] is not None) == (new == "click")
    assert app.post(f"/api/v1/notifications/n1/{old}").status_code == 401  # the new route's authentication
    odd = app.post(f"/api/v1/notifications/a%3Fb/{old}", headers=alice, follow_redirects=False)
    assert odd.headers["location"] == f"/app/v1/me/notifications/a%3Fb/{new}"  # an id stays one path segment


def test_a_push_subscription_posted_to_the_old_path_gets_the_one_https_only_model(
    app: TestClient, smtp: Inbox, engine: Engine
) -> None:
    alice = bearer(sign_in(app, smtp, "alice@example.com"))
    moved = app.post("/api/v1/notifications/push-subscriptions", headers=alice, json=SUB, follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (308, "/app/v1/me/push-subscriptions")
    created = app.post("/api/v1/notifications/push-subscriptions", headers=alice, json=SUB)
    assert created.status_code == 201 and created.json()["endpoint"] == SUB["endpoint"]
    # The old model let http:// endpoints through; there is one model now, and it does not.
    insecure = {**SUB, "endpoint": "http://push.example/abc"}
    assert app.post("/api/v1/notifications/push-subscriptions", headers=alice, json=insecure).status_code == 422
    assert app.post("/app/v1/me/push-subscriptions", headers=alice, json=insecure).status_code == 422
    with Session(engine) as s:
        assert [p.endpoint for p in s.exec(select(PushSubscription))] == [SUB["endpoint"]]

    gone = app.delete("/api/v1/notifications/push-subscriptions", headers=alice, params={"endpoint": SUB["endpoint"]})
    assert gone.status_code == 204
    again = app.delete("/api/v1/notifications/push-subscriptions", headers=alice, params={"endpoint": SUB["endpoint"]})
    assert again.status_code == 404  # as POST /app/v1/me/push-subscriptions/remove answers
    with Session(engine) as s:
        assert s.exec(select(PushSubscription)).all() == []


def test_the_vapid_key_path_redirects_to_the_push_config(app: TestClient) -> None:
    moved = app.get("/api/v1/notifications/vapid-public-key", follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (307, "/app/v1/push/config")
    assert app.get("/api/v1/notifications/vapid-public-key").json() == {"enabled": False, "public_key": None}


def test_the_old_socket_is_the_app_socket_in_its_old_dialect(app: TestClient, smtp: Inbox, engine: Engine) -> None:
    with pytest.raises(WebSocketDisconnect) as info, app.websocket_connect("/api/v1/notifications/ws?token=no"):
        pass
    assert info.value.code == LEGACY_CLOSE_POLICY
    token = sign_in(app, smtp, "alice@example.com")["access_token"]
    with app.websocket_connect(f"/api/v1/notifications/ws?token={token}") as ws:
        assert ws.receive_json() == {"type": "hello", "attendee_id": "alice"}  # no replay, no heartbeat
        message = notify(engine, "alice", "n1", time.time())
        app.app.state.runtime.hub.publish("attendee:alice", message)  # type: ignore[attr-defined]
        assert ws.receive_json() == message
