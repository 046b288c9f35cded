"""PUT/GET /api/v1/venue: a whole venue document in, the stored venue out."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from support import AUTH

EXAMPLE = Path(__file__).parents[3] / "docs" / "examples" / "venue.yaml"


def staff(api: TestClient) -> dict[str, str]:
    token = api.post("/api/v1/tokens", headers=AUTH, json={"role": "staff", "name": "crew"}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def document() -> dict[str, object]:
    """The example venue as JSON-ready data (YAML timestamps as ISO strings)."""
    data = yaml.safe_load(EXAMPLE.read_text())
    for item in [data["event"], *data["sessions"]]:
        item["starts_at"], item["ends_at"] = item["starts_at"].isoformat(), item["ends_at"].isoformat()
    return data


def test_put_imports_then_reports_unchanged_and_get_exports(api: TestClient, document: dict[str, object]):
    first = api.put("/api/v1/venue", headers=AUTH, json=document)
    assert first.status_code == 200, first.text
    # The small venue of the fixture is already there: its event is updated, the rest created.
    assert (first.json()["created"], first.json()["updated"]) == (32, 1)
    again = api.put("/api/v1/venue", headers=AUTH, json=document).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 33)
    exported = api.get("/api/v1/venue", headers=staff(api))
    assert exported.status_code == 200
    body = exported.json()
    assert body["event"]["starts_at"] == "2026-06-10T08:30:00+02:00"
    assert [z["id"] for z in body["zones"]][:3] == ["booth-01", "booth-02", "booth-03"]
    assert "entrance" in [z["id"] for z in body["zones"]]  # the fixture's zones stay: nothing is deleted
    assert api.put("/api/v1/venue", headers=AUTH, json=body).json()["unchanged"] == 37


def test_reference_errors_are_422_with_paths_and_nothing_is_written(api: TestClient, document: dict[str, object]):
    document["sessions"][3]["zone_id"] = "room-z"  # type: ignore[index]
    response = api.put("/api/v1/venue", headers=AUTH, json=document)
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"loc": ["body", "sessions", 3, "zone_id"], "msg": "unknown zone 'room-z'", "type": "value_error"}]
    }
    assert api.get("/api/v1/zones/room-a", headers=AUTH).status_code == 404


def test_schema_errors_and_bad_bodies_are_4xx_with_a_message(api: TestClient, document: dict[str, object]):
    document["zones"][0]["kind"] = "hall"  # type: ignore[index]
    bad_kind = api.put("/api/v1/venue", headers=AUTH, json=document)
    assert bad_kind.status_code == 422
    assert bad_kind.json()["detail"][0]["loc"] == ["body", "zones", 0, "kind"]
    other_event = api.put("/api/v1/venue", headers=AUTH, json={"event": {**document["event"], "id": "x"}})  # type: ignore[dict-item]
    assert other_event.json()["detail"][0]["msg"] == "this server runs event 'demo', not 'x'"
    not_json = api.put("/api/v1/venue", headers={**AUTH, "content-type": "application/json"}, content=b"{")
    assert (not_json.status_code, not_json.json()) == (400, {"detail": "the body is not JSON"})


def test_only_organizers_write_and_exhibitors_read_nothing(api: TestClient, document: dict[str, object]):
    assert api.get("/api/v1/venue").status_code == 401
    assert api.put("/api/v1/venue", json=document).status_code == 401
    forbidden = api.put("/api/v1/venue", headers=staff(api), json=document)
    assert (forbidden.status_code, forbidden.json()) == (403, {"detail": "this needs one of the roles: organizer"})
    token = api.post("/api/v1/tokens", headers=AUTH, json={"role": "exhibitor", "subject": "exh-1"}).json()["token"]
    assert api.get("/api/v1/venue", headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_the_venue_document_is_in_the_openapi_reference(api: TestClient):
    spec = api.get("/openapi.json").json()
    put = spec["paths"]["/api/v1/venue"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Venue"}
    assert "Venue" in spec["components"]["schemas"]
