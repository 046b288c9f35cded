"""A device written only from docs/mqtt.md, as a third party would: raw paho-mqtt, hand-written JSON.

Nothing here imports edge/ or server/ to build topics or payloads; the only project pieces used are the
`live_server` fixture (a running server with the small demo venue) and its HTTP API, through which the
assertions look at what was stored and what was dead-lettered.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest

EVENT = "demo"
T = 1_780_000_000.0  # message times are fixed instants in 2026 (docs/mqtt.md section 7: Unix seconds, UTC)
ALICE_BEACON = "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:1:1"  # consented to tracking
BOB_BEACON = "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:1:2"  # did not consent
STRANGER_BEACON = "eddystone:edd1ebeac04e5defa017:0123456789ab"  # belongs to nobody registered
MAX_PAYLOAD_BYTES = 262144  # the documented default limit


class Device:
    """An edge device per docs/mqtt.md section 1: QoS 1, unique client id, retained status and last will."""

    def __init__(self, mqtt_url: str, prefix: str, device_id: str, username: str | None = None,
                 password: str | None = None, connected_at: float = T) -> None:  # fmt: skip
        self.prefix, self.device_id, self.connected_at = prefix, device_id, connected_at
        url = urlsplit(mqtt_url)
        # The documented client id, plus a suffix: tests of several runs share one real broker.
        client_id = f"touchpoints-edge-{EVENT}-{device_id}-{uuid.uuid4().hex[:6]}"
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        user = username or url.username
        if user:
            self.client.username_pw_set(user, password or url.password)
        self.client.max_inflight_messages_set(64)
        # The last will carries the same `at` as this connection's `online` (section 4.4).
        self.client.will_set(self.topic("status"), self.status("offline", reason="connection lost"), qos=1, retain=True)
        self.configs: list[dict[str, Any]] = []
        self._connected = threading.Event()
        self.client.on_connect = lambda *_args: self._connected.set()
        self.client.on_message = lambda _c, _u, msg: msg.payload and self.configs.append(json.loads(msg.payload))
        self.client.connect(url.hostname or "127.0.0.1", url.port or 1883, keepalive=30)
        self.client.loop_start()
        assert self._connected.wait(10), "could not connect to the broker"

    def topic(self, kind: str, *, version: str = "v1", event: str = EVENT, device: str | None = None) -> str:
        return f"{self.prefix}/{version}/{event}/{device or self.device_id}/{kind}"

    def status(self, state: str, reason: str | None = None) -> bytes:
        doc: dict[str, Any] = {
            "v": 1, "type": "status", "device_id": self.device_id, "event_id": EVENT, "state": state,
            "at": self.connected_at, "agent_version": "third-party 1.0",
        }  # fmt: skip
        if reason:
            doc["reason"] = reason
        return json.dumps(doc).encode()

    def publish(self, topic: str, payload: dict[str, Any] | bytes, retain: bool = False) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.client.publish(topic, data, qos=1, retain=retain).wait_for_publish(timeout=10)

    def send(self, kind: str, payload: dict[str, Any] | bytes, retain: bool = False) -> None:
        self.publish(self.topic(kind), payload, retain)

    def clear_retained(self, kind: str) -> None:
        """Leave no retained messages behind on a shared broker (an empty retained payload clears one)."""
        self.publish(self.topic(kind), b"", retain=True)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def vanish(self) -> None:
        """Drop the TCP connection without DISCONNECT, as a power cut would: the broker sends the will."""
        self.client.loop_stop()
        sock = self.client.socket()
        assert sock is not None
        sock.close()


# --- hand-written messages, field by field from docs/mqtt.md section 4


def tap(seq: int, device: str = "door-1", uid: str = "04a1b2c3d4e5f6", **extra: Any) -> dict[str, Any]:
    return {"v": 1, "type": "tap", "device_id": device, "event_id": EVENT, "seq": seq,
            "captured_at": T + seq, "uid": uid, "badge_id": "B0001", **extra}  # fmt: skip


def sightings(seq: int, beacons: list[str], device: str = "booth-1-scanner", rssi: float = -63.5) -> dict[str, Any]:
    return {
        "v": 1, "type": "sightings", "device_id": device, "event_id": EVENT, "seq": seq,
        "window_start": T, "window_end": T + 2.0,
        "sightings": [
            {"beacon_id": b, "format": b.split(":")[0].replace("eddystone", "eddystone_uid"), "rssi": rssi,
             "distance_m": 1.8, "count": 12, "first_seen": T + 0.1, "last_seen": T + 1.9, "tx_power": -59}
            for b in beacons
        ],
    }  # fmt: skip


def heartbeat(seq: int, device: str = "door-1") -> dict[str, Any]:
    return {"v": 1, "type": "heartbeat", "device_id": device, "event_id": EVENT, "seq": seq,
            "captured_at": T + 30, "uptime_s": 30.0, "agent_version": "third-party 1.0", "spool_depth": 0,
            "nfc_state": "ok", "ble_state": "disabled", "config_version": 0}  # fmt: skip


# --- looking through the HTTP API


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def auth(server: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.settings.admin_token.get_secret_value()}"}


def touchpoint_counts(server: Any) -> dict[str, int]:
    return server.get("/api/v1/touchpoints/counts")["by_type"]  # type: ignore[no-any-return]


def dead_letter_counts(server: Any) -> dict[str, int]:
    return server.get("/api/v1/dead-letters/counts")  # type: ignore[no-any-return]


def announce(server: Any, device: Device) -> Device:
    """Publish a retained `online` and wait until the server shows it.

    Retained, so the broker delivers it even if the server's subscription is still being set up; once it
    arrived, the subscription is live and nothing published afterwards can miss it.
    """
    device.send("status", device.status("online"), retain=True)
    assert wait_until(lambda: server.get(f"/api/v1/devices/{device.device_id}")["state"] == "online")
    return device


@pytest.fixture
def door(live_server: Any):
    settings = live_server.settings
    device = Device(settings.mqtt_url, settings.mqtt_topic_prefix, "door-1", connected_at=T - 60)
    yield announce(live_server, device)
    device.clear_retained("status")
    device.close()


@pytest.fixture
def scanner(live_server: Any):
    settings = live_server.settings
    device = Device(settings.mqtt_url, settings.mqtt_topic_prefix, "booth-1-scanner", connected_at=T - 60)
    yield announce(live_server, device)
    device.clear_retained("status")
    device.close()


def test_valid_messages_of_every_kind_are_stored(live_server: Any, door: Device, scanner: Device):
    door.connected_at = T
    door.send("status", door.status("online"), retain=True)
    door.send("tap", tap(1))
    scanner.send("sightings", sightings(2, [ALICE_BEACON, BOB_BEACON, STRANGER_BEACON]))
    door.send("heartbeat", heartbeat(3))

    # Bob's sighting is discarded (no tracking consent); the stranger's beacon is kept without an attendee.
    assert wait_until(lambda: touchpoint_counts(live_server) == {"tap": 1, "sighting": 2}), touchpoint_counts(
        live_server
    )
    assert wait_until(lambda: live_server.get("/api/v1/devices/door-1")["last_seq"] == 3)
    state = live_server.get("/api/v1/devices/door-1")
    assert state["state"] == "online" and state["state_at"] > T  # when the server received it
    assert state["last_heartbeat"]["agent_version"] == "third-party 1.0"
    stored = {(t["type"], t["attendee_id"], t["zone_id"]) for t in live_server.get("/api/v1/touchpoints")}
    assert stored == {
        ("tap", "alice", "entrance"),
        ("sighting", "alice", "booth-1"),
        ("sighting", None, "booth-1"),
    }
    assert dead_letter_counts(live_server) == {}


def test_bad_messages_are_dead_lettered_with_their_reason(live_server: Any, door: Device):
    prefix = live_server.settings.mqtt_topic_prefix
    bad: list[tuple[str, str, bytes | dict[str, Any]]] = [
        ("invalid_topic", f"{prefix}/v1/{EVENT}/door-1", tap(1)),
        ("invalid_topic", f"{prefix}/v1/{EVENT}/{'d' * 65}/tap", tap(2)),  # ids: 1-64 characters
        ("unsupported_version", door.topic("tap", version="v2"), {**tap(3), "v": 2}),
        ("unknown_kind", door.topic("location"), tap(4)),
        ("wrong_event", door.topic("tap", event="other-conf"), {**tap(5), "event_id": "other-conf"}),
        ("unknown_device", door.topic("tap", device="stranger"), tap(6, device="stranger")),
        ("oversized", door.topic("tap"), json.dumps(tap(7)).encode() + b" " * MAX_PAYLOAD_BYTES),
        ("invalid_json", door.topic("tap"), b'{"v": 1, "type": "tap",'),
        ("invalid_json", door.topic("tap"), b"\xff\xfe not even text"),
        ("schema_violation", door.topic("tap"), b"[1, 2, 3]"),
        ("type_mismatch", door.topic("tap"), heartbeat(8)),
        ("type_mismatch", door.topic("tap"), {k: v for k, v in tap(9).items() if k != "type"}),
        ("device_mismatch", door.topic("tap"), tap(10, device="booth-1-scanner")),
        ("wrong_event", door.topic("tap"), {**tap(11), "event_id": "other-conf"}),
        ("schema_violation", door.topic("tap"), tap(12, uid="04A1B2C3")),  # uid must be lowercase hex
        ("schema_violation", door.topic("tap"), tap(13, rssi=-60)),  # unknown field
        ("schema_violation", door.topic("tap"), {k: v for k, v in tap(14).items() if k != "seq"}),
        ("unsupported_version", door.topic("tap"), {**tap(15), "v": 2}),
        (
            "schema_violation",
            door.topic("sightings", device="door-1"),
            sightings(16, [ALICE_BEACON], "door-1", 30),
        ),
        ("schema_violation", door.topic("heartbeat"), {**heartbeat(17), "captured_at": 0}),  # a 1970 clock
    ]
    for _reason, topic, payload in bad:
        door.publish(topic, payload)
    door.send("tap", tap(100))  # valid traffic behind the garbage still gets through

    expected = Counter(reason for reason, _topic, _payload in bad)
    assert wait_until(lambda: sum(dead_letter_counts(live_server).values()) >= len(bad)), dead_letter_counts(
        live_server
    )
    assert dead_letter_counts(live_server) == dict(expected)
    assert wait_until(lambda: touchpoint_counts(live_server) == {"tap": 1})

    for reason, count in expected.items():
        letters = live_server.get("/api/v1/dead-letters", params={"reason": reason})
        assert len(letters) == count
        wanted = {(topic, payload if isinstance(payload, bytes) else json.dumps(payload).encode())
                  for r, topic, payload in bad if r == reason}  # fmt: skip
        assert {(d["topic"], base64.b64decode(d["payload_base64"])) for d in letters} == wanted
        assert all(d["detail"] for d in letters)
    [mismatch] = live_server.get("/api/v1/dead-letters", params={"reason": "device_mismatch"})
    assert mismatch["device_id"] == "door-1" and "booth-1-scanner" in mismatch["detail"]
    [rssi] = [d for d in live_server.get("/api/v1/dead-letters", params={"reason": "schema_violation"})
              if d["topic"].endswith("/sightings")]  # fmt: skip
    assert "sightings.0.rssi" in rssi["detail"]

    metrics = live_server.client.get("/metrics", headers=auth(live_server)).text
    for reason, count in expected.items():
        assert f'touchpoints_dead_letters_total{{reason="{reason}"}} {float(count)}' in metrics


def test_a_redelivered_message_has_no_second_effect(live_server: Any, door: Device, scanner: Device):
    door.send("tap", tap(7))
    door.send("tap", tap(7))  # the same (device, seq): a QoS 1 redelivery or an outbox replay
    scanner.send("sightings", sightings(7, [ALICE_BEACON]))  # another device may use the same seq
    scanner.send("sightings", sightings(7, [ALICE_BEACON]))
    door.send("heartbeat", heartbeat(7))  # seq is shared across kinds: this one is a duplicate too
    door.send("tap", tap(8))

    assert wait_until(lambda: touchpoint_counts(live_server) == {"tap": 2, "sighting": 1}), (
        touchpoint_counts(live_server),
        dead_letter_counts(live_server),
    )
    metrics = live_server.client.get("/metrics", headers=auth(live_server)).text
    assert "touchpoints_mqtt_messages_duplicate_total 3.0" in metrics
    assert sorted(t["seq"] for t in live_server.get("/api/v1/touchpoints", params={"type": "tap"})) == [7, 8]
    assert live_server.get("/api/v1/devices/door-1")["last_heartbeat"] == {}
    assert dead_letter_counts(live_server) == {}


def test_an_enrolled_device_gets_its_config_and_its_last_will_marks_it_offline(live_server: Any):
    http = live_server.client
    code = http.post(
        "/api/v1/devices/enrolment-codes",
        json={"zone_id": "booth-1", "device_id": "kiosk-7"},
        headers=auth(live_server),
    )
    assert code.status_code == 201, code.text
    answer = http.post("/api/v1/devices/enrol", json={"code": code.json()["code"].lower(), "hostname": "pi-kiosk"})
    assert answer.status_code == 200, answer.text
    creds = answer.json()
    assert (creds["device_id"], creds["event_id"], creds["mqtt_username"]) == ("kiosk-7", EVENT, "kiosk-7")
    assert http.post("/api/v1/devices/enrol", json={"code": code.json()["code"]}).status_code == 409

    kiosk = Device(
        creds["mqtt_url"],
        creds["topic_prefix"],
        creds["device_id"],
        creds["mqtt_username"],
        creds["mqtt_password"],
        connected_at=T + 100,
    )
    try:
        kiosk.client.subscribe(kiosk.topic("config"), qos=1)
        announce(live_server, kiosk)
        assert wait_until(lambda: bool(kiosk.configs), timeout=10), "no retained config"
        config = kiosk.configs[-1]
        assert (config["type"], config["device_id"], config["zone_id"]) == ("config", "kiosk-7", "booth-1")
        assert config == creds["config"]

        kiosk.send("tap", tap(0, device="kiosk-7"))
        assert wait_until(lambda: touchpoint_counts(live_server) == {"tap": 1})
        [stored] = live_server.get("/api/v1/touchpoints", params={"device_id": "kiosk-7"})
        assert (stored["zone_id"], stored["attendee_id"]) == ("booth-1", "alice")

        kiosk.vanish()
        assert wait_until(lambda: live_server.get("/api/v1/devices/kiosk-7")["state"] == "offline", timeout=30)
        assert dead_letter_counts(live_server) == {}
    finally:
        cleaner = Device(creds["mqtt_url"], creds["topic_prefix"], "kiosk-7-cleaner")
        cleaner.publish(kiosk.topic("status"), b"", retain=True)
        cleaner.publish(kiosk.topic("config"), b"", retain=True)
        cleaner.close()


def test_a_revoked_device_is_dead_lettered_from_its_next_message(live_server: Any, door: Device):
    door.send("tap", tap(1))
    assert wait_until(lambda: touchpoint_counts(live_server) == {"tap": 1})
    response = live_server.client.post("/api/v1/devices/door-1/revoke", headers=auth(live_server))
    assert response.status_code == 200, response.text
    door.send("tap", tap(2))
    assert wait_until(lambda: bool(dead_letter_counts(live_server)) or touchpoint_counts(live_server) != {"tap": 1})
    assert touchpoint_counts(live_server) == {"tap": 1}, "the first message after the revoke was stored"
    assert dead_letter_counts(live_server) == {"revoked_device": 1}
