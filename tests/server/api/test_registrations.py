"""POST /api/v1/registrations: CSV or JSON in, the import report out; ingest sees new badges at once."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpx import Response
from support import AUTH

CSV = "id,name,badge_id,consent_tracking\nzora,Zora,B0903,yes\nyuki,Yuki,B0001,yes\nxena,Xena,,perhaps\n"


def post_csv(api: TestClient, text: str, headers: dict[str, str] = AUTH) -> Response:
    return api.post("/api/v1/registrations", headers={**headers, "content-type": "text/csv"}, content=text)


def test_csv_imports_good_rows_and_reports_bad_ones_then_is_idempotent(api: TestClient):
    first = post_csv(api, CSV)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (1, 0, 0)
    assert body["errors"] == [
        {"line": 3, "reason": "badge_id 'B0001' belongs to attendee 'alice'"},
        {"line": 4, "reason": "consent_tracking: 'perhaps' is not a yes/no value (true/false, yes/no, 1/0)"},
    ]
    again = post_csv(api, CSV).json()
    assert (again["created"], again["unchanged"], len(again["errors"])) == (0, 1, 2)


def test_json_body_and_an_updated_attendee(api: TestClient):
    rows = [{"id": "alice", "name": "Alice Adams", "country": "de", "tags": ["vip"]}]
    report = api.post("/api/v1/registrations", headers=AUTH, json=rows).json()
    assert (report["updated"], report["errors"]) == (1, [])


def test_new_badges_reach_ingest_at_once(api: TestClient):
    directory = api.app.state.runtime.directory  # type: ignore[attr-defined]
    directory.reload()
    assert directory.badge_by_tap("04c1b2c3d4e599", None) is None
    post_csv(api, "id,name,badge_uid,consent_tracking\nzora,Zora,04:C1:B2:C3:D4:E5:99,yes\n")
    badge = directory.badge_by_tap("04c1b2c3d4e599", None)
    assert badge is not None and badge.attendee_id == "zora"


def test_bad_bodies_are_4xx_with_a_message(api: TestClient):
    no_name = post_csv(api, "id,email\nx,x@example.com\n")
    assert (no_name.status_code, no_name.json()) == (
        422, {"detail": "line 1: no 'name' column (the header must name the columns)"},
    )  # fmt: skip
    xml = api.post("/api/v1/registrations", headers={**AUTH, "content-type": "application/xml"}, content=b"<a/>")
    assert (xml.status_code, xml.json()) == (
        415,
        {"detail": "send text/csv or application/json, not 'application/xml'"},
    )
    broken = api.post("/api/v1/registrations", headers={**AUTH, "content-type": "application/json"}, content=b"[")
    assert broken.status_code == 400 and broken.json()["detail"].startswith("the body is not JSON")


def test_only_organizers_import(api: TestClient):
    assert post_csv(api, CSV, headers={}).status_code == 401
    token = api.post("/api/v1/tokens", headers=AUTH, json={"role": "staff"}).json()["token"]
    assert post_csv(api, CSV, headers={"Authorization": f"Bearer {token}"}).status_code == 403
