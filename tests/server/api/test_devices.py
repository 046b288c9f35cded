"""Registering devices and enrolling them with single-use codes."""

from __future__ import annotations

from fastapi.testclient import TestClient
from support import AUTH


def test_put_registers_then_updates_a_device_and_bumps_its_config_version(api: TestClient):
    created = api.put("/api/v1/devices/room-a-1", headers=AUTH, json={"name": "Room A", "zone_id": "booth-1"})
    assert created.status_code == 200, created.text
    assert (created.json()["zone_id"], created.json()["config_version"]) == ("booth-1", 1)
    same = api.put("/api/v1/devices/room-a-1", headers=AUTH, json={"name": "Room A", "zone_id": "booth-1"})
    assert same.json()["config_version"] == 1  # nothing changed: no new config
    moved = api.put("/api/v1/devices/room-a-1", headers=AUTH, json={"name": "Room A", "zone_id": "entrance"})
    assert (moved.json()["zone_id"], moved.json()["config_version"]) == ("entrance", 2)
    ids = [d["id"] for d in api.get("/api/v1/devices", headers=AUTH).json()]
    assert ids == ["booth-1-scanner", "door-1", "room-a-1"]


def test_bad_device_input_is_a_4xx_with_a_message(api: TestClient):
    unknown_zone = api.put("/api/v1/devices/x-1", headers=AUTH, json={"zone_id": "nowhere"})
    assert (unknown_zone.status_code, unknown_zone.json()) == (422, {"detail": "zone 'nowhere' does not exist"})
    bad_id = api.put("/api/v1/devices/has space", headers=AUTH, json={})
    assert bad_id.status_code == 422
    assert api.get("/api/v1/devices/ghost", headers=AUTH).status_code == 404


def test_enrolment_code_is_exchanged_once_for_credentials_and_config(api: TestClient):
    issued = api.post("/api/v1/devices/enrolment-codes", headers=AUTH, json={"zone_id": "booth-1"})
    assert issued.status_code == 201
    code = issued.json()["code"]
    assert len(code) == 9 and code[4] == "-"

    enrolled = api.post("/api/v1/devices/enrol", json={"code": code.lower(), "hostname": "pi-booth-1"})
    assert enrolled.status_code == 200, enrolled.text
    body = enrolled.json()
    assert body["device_id"] == "pi-booth-1" and body["mqtt_username"] == "pi-booth-1"
    assert body["mqtt_url"] == "mqtts://venue.example:8883" and len(body["mqtt_password"]) >= 40
    assert body["config"]["zone_id"] == "booth-1" and body["config"]["type"] == "config"
    device = api.get("/api/v1/devices/pi-booth-1", headers=AUTH).json()
    assert device["zone_id"] == "booth-1"

    again = api.post("/api/v1/devices/enrol", json={"code": code, "hostname": "pi-other"})
    assert (again.status_code, again.json()) == (409, {"detail": "this enrolment code was already used"})
    wrong = api.post("/api/v1/devices/enrol", json={"code": "AAAA-BBBB"})
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "unknown or expired enrolment code"})


def test_a_revoked_device_is_marked_and_loses_its_credentials(api: TestClient):
    revoked = api.post("/api/v1/devices/door-1/revoke", headers=AUTH).json()
    assert revoked["revoked_at"] is not None


def test_a_device_id_derived_from_an_odd_hostname_is_still_a_valid_topic_level(api: TestClient):
    for hostname, expected in [("_pi", "pi"), (".x y", "x-y"), ("", "booth-1")]:
        code = api.post("/api/v1/devices/enrolment-codes", headers=AUTH, json={"zone_id": "booth-1"}).json()["code"]
        body = api.post("/api/v1/devices/enrol", json={"code": code, "hostname": hostname}).json()
        assert body["device_id"] == expected


def test_a_device_registered_by_put_has_no_broker_password_until_enrolled_by_a_code_naming_it(api: TestClient, engine):
    # docs/mqtt.md sections 1 and 10: PUT issues no MQTT password; a code naming the device gives it one.
    from server.security.broker_config import load_devices

    put = api.put("/api/v1/devices/room-b-1", headers=AUTH, json={"zone_id": "booth-1"})
    assert put.status_code == 200 and "mqtt_password" not in put.json()
    devices, skipped = load_devices(engine, "demo")
    assert "room-b-1: not enrolled (no broker credentials)" in skipped
    code = api.post("/api/v1/devices/enrolment-codes", headers=AUTH, json={"device_id": "room-b-1"}).json()["code"]
    enrolled = api.post("/api/v1/devices/enrol", json={"code": code})
    assert enrolled.status_code == 200 and enrolled.json()["device_id"] == "room-b-1"
    assert enrolled.json()["mqtt_password"]
    devices, skipped = load_devices(engine, "demo")
    assert "room-b-1" in {d.id for d in devices} and not any(s.startswith("room-b-1") for s in skipped)
