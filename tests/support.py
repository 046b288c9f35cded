"""Plain-value builders shared by tests: a small venue, contract messages, a raw MQTT publisher."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from edge.protocol import Heartbeat, Sighting, SightingBatch, Status, Tap, ibeacon_id
from server.core.config import Settings, parse_mqtt_url
from server.store.models import Attendee, AttendeeRole, Device, Event, Zone, ZoneKind

EVENT = "demo"
T0 = 1_780_000_000.0  # a fixed instant in 2026: tests never read the clock for message times
UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
ALICE_BEACON = ibeacon_id(UUID, 1, 1)
BOB_BEACON = ibeacon_id(UUID, 1, 2)  # Bob did not consent to tracking
STAFF_BEACON = ibeacon_id(UUID, 9, 1)
CAROL_BEACON = ibeacon_id(UUID, 1, 3)


def seed_small_venue(engine: Engine) -> None:
    """One event, an entrance and a booth, two devices, two attendees (one without consent) and a staff member."""
    with Session(engine) as s:
        s.add(Event(id=EVENT, name="Demo Conf", starts_at=T0, ends_at=T0 + 9 * 3600))
        s.add(
            Zone(id="entrance", event_id=EVENT, name="Entrance", kind=ZoneKind.ENTRANCE, x=0, y=0, width=10, height=5)
        )
        s.add(Zone(id="booth-1", event_id=EVENT, name="Booth 1", kind=ZoneKind.BOOTH, x=20, y=0, width=5, height=5))
        s.commit()
        s.add(Device(id="door-1", event_id=EVENT, zone_id="entrance", created_at=T0))
        s.add(Device(id="booth-1-scanner", event_id=EVENT, zone_id="booth-1", created_at=T0))
        s.add(
            Attendee(
                id="alice",
                event_id=EVENT,
                name="Alice",
                badge_uid="04a1b2c3d4e5f6",
                badge_id="B0001",
                beacon_id=ALICE_BEACON,
                consent_tracking=True,
                registered_at=T0,
            )
        )
        s.add(
            Attendee(
                id="bob",
                event_id=EVENT,
                name="Bob",
                badge_uid="04b1b2c3d4e5f6",
                badge_id="B0002",
                beacon_id=BOB_BEACON,
                consent_tracking=False,
                registered_at=T0,
            )
        )
        s.add(
            Attendee(
                id="carol",
                event_id=EVENT,
                name="Carol",
                beacon_id=CAROL_BEACON,
                consent_tracking=True,
                registered_at=T0,
            )
        )
        s.add(
            Attendee(
                id="sam",
                event_id=EVENT,
                name="Sam",
                role=AttendeeRole.STAFF,
                beacon_id=STAFF_BEACON,
                consent_tracking=True,
                registered_at=T0,
            )
        )
        s.commit()


def tap(seq: int, device: str = "door-1", uid: str = "04a1b2c3d4e5f6", badge_id: str | None = "B0001",
        at: float = T0) -> Tap:  # fmt: skip
    return Tap(device_id=device, event_id=EVENT, seq=seq, captured_at=at, uid=uid, badge_id=badge_id)


def sighting(beacon_id: str, rssi: float = -60.0, at: float = T0, count: int = 3) -> Sighting:
    return Sighting(
        beacon_id=beacon_id, format="ibeacon", rssi=rssi, distance_m=2.0, count=count, first_seen=at, last_seen=at + 1.5
    )


def batch(seq: int, sightings: Iterable[Sighting], device: str = "booth-1-scanner", at: float = T0) -> SightingBatch:
    return SightingBatch(
        device_id=device, event_id=EVENT, seq=seq, window_start=at, window_end=at + 2, sightings=list(sightings)
    )


def heartbeat(seq: int, device: str = "door-1", at: float = T0, spool_depth: int = 0) -> Heartbeat:
    return Heartbeat(
        device_id=device,
        event_id=EVENT,
        seq=seq,
        captured_at=at,
        uptime_s=10,
        agent_version="0.1.0",
        spool_depth=spool_depth,
    )


def status(state: str, at: float, device: str = "door-1") -> Status:
    return Status(device_id=device, event_id=EVENT, state=state, at=at)  # type: ignore[arg-type]


class RawPublisher:
    """A plain paho client that publishes QoS1 bytes and waits for every PUBACK."""

    def __init__(self, url: str) -> None:
        endpoint = parse_mqtt_url(url)
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
        if endpoint.username:
            self._client.username_pw_set(endpoint.username, endpoint.password)
        self._client.max_inflight_messages_set(100)
        self._client.connect(endpoint.host, endpoint.port)
        self._client.loop_start()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(timeout=10)

    def publish_many(self, items: Iterable[tuple[str, bytes]]) -> int:
        infos = [self._client.publish(topic, payload, qos=1) for topic, payload in items]
        for info in infos:
            info.wait_for_publish(timeout=30)
        return len(infos)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def wait_until(condition: Callable[[], bool], timeout: float = 15.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def clear_session(url: str, client_id: str) -> None:
    """Drop a persistent session the broker keeps for ``client_id`` (test hygiene on a shared broker)."""
    endpoint = parse_mqtt_url(url)
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    client.on_connect = lambda *_a: done.set()
    try:
        client.connect(endpoint.host, endpoint.port)
        client.loop_start()
        done.wait(5)
        client.disconnect()
        client.loop_stop()
    except OSError:
        pass


ADMIN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


@dataclass
class LiveServer:
    client: TestClient
    settings: Settings
    publisher: RawPublisher

    def topic(self, kind: str, device: str = "door-1", event: str = "demo") -> str:
        return f"{self.settings.mqtt_topic_prefix}/v1/{event}/{device}/{kind}"

    def get(self, path: str, **kwargs: object) -> object:
        response = self.client.get(path, headers=AUTH, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text
        return response.json()
