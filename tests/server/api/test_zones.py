"""Zones over the organizer API: put is an idempotent upsert checked like a venue file; delete refuses in use."""

from __future__ import annotations

from fastapi.testclient import TestClient
from support import AUTH

ROOM = {"name": "Room A", "kind": "room", "x": 38, "y": 0, "width": 19, "height": 22, "capacity": 120}


def bearer(api: TestClient, role: str, subject: str | None = None) -> dict[str, str]:
    token = api.post("/api/v1/tokens", headers=AUTH, json={"role": role, "subject": subject}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_put_creates_then_updates_and_lists_by_id(api: TestClient):
    created = api.put("/api/v1/zones/room-a", headers=AUTH, json=ROOM)
    assert created.status_code == 200, created.text
    assert created.json() == {**ROOM, "id": "room-a", "event_id": "demo", "floor": 0, "exhibitor_id": None,
                              "x": 38.0, "y": 0.0, "width": 19.0, "height": 22.0}  # fmt: skip
    moved = api.put("/api/v1/zones/room-a", headers=AUTH, json={**ROOM, "floor": 1}).json()
    assert moved["floor"] == 1
    assert [z["id"] for z in api.get("/api/v1/zones", headers=AUTH).json()] == ["booth-1", "entrance", "room-a"]
    assert [z["id"] for z in api.get("/api/v1/zones?kind=room", headers=AUTH).json()] == ["room-a"]
    assert api.get("/api/v1/zones/room-a", headers=AUTH).json()["floor"] == 1


def test_bad_zones_are_422_naming_the_field(api: TestClient):
    lounge = {**ROOM, "kind": "lounge", "exhibitor_id": "nobody"}
    response = api.put("/api/v1/zones/lounge", headers=AUTH, json=lounge)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "exhibitor_id"], "msg": "unknown exhibitor 'nobody'", "type": "value_error"}
    ]
    api.put("/api/v1/exhibitors/acme", headers=AUTH, json={"name": "Acme"})
    not_a_booth = api.put("/api/v1/zones/lounge", headers=AUTH, json={**lounge, "exhibitor_id": "acme"})
    assert not_a_booth.json()["detail"][0]["msg"] == "only a booth has an exhibitor, and 'lounge' is a lounge"
    assert api.put("/api/v1/zones/has space", headers=AUTH, json=ROOM).status_code == 422
    assert api.put("/api/v1/zones/x", headers=AUTH, json={**ROOM, "width": -1}).status_code == 422
    assert api.get("/api/v1/zones/ghost", headers=AUTH).json() == {"detail": "zone 'ghost' not found"}


def test_delete_refuses_a_zone_in_use_then_deletes_it_once_free(api: TestClient):
    response = api.delete("/api/v1/zones/entrance", headers=AUTH)
    assert (response.status_code, response.json()) == (409, {"detail": "zone 'entrance' is in use by devices door-1"})
    api.put("/api/v1/zones/room-a", headers=AUTH, json=ROOM)
    talk = {"title": "Talk", "zone_id": "room-a", "starts_at": 1_780_003_600, "ends_at": 1_780_006_300}
    api.put("/api/v1/sessions/s1", headers=AUTH, json=talk)
    assert api.delete("/api/v1/zones/room-a", headers=AUTH).json() == {
        "detail": "zone 'room-a' is in use by sessions s1"
    }
    assert api.delete("/api/v1/sessions/s1", headers=AUTH).status_code == 204
    assert api.delete("/api/v1/zones/room-a", headers=AUTH).status_code == 204
    assert api.get("/api/v1/zones/room-a", headers=AUTH).status_code == 404


def test_roles_staff_read_organizers_write(api: TestClient):
    assert api.get("/api/v1/zones").status_code == 401
    assert api.put("/api/v1/zones/room-a", json=ROOM).status_code == 401
    staff = bearer(api, "staff")
    assert api.get("/api/v1/zones", headers=staff).status_code == 200
    assert api.get("/api/v1/zones/entrance", headers=staff).status_code == 200
    assert api.put("/api/v1/zones/room-a", headers=staff, json=ROOM).status_code == 403
    assert api.delete("/api/v1/zones/booth-1", headers=staff).status_code == 403
    assert api.get("/api/v1/zones", headers=bearer(api, "exhibitor", "acme")).status_code == 403
