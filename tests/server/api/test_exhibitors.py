"""Exhibitors over the organizer API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from support import AUTH


def test_put_creates_updates_and_a_booth_can_name_it(api: TestClient):
    created = api.put("/api/v1/exhibitors/acme", headers=AUTH, json={"name": "Acme", "interests": ["ai"]})
    assert created.status_code == 200, created.text
    assert created.json() == {"id": "acme", "event_id": "demo", "name": "Acme", "interests": ["ai"]}
    api.put("/api/v1/exhibitors/acme", headers=AUTH, json={"name": "Acme Corp", "interests": ["ai", "iot"]})
    assert api.get("/api/v1/exhibitors/acme", headers=AUTH).json()["name"] == "Acme Corp"
    assert [e["id"] for e in api.get("/api/v1/exhibitors", headers=AUTH).json()] == ["acme"]
    booth = {"name": "Booth 1", "kind": "booth", "x": 20, "y": 0, "width": 5, "height": 5, "exhibitor_id": "acme"}
    assert api.put("/api/v1/zones/booth-1", headers=AUTH, json=booth).json()["exhibitor_id"] == "acme"


def test_bad_input_and_roles(api: TestClient):
    assert api.put("/api/v1/exhibitors/acme", headers=AUTH, json={"name": ""}).status_code == 422
    assert api.put("/api/v1/exhibitors/acme", headers=AUTH, json={"name": "A", "logo": "x"}).status_code == 422
    assert api.get("/api/v1/exhibitors/ghost", headers=AUTH).json() == {"detail": "exhibitor 'ghost' not found"}
    assert api.get("/api/v1/exhibitors").status_code == 401
    token = api.post("/api/v1/tokens", headers=AUTH, json={"role": "staff"}).json()["token"]
    staff = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/exhibitors", headers=staff).status_code == 200
    assert api.put("/api/v1/exhibitors/acme", headers=staff, json={"name": "Acme"}).status_code == 403
