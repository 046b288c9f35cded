"""Every route of the OpenAPI is in docs/security.md's table with its roles, and enforces exactly them.

A token of each role calls each route: a role in the table must not get 401/403, a role outside it must.
Then the tenancy promises the table cannot express: exhibitors see only their own leads, rules and stats;
attendees only themselves; staff see devices but no attendee PII.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from route_matrix import ROLES, admitted, documented, expected_roles, issue, observe, running_app
from support import AUTH


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with running_app(tmp_path_factory.mktemp("roles")) as app_client:
        yield app_client


@pytest.fixture(scope="module")
def matrix(client: TestClient) -> dict[tuple[str, str], dict[str, int]]:
    return observe(client)


def test_every_route_is_in_the_table_and_the_table_has_no_stale_rows(matrix: dict[tuple[str, str], dict[str, int]]):
    table = documented()
    missing = sorted(set(matrix) - set(table))
    assert not missing, (
        "routes without an entry in docs/security.md's route x role table — add a row "
        "`| METHOD | `/path` | roles |` for each, with the narrowest roles:\n"
        + "\n".join(f"  {m} {p}" for m, p in missing)
    )
    stale = sorted(set(table) - set(matrix))
    assert not stale, "rows in docs/security.md for routes that no longer exist: " + ", ".join(
        f"{m} {p}" for m, p in stale
    )


def test_every_route_admits_exactly_its_roles(matrix: dict[tuple[str, str], dict[str, int]]):
    table = documented()
    wrong = []
    for op, statuses in matrix.items():
        if op not in table:
            continue
        allowed = expected_roles(table[op])
        for who in ("public", *ROLES):
            if admitted(statuses[who]) != (who in allowed):
                wrong.append(f"{op[0]} {op[1]}: {who} got {statuses[who]}, table says {sorted(allowed)}")
    assert not wrong, "\n".join(wrong)


def test_an_exhibitor_sees_only_its_own_leads(client: TestClient):
    acme, globex = issue(client, "exhibitor", "acme"), issue(client, "exhibitor", "globex")
    captured = client.post("/app/v1/exhibitor/leads", json={"badge_id": "B0001"}, headers=acme)
    assert captured.status_code in (200, 201), captured.text
    lead_id = captured.json()["id"]
    assert client.get(f"/app/v1/exhibitor/leads/{lead_id}", headers=globex).status_code == 404
    assert client.patch(f"/app/v1/exhibitor/leads/{lead_id}", json={"notes": "x"}, headers=globex).status_code == 404
    assert client.get("/app/v1/exhibitor/leads", headers=globex).json() == [] or all(
        lead["exhibitor_id"] == "globex" for lead in client.get("/app/v1/exhibitor/leads", headers=globex).json()
    )
    assert "B0001" not in client.get("/app/v1/exhibitor/leads.csv", headers=globex).text
    assert client.get(f"/app/v1/exhibitor/leads/{lead_id}", headers=acme).status_code == 200


def test_an_exhibitor_sees_only_its_own_booth_stats_and_rules(client: TestClient):
    globex = issue(client, "exhibitor", "globex")
    booths = client.get("/api/v1/analytics/booths", headers=globex)
    assert booths.status_code == 200
    assert "booth-1" not in booths.text  # acme's booth
    assert client.get("/api/v1/rules", headers=globex).json() == []
    assert client.get("/api/v1/rule-decisions", headers=globex).status_code == 403
    # Writing and reading another's rules: tests/server/rules/test_rules_api.py
    # (test_an_exhibitor_writes_and_sees_only_its_own_booth_rules).


def test_an_attendee_sees_only_themselves(client: TestClient):
    alice = issue(client, "attendee", "alice")
    me = client.get("/app/v1/me", headers=alice)
    assert me.status_code == 200 and me.json()["id"] == "alice"
    for path in ("/api/v1/attendees/bob", "/api/v1/attendees/bob/journey", "/api/v1/attendees"):
        assert client.get(path, headers=alice).status_code == 403
    assert "bob" not in client.get("/app/v1/me/export", headers=alice).text.lower()


def test_staff_see_devices_but_no_attendee_pii(client: TestClient):
    staff = issue(client, "staff", None)
    assert client.get("/api/v1/devices", headers=staff).status_code == 200
    personal = ("/api/v1/attendees", "/api/v1/attendees/alice", "/api/v1/touchpoints",
                "/api/v1/analytics/top-attendees",
                "/api/v1/dashboard/leads", "/api/v1/dashboard/check-ins", "/app/v1/exhibitor/leads")  # fmt: skip
    for path in personal:
        assert client.get(path, headers=staff).status_code == 403, path
    for path in ("/api/v1/presence/occupancy", "/api/v1/presence/traffic", "/api/v1/dashboard/beacons"):
        answer = client.get(path, headers=staff)
        assert answer.status_code == 200, path
        assert "alice" not in answer.text.lower() and "alice@" not in answer.text, path


def test_a_revoked_token_is_refused(client: TestClient, tmp_path: Path):
    answer = client.post("/api/v1/tokens", json={"role": "staff", "name": "short-lived"}, headers=AUTH)
    headers = {"Authorization": f"Bearer {answer.json()['token']}"}
    assert client.get("/api/v1/devices", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/tokens/{answer.json()['id']}", headers=AUTH).status_code == 200
    assert client.get("/api/v1/devices", headers=headers).status_code == 401
