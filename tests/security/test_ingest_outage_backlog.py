"""Ingest down for five minutes of device time under steady traffic: the broker's backlog is all stored.

An outside team stopped the server for 102 s while a device published 45 messages/s under its 50/s limit;
on restart the broker delivered the backlog at once and the per-device rate limit, judging by the server's
clock, dead-lettered or dropped most of it. The limit now judges a device by its own capture times as well
(server/ingest/ratelimit.py): a backlog whose capture times are spread is no flood.

Real Mosquitto of the test's own (persistent session, QoS 1, clean_start False). The outage is five minutes
of *device* clock: capture times are spread over 300 s, published while ingest is away, in a few seconds.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from mosquitto_support import MOSQUITTO, OwnMosquitto
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from support import (
    ADMIN,
    ALICE_BEACON,
    EVENT,
    T0,
    RawPublisher,
    batch,
    heartbeat,
    seed_small_venue,
    sighting,
    wait_until,
)

from server.app import create_app
from server.core.config import load_settings
from server.store.models import DeadLetter, Device, IngestedMessage

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="needs the mosquitto binary")

SCANNERS = [f"hall-scanner-{i}" for i in range(8)]
WINDOW_S = 2.0  # one sightings message per scanner and window, as the reference agent sends
HEARTBEAT_EVERY = 15  # windows: a heartbeat every 30 s shares the seq counter
OUTAGE_S = 300.0  # device-clock seconds during which ingest is down
# Each scanner sends ~0.53 messages/s, under a limit of 1/s with a burst of 10: the backlog of one scanner
# (~160 messages) delivered within a second is 16 times the burst.
RATE_PER_S, BURST = 1.0, 10


def stored(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        keys = conn.execute(select(func.count()).select_from(IngestedMessage)).scalar_one()
        dead = conn.execute(select(func.count()).select_from(DeadLetter)).scalar_one()
    return int(keys), int(dead)


class Scanners:
    """Steady traffic from many scanners, each with its own seq counter and a device clock we drive."""

    def __init__(self, prefix: str, publisher: RawPublisher) -> None:
        self.prefix, self.publisher = prefix, publisher
        self.seq = dict.fromkeys(SCANNERS, 0)
        self.sent = 0

    def run(self, start: float, seconds: float) -> None:
        messages: list[tuple[str, bytes]] = []
        for n in range(round(seconds / WINDOW_S)):
            at = start + n * WINDOW_S
            for device in SCANNERS:
                seq = self.seq[device]
                if seq % HEARTBEAT_EVERY == HEARTBEAT_EVERY - 1:
                    messages.append((self._topic(device, "heartbeat"), heartbeat(seq, device, at=at).to_json()))
                else:
                    window = batch(seq, [sighting(ALICE_BEACON, at=at)], device=device, at=at)
                    messages.append((self._topic(device, "sightings"), window.to_json()))
                self.seq[device] = seq + 1
        self.sent += self.publisher.publish_many(messages)

    def _topic(self, device: str, kind: str) -> str:
        return f"{self.prefix}/v1/{EVENT}/{device}/{kind}"


def test_five_minutes_of_backlog_from_many_devices_is_all_stored_after_an_ingest_outage(
    database_url: str, engine: Engine, topic_prefix: str, tmp_path: Path
):
    seed_small_venue(engine)
    with Session(engine) as s:
        for device in SCANNERS:
            s.add(Device(id=device, event_id=EVENT, zone_id="booth-1", created_at=T0))
        s.commit()
    broker = OwnMosquitto(tmp_path / "mosquitto").start()
    settings = load_settings(
        database_url=database_url, mqtt_url=broker.url, mqtt_protocol="5", mqtt_topic_prefix=topic_prefix,
        mqtt_client_id=f"outage-{uuid.uuid4().hex[:8]}", admin_token=ADMIN, var_dir=tmp_path / "var",
        ingest_device_rate_per_s=RATE_PER_S, ingest_device_burst=BURST,
    )  # fmt: skip
    publisher = RawPublisher(broker.url)
    scanners = Scanners(topic_prefix, publisher)
    # The device clock: the outage ends just before "now", so no capture time lies in the future.
    begin = time.time() - OUTAGE_S - 40
    try:
        app = create_app(settings)
        with TestClient(app):
            assert app.state.runtime.ingest.wait_connected(10)
            scanners.run(begin, 20)  # live traffic before the outage
            assert wait_until(lambda: stored(engine)[0] == scanners.sent, timeout=20), stored(engine)
        # Ingest is down; the broker keeps what arrives for its persistent session.
        scanners.run(begin + 20, OUTAGE_S)
        backlog = scanners.sent - stored(engine)[0]
        app = create_app(settings)
        with TestClient(app) as client:
            assert app.state.runtime.ingest.wait_connected(10)
            scanners.run(begin + 20 + OUTAGE_S, 10)  # live traffic goes on after the restart
            assert wait_until(lambda: stored(engine)[0] == scanners.sent, timeout=30), (stored(engine), scanners.sent)
            assert stored(engine) == (scanners.sent, 0)  # every message stored once, not one dead letter
            metrics = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN}"}).text
            assert "touchpoints_ingest_rate_limited_total{" not in metrics
            assert "touchpoints_dead_letters_dropped_total{" not in metrics
        assert backlog >= len(SCANNERS) * OUTAGE_S / WINDOW_S
        print(f"outage: {backlog} messages of backlog, {scanners.sent} sent, all stored, no dead letters")
    finally:
        publisher.close()
        broker.stop()
