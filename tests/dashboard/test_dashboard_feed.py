"""The dashboard's live socket and feed: authentication, audiences, and batching (a few messages a second)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from support import ADMIN, AUTH, seed_small_venue

from server.app import create_app
from server.core.config import load_settings
from server.dashboard.feed import TICK_S, diff
from server.store.db import make_engine, migrate


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    engine = make_engine(url)
    migrate(engine)
    seed_small_venue(engine)
    engine.dispose()
    app = create_app(load_settings(database_url=url, ingest_enabled=False, admin_token=ADMIN, var_dir=tmp_path))
    with TestClient(app) as test_client:
        yield test_client


def token_for(client: TestClient, role: str, subject: str | None = None) -> str:
    response = client.post("/api/v1/tokens", json={"role": role, "subject": subject}, headers=AUTH)
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def close_code(client: TestClient, first_message: str | None, query: str = "") -> int:
    with client.websocket_connect(f"/dashboard/ws{query}") as ws:
        if first_message is not None:
            ws.send_text(first_message)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    return closed.value.code


def test_the_page_and_its_assets_are_served(client: TestClient):
    page = client.get("/dashboard/")
    assert page.status_code == 200 and "Touchpoints" in page.text
    for asset in ("js/main.js", "dashboard.css", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css"):
        assert client.get(f"/dashboard/{asset}").status_code == 200, asset


def test_a_socket_without_a_valid_token_is_closed_4401(client: TestClient):
    assert close_code(client, orjson.dumps({"token": "wrong"}).decode()) == 4401
    assert close_code(client, "not json") == 4401
    assert close_code(client, None, "?token=wrong") == 4401


def test_roles_other_than_organizer_and_staff_are_closed_4403(client: TestClient):
    attendee = token_for(client, "attendee", "alice")
    assert close_code(client, orjson.dumps({"token": attendee}).decode()) == 4403


def test_an_organizer_gets_a_snapshot_then_coalesced_updates_at_most_two_a_second(client: TestClient):
    with client.websocket_connect(f"/dashboard/ws?token={ADMIN}") as ws:
        snapshot = orjson.loads(ws.receive_text())
        assert snapshot["type"] == "snapshot" and snapshot["role"] == "organizer"
        assert {"occupancy", "counters", "devices"} <= snapshot.keys()
        started, messages = time.monotonic(), []
        while time.monotonic() - started < 3.0:
            messages.append(orjson.loads(ws.receive_text()))
        elapsed = time.monotonic() - started
    assert len(messages) <= elapsed / TICK_S + 1
    assert len(messages) >= 2  # the heartbeat: the clock moves once a second even when nothing else does
    seqs = [m["seq"] for m in messages]
    assert seqs == sorted(seqs) and all(m["sent_at"] <= time.time() for m in messages)
    devices = {}
    for m in messages:
        devices.update(m.get("devices", {}))
    assert set(devices) == {"door-1", "booth-1-scanner"}
    assert devices["door-1"]["zone_id"] == "entrance"
    later = messages[-1]  # nothing changes in an idle venue: later messages carry the clock only
    assert "devices" not in later and "occupancy" not in later


def test_staff_get_the_fleet_only(client: TestClient):
    staff = token_for(client, "staff")
    with client.websocket_connect("/dashboard/ws") as ws:
        ws.send_text(orjson.dumps({"token": staff}).decode())
        snapshot = orjson.loads(ws.receive_text())
        assert snapshot["role"] == "staff"
        assert "occupancy" not in snapshot and "counters" not in snapshot and "devices" in snapshot
        for _ in range(3):
            message = orjson.loads(ws.receive_text())
            assert set(message) <= {"type", "seq", "now", "sent_at", "devices"}
    headers = {"Authorization": f"Bearer {staff}"}
    assert client.get("/api/v1/dashboard/leads", headers=headers).status_code == 403
    assert client.get("/api/v1/dashboard/beacons", headers=headers).status_code == 200


def test_dashboard_figures_no_other_api_serves(client: TestClient):
    leads = client.get("/api/v1/dashboard/leads", headers=AUTH)
    assert leads.status_code == 200 and isinstance(leads.json(), list)
    checkins = client.get("/api/v1/dashboard/check-ins?step_s=300", headers=AUTH)
    assert checkins.json() == {"times": [], "checked_in": []}
    assert client.get("/api/v1/dashboard/check-ins").status_code == 401


def test_diff_sends_changed_keys_and_nulls_for_removed_ones():
    assert diff({"a": 1, "b": 2}, {"a": 1, "b": 3}) == {"b": 3}
    assert diff({"a": 1}, {}) == {"a": None}
    assert diff({}, {}) == {}
