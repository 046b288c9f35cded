"""The agenda over the organizer API: sessions in rooms, times in either form, delete guarded by registrations."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session
from support import AUTH, T0

from server.store.models import SessionRegistration

ROOM = {"name": "Room A", "kind": "room", "x": 38, "y": 0, "width": 19, "height": 22}
TALK = {"title": "Scaling AI", "zone_id": "room-a", "starts_at": "2026-05-28T22:00:00Z", "ends_at": T0 + 9900,
        "tags": ["ai"]}  # fmt: skip


def test_put_get_list_and_filter(api: TestClient):
    api.put("/api/v1/zones/room-a", headers=AUTH, json=ROOM)
    created = api.put("/api/v1/sessions/s-ai", headers=AUTH, json=TALK)
    assert created.status_code == 200, created.text
    assert (created.json()["starts_at"], created.json()["ends_at"]) == (1_780_005_600.0, T0 + 9900)
    early = {**TALK, "title": "Breakfast", "starts_at": T0, "ends_at": T0 + 1800, "tags": ["food"]}
    api.put("/api/v1/sessions/s-early", headers=AUTH, json=early)
    assert [s["id"] for s in api.get("/api/v1/sessions", headers=AUTH).json()] == ["s-early", "s-ai"]
    assert [s["id"] for s in api.get("/api/v1/sessions?tag=ai", headers=AUTH).json()] == ["s-ai"]
    assert api.get("/api/v1/sessions?zone_id=entrance", headers=AUTH).json() == []
    assert api.get("/api/v1/sessions/s-ai", headers=AUTH).json()["title"] == "Scaling AI"


def test_a_session_needs_a_room_and_ordered_times(api: TestClient):
    booth = api.put("/api/v1/sessions/s1", headers=AUTH, json={**TALK, "zone_id": "booth-1"})
    assert booth.status_code == 422
    assert booth.json()["detail"] == [
        {"loc": ["body", "zone_id"], "msg": "zone 'booth-1' is a booth, not a room", "type": "value_error"}
    ]
    unknown = api.put("/api/v1/sessions/s1", headers=AUTH, json={**TALK, "zone_id": "room-z"})
    assert unknown.json()["detail"][0]["msg"] == "unknown zone 'room-z'"
    backwards = api.put("/api/v1/sessions/s1", headers=AUTH, json={**TALK, "ends_at": T0})
    assert backwards.status_code == 422 and "ends_at must be after starts_at" in backwards.text
    naive = api.put("/api/v1/sessions/s1", headers=AUTH, json={**TALK, "starts_at": "2026-05-28T22:00:00"})
    assert naive.status_code == 422 and "has no UTC offset" in naive.text


def test_delete_with_registrations_needs_force(api: TestClient, engine: Engine):
    api.put("/api/v1/zones/room-a", headers=AUTH, json=ROOM)
    api.put("/api/v1/sessions/s-ai", headers=AUTH, json=TALK)
    with Session(engine) as session:
        session.add(SessionRegistration(attendee_id="alice", session_id="s-ai", registered_at=T0))
        session.commit()
    refused = api.delete("/api/v1/sessions/s-ai", headers=AUTH)
    assert (refused.status_code, refused.json()) == (
        409, {"detail": "1 attendees registered for session 's-ai': pass ?force=true to delete them too"},
    )  # fmt: skip
    assert api.delete("/api/v1/sessions/s-ai?force=true", headers=AUTH).status_code == 204
    assert api.get("/api/v1/sessions/s-ai", headers=AUTH).status_code == 404
    assert api.delete("/api/v1/sessions/s-ai", headers=AUTH).status_code == 404


def test_roles(api: TestClient):
    assert api.get("/api/v1/sessions").status_code == 401
    token = api.post("/api/v1/tokens", headers=AUTH, json={"role": "staff"}).json()["token"]
    staff = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/sessions", headers=staff).status_code == 200
    assert api.put("/api/v1/sessions/s1", headers=staff, json=TALK).status_code == 403
    assert api.delete("/api/v1/sessions/s1", headers=staff).status_code == 403
