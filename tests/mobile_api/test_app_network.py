"""Connections (mutual opt-in) and phone beacon reports (validated, rate-limited, feeding presence)."""

from __future__ import annotations

import time

from app_support import Inbox, bearer, sign_in
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support import AUTH, LiveServer, wait_until

from mobile_api.deps import BEACON_BURST
from mobile_api.ratelimit import RateLimiter
from server.store.models import Device, Touchpoint

FIXED = "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:77:1"


def test_connecting_needs_both_sides_to_agree(app: TestClient, smtp: Inbox):
    alice = bearer(sign_in(app, smtp, "alice@example.com"))
    bob = bearer(sign_in(app, smtp, "bob@example.com"))
    carol = bearer(sign_in(app, smtp, "carol@example.com"))
    closed = app.post("/app/v1/me/connections", headers=alice, json={"badge_id": "B0002"})
    assert closed.status_code == 409 and "networking" in closed.json()["detail"]
    for who in (alice, bob):
        app.put("/app/v1/me/consent", headers=who, json={"networking": True})
    hidden = app.post("/app/v1/me/connections", headers=alice, json={"attendee_id": "carol"})
    assert hidden.status_code == 404  # Carol is not open to networking: same answer as nobody
    asked = app.post("/app/v1/me/connections", headers=alice, json={"badge_id": "B0002"})
    assert asked.status_code == 201
    assert (asked.json()["status"], asked.json()["direction"], asked.json()["email"]) == ("pending", "outgoing", None)
    assert app.post("/app/v1/me/connections/bob/accept", headers=alice).status_code == 409  # not mine to accept
    [incoming] = app.get("/app/v1/me/connections", headers=bob).json()
    assert (incoming["attendee_id"], incoming["direction"]) == ("alice", "incoming")
    accepted = app.post("/app/v1/me/connections/alice/accept", headers=bob).json()
    assert accepted["status"] == "accepted" and accepted["email"] == "alice@example.com"
    assert app.get("/app/v1/me/connections", headers=carol).json() == []
    assert app.post("/app/v1/me/connections", headers=alice, json={"attendee_id": "alice"}).status_code == 422
    assert app.post("/app/v1/me/connections", headers=alice, json={}).status_code == 422
    assert app.delete("/app/v1/me/connections/alice", headers=bob).status_code == 204
    assert app.get("/app/v1/me/connections", headers=alice).json() == []
    assert app.delete("/app/v1/me/connections/bob", headers=alice).status_code == 404


def place_fixed_beacon(client: TestClient) -> None:
    placed = client.put(
        "/app/v1/admin/beacons/booth-1-a",
        headers=AUTH,
        json={"beacon_id": FIXED, "zone_id": "booth-1", "x": 22.5, "y": 2.5, "name": "Booth 1 A"},
    )
    assert placed.status_code == 200 and placed.json()["device_id"] == "vbeacon:booth-1-a"


def test_fixed_beacons_are_managed_by_organizers(app: TestClient, smtp: Inbox, engine: Engine):
    alice = bearer(sign_in(app, smtp, "alice@example.com"))
    assert (
        app.put("/app/v1/admin/beacons/x", headers=alice, json={"beacon_id": FIXED, "zone_id": "booth-1"}).status_code
        == 403
    )
    place_fixed_beacon(app)
    assert (
        app.put("/app/v1/admin/beacons/x", headers=AUTH, json={"beacon_id": FIXED, "zone_id": "booth-1"}).status_code
        == 409
    )
    assert (
        app.put("/app/v1/admin/beacons/y", headers=AUTH, json={"beacon_id": FIXED, "zone_id": "nowhere"}).status_code
        == 422
    )
    assert (
        app.put("/app/v1/admin/beacons/y", headers=AUTH, json={"beacon_id": "bad", "zone_id": "booth-1"}).status_code
        == 422
    )
    assert [b["id"] for b in app.get("/app/v1/admin/beacons", headers=AUTH).json()] == ["booth-1-a"]
    with Session(engine) as s:
        device = s.get(Device, "vbeacon:booth-1-a")
        assert device is not None and (device.zone_id, device.x, device.y) == ("booth-1", 22.5, 2.5)
    assert app.delete("/app/v1/admin/beacons/booth-1-a", headers=AUTH).status_code == 204
    assert app.delete("/app/v1/admin/beacons/booth-1-a", headers=AUTH).status_code == 404


def report(rssi: float = -55.0, beacon: str = FIXED, age: float = 2.0) -> dict[str, object]:
    now = time.time()
    return {"reports": [{"beacon_id": beacon, "rssi": rssi, "first_seen": now - age, "last_seen": now - age + 1.5,
                         "count": 4}]}  # fmt: skip


def test_beacon_reports_are_validated_and_rate_limited(app: TestClient, smtp: Inbox, engine: Engine):
    place_fixed_beacon(app)
    alice = bearer(sign_in(app, smtp, "alice@example.com"))
    old = app.post("/app/v1/me/beacons", headers=alice, json=report(age=3600))
    assert old.status_code == 422 and "phone's clock" in old.json()["detail"]
    assert app.post("/app/v1/me/beacons", headers=alice, json={"reports": []}).status_code == 422
    assert app.post("/app/v1/me/beacons", headers=alice, json=report(rssi=99)).status_code == 422
    unknown = app.post("/app/v1/me/beacons", headers=alice, json=report(beacon=FIXED[:-1] + "9"))
    assert unknown.json() == {"accepted": 0, "unknown_beacons": 1, "tracked": True}
    bob = bearer(sign_in(app, smtp, "bob@example.com"))  # no tracking consent
    assert app.post("/app/v1/me/beacons", headers=bob, json=report()).json()["tracked"] is False

    app.app.state.mobile.beacons = RateLimiter(BEACON_BURST, rate=0.001)  # type: ignore[attr-defined]  # no refill
    answers = [app.post("/app/v1/me/beacons", headers=alice, json=report()).status_code for _ in range(BEACON_BURST)]
    assert answers == [202] * BEACON_BURST
    limited = app.post("/app/v1/me/beacons", headers=alice, json=report())
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert app.post("/app/v1/me/beacons", headers=bob, json=report()).status_code == 202  # per attendee
    with Session(engine) as s:
        rows = s.exec(select(Touchpoint).where(col(Touchpoint.device_id) == "vbeacon:booth-1-a")).all()
        assert {(t.attendee_id, t.type, t.zone_id, t.data["source"]) for t in rows} == {  # type: ignore[index]
            ("alice", "sighting", "booth-1", "phone")}  # fmt: skip


def test_a_phone_hearing_a_booth_beacon_puts_the_attendee_in_that_zone(live_app: LiveServer, smtp: Inbox):
    s = live_app
    place_fixed_beacon(s.client)
    alice = bearer(sign_in(s.client, smtp, "alice@example.com"))
    presence = s.client.app.state.runtime.pipeline.presence

    def heard() -> bool:
        s.client.post("/app/v1/me/beacons", headers=alice, json=report(rssi=-66, age=1))  # about 2 m from the beacon
        return presence.zone_of("alice") == "booth-1"

    assert wait_until(heard, timeout=30, interval=1.0)  # after the engine's confirmation time
