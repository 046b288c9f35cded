"""The survey walk over the organizer API: legs stamped with the server's clock, finish fits for real and puts
a usable calibration in force; the status shows per-scanner signs and unsure zones; history keeps every fit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support import ADMIN, AUTH
from survey_support import REF_BEACON, T0, seed_hall, store_walk, walk_legs

from server.api.routes.calibration import get_clock
from server.app import create_app
from server.core.config import load_settings


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hall_api(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, Clock, Engine]]:
    seed_hall(engine, staff_badge=True)
    settings = load_settings(database_url=database_url, ingest_enabled=False, admin_token=ADMIN,
                             var_dir=tmp_path / "var")  # fmt: skip
    app = create_app(settings)
    clock = Clock(T0)
    app.dependency_overrides[get_clock] = lambda: clock
    with TestClient(app) as client:
        yield client, clock, engine


def test_the_page_sees_whether_the_badge_is_heard_at_the_current_stop(hall_api):
    client, clock, engine = hall_api
    legs = walk_legs()
    store_walk(engine, legs, seed=3, attendee_id="surveyor")
    clock.now = legs[0]["started_at"] - 5
    walk = client.post("/api/v1/calibration/walks", headers=AUTH, json={"badge": "surveyor"}).json()
    assert (walk["heard_now_by"], walk["readings_here"], walk["last_heard_at"]) == (0, 0, None)
    client.post(f"/api/v1/calibration/walks/{walk['id']}/enter", headers=AUTH, json={"zone_id": "entrance"})
    clock.now = legs[0]["started_at"] + 20
    now = client.get("/api/v1/calibration/walks/current", headers=AUTH).json()
    assert now["heard_now_by"] >= 3  # the hall's scanners hear it at the entrance
    assert 20 <= now["readings_here"] <= 60  # ten 2 s windows, a few scanners each
    assert legs[0]["started_at"] + 14 <= now["last_heard_at"] <= clock.now
    clock.now = legs[-1]["ended_at"] + 60  # the badge went quiet
    later = client.get("/api/v1/calibration/walks/current", headers=AUTH).json()
    assert later["heard_now_by"] == 0 and later["last_heard_at"] is not None


def walk_through(client: TestClient, clock: Clock, legs: list[dict]) -> int:
    """Staff on the phone: start, then at each stop "I am here", ~30 s later the next stop, Done at the end."""
    clock.now = float(legs[0]["started_at"]) - 10
    started = client.post("/api/v1/calibration/walks", headers=AUTH, json={"badge": "surveyor"})
    assert started.status_code == 201, started.text
    walk_id = int(started.json()["id"])
    for leg in legs:
        clock.now = float(leg["started_at"])
        entered = client.post(f"/api/v1/calibration/walks/{walk_id}/enter", headers=AUTH,
                              json={"zone_id": leg["zone_id"], "x": leg["x"], "y": leg["y"]})  # fmt: skip
        assert entered.status_code == 200, entered.text
        clock.now = float(leg["ended_at"])
        assert client.post(f"/api/v1/calibration/walks/{walk_id}/leave", headers=AUTH).status_code == 200
    return walk_id


def test_before_any_walk_the_venue_is_uncalibrated_with_unsure_zones_named(hall_api):
    client, _clock, _engine = hall_api
    status = client.get("/api/v1/calibration", headers=AUTH).json()
    assert status["calibrated"] is False and status["calibration"] is None
    assert {s["scanner_id"]: s["sign"] for s in status["scanners"]} == dict.fromkeys(
        ["pole", "s-booth-1", "s-booth-2", "s-entrance", "s-lounge"], "uncalibrated"
    )
    assert status["unsure_zones"] == []  # every zone has an online scanner of its own
    assert client.get("/api/v1/calibration/walks/current", headers=AUTH).status_code == 404


def test_a_walk_from_the_phone_is_fitted_and_put_in_force(hall_api):
    client, clock, engine = hall_api
    legs = walk_legs()
    store_walk(engine, legs, seed=3, attendee_id="surveyor")
    walk_id = walk_through(client, clock, legs)
    current = client.get("/api/v1/calibration/walks/current", headers=AUTH).json()
    assert current["badge"] == REF_BEACON and len(current["legs"]) == len(legs)
    assert current["surveyed_s"]["booth-1"] == 32.0 and current["surveyed_s"][""] == 64.0  # two aisle spots
    assert current["readings_here"] == 0 and current["heard_now_by"] > 0  # no stop open; heard seconds ago
    clock.now += 5
    result = client.post(f"/api/v1/calibration/walks/{walk_id}/finish", headers=AUTH)
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["in_force"] is True and body["message"] == "The new calibration is in force."
    assert {s["scanner_id"]: s["sign"] for s in body["scanners"]}["s-booth-2"] == "calibrated"
    status = client.get("/api/v1/calibration", headers=AUTH).json()
    assert status["calibrated"] is True and status["calibration"]["id"] == body["calibration"]["id"]
    assert status["calibration"]["created_by"] == "admin token"
    booth = next(s for s in status["scanners"] if s["scanner_id"] == "s-booth-2")
    assert booth["readings"] > 10 and -62 <= booth["gain_db"] <= -50
    assert client.get("/api/v1/calibration/walks/current", headers=AUTH).status_code == 404
    assert client.post(f"/api/v1/calibration/walks/{walk_id}/enter", headers=AUTH,
                       json={"zone_id": "booth-1"}).status_code == 409  # fmt: skip


def test_a_walk_nobody_heard_leaves_the_previous_calibration_in_force(hall_api):
    client, clock, engine = hall_api
    legs = walk_legs()
    store_walk(engine, legs, seed=3, attendee_id="surveyor")
    first = walk_through(client, clock, legs)
    first_id = client.post(f"/api/v1/calibration/walks/{first}/finish", headers=AUTH).json()["calibration"]["id"]
    silent = walk_through(client, clock, walk_legs(start=T0 + 7200))  # the badge's battery was flat
    result = client.post(f"/api/v1/calibration/walks/{silent}/finish", headers=AUTH).json()
    assert result["in_force"] is False and result["calibration"] is None and result["sightings"] == 0
    assert result["message"] == "Nothing could be fitted: the previous calibration stays in force."
    assert result["problems"]
    assert client.get("/api/v1/calibration", headers=AUTH).json()["calibration"]["id"] == first_id
    history = client.get("/api/v1/calibration/history", headers=AUTH).json()
    assert [(h["id"], h["active"]) for h in history] == [(first_id, True)]


def test_walk_mistakes_are_refused_or_dropped(hall_api):
    client, clock, _engine = hall_api
    walk = client.post("/api/v1/calibration/walks", headers=AUTH, json={"badge": "surveyor"}).json()
    again = client.post("/api/v1/calibration/walks", headers=AUTH, json={"badge": "surveyor"})
    assert again.status_code == 409 and f"walk #{walk['id']} is still open" in again.json()["detail"]
    base = f"/api/v1/calibration/walks/{walk['id']}"
    unknown = client.post(f"{base}/enter", headers=AUTH, json={"zone_id": "nowhere"})
    assert (unknown.status_code, unknown.json()) == (422, {"detail": "no zone 'nowhere' in this event"})
    client.post(f"{base}/enter", headers=AUTH, json={"zone_id": "booth-1"})
    clock.now += 1  # Start then Done at once: a mis-tap, not a stop
    assert client.post(f"{base}/leave", headers=AUTH).json()["legs"] == []
    finish = client.post(f"{base}/finish", headers=AUTH)
    assert finish.status_code == 422 and "no stop recorded yet" in finish.json()["detail"]
    assert client.delete(f"{base}", headers=AUTH).status_code == 204
    assert client.get("/api/v1/calibration/walks/current", headers=AUTH).status_code == 404
    assert client.post("/api/v1/calibration/walks/999/leave", headers=AUTH).status_code == 404
    nobody = client.post("/api/v1/calibration/walks", headers=AUTH, json={"badge": "surveyor-without-beacon"})
    assert nobody.status_code == 201  # an unregistered spare beacon: its sightings are stored by beacon id


def test_staff_may_walk_and_read_attendees_and_exhibitors_may_not(hall_api):
    client, _clock, _engine = hall_api
    tokens = {role: client.post("/api/v1/tokens", headers=AUTH, json={"role": role, "subject": subject}).json()
              for role, subject in [("staff", None), ("exhibitor", "acme"), ("attendee", "surveyor")]}  # fmt: skip
    headers = {role: {"Authorization": f"Bearer {t['token']}"} for role, t in tokens.items()}
    assert client.get("/api/v1/calibration").status_code == 401
    assert client.get("/api/v1/calibration", headers=headers["staff"]).status_code == 200
    started = client.post("/api/v1/calibration/walks", headers=headers["staff"], json={"badge": "surveyor"})
    assert started.status_code == 201 and started.json()["badge"] == REF_BEACON
    for role in ("exhibitor", "attendee"):
        assert client.get("/api/v1/calibration", headers=headers[role]).status_code == 403
        assert client.post("/api/v1/calibration/walks", headers=headers[role], json={"badge": "x"}).status_code == 403
