"""`touchpoints bench ingest`: sightings per second through our whole ingest path, beside a bare baseline.

The same stream of sighting batches is published twice to the same broker by a separate process:
- once to the **baseline**, a paho-mqtt subscriber that only receives and JSON-decodes (the ceiling any
  Python consumer on this broker and machine can reach);
- once to **ours**: validate -> resolve badges -> consent -> store idempotently -> acknowledge -> presence.
Both are timed from the first message received to the last one processed, so the ratio is measured in
one run on one machine, which is what these noisy machines allow.

The venue is synthetic and sized by options: ``--devices`` scanners, each in its own zone, and
``--attendees`` consenting badges; each batch carries ``--per-batch`` sightings of random badges.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.mqtt_url import parse_mqtt_url
from edge.protocol import BeaconFormat, Sighting, SightingBatch, ibeacon_id, topic_for

EVENT = "bench"
T0 = 1_781_000_000.0
BEACON_UUID = "b3a7c0de-0000-4000-8000-00000000be0c"
# The publisher keeps at most this many messages unacknowledged: bounded, as every QoS 1 producer should.
PUBLISH_INFLIGHT = 2000
# Processing is over when nothing new has been counted for this long.
IDLE_END_S = 10.0


@dataclass(frozen=True)
class Plan:
    mqtt_url: str
    prefix: str
    devices: int
    attendees: int
    batches: int
    per_batch: int
    seed: int


def payloads(plan: Plan) -> list[tuple[str, bytes]]:
    """The stream: ``batches`` sighting batches round-robin over the devices, 2 s windows, seqs per device.

    As in a hall: each badge stays near one scanner, which hears it loudly, and its two neighbours hear it
    faintly; so every batch holds the badges around one scanner.
    """
    rng = random.Random(plan.seed)
    around: list[list[int]] = [[] for _ in range(plan.devices)]
    for a in range(plan.attendees):
        home = a % plan.devices
        for d, loudness in ((home, 0), ((home + 1) % plan.devices, 1), ((home - 1) % plan.devices, 1)):
            around[d].append(a * 2 + loudness)
    out = []
    seqs = [0] * plan.devices
    for n in range(plan.batches):
        d = n % plan.devices
        window = T0 + 2 * (n // plan.devices)
        heard = rng.sample(around[d], min(plan.per_batch, len(around[d])))
        sightings = [
            Sighting(beacon_id=ibeacon_id(BEACON_UUID, 1, code // 2), format=BeaconFormat.IBEACON,
                     rssi=float(rng.randint(-62, -50) if code % 2 == 0 else rng.randint(-84, -72)),
                     distance_m=None, count=rng.randint(1, 4), first_seen=window, last_seen=window + 1.5)
            for code in heard
        ]  # fmt: skip
        device = f"scanner-{d:05d}"
        batch = SightingBatch(device_id=device, event_id=EVENT, seq=seqs[d], window_start=window,
                              window_end=window + 2, sightings=sightings)  # fmt: skip
        seqs[d] += 1
        out.append((topic_for("sightings", EVENT, device, plan.prefix), batch.to_json()))
    return out


def _publish(plan: Plan, ready: Any, done: Any) -> None:
    """Child process: build the stream, wait for the go, publish it with bounded in-flight QoS 1."""
    stream = payloads(plan)
    endpoint = parse_mqtt_url(plan.mqtt_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(PUBLISH_INFLIGHT)
    client.max_queued_messages_set(PUBLISH_INFLIGHT)
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    ready.set()
    infos = []
    for topic, payload in stream:
        while True:
            info = client.publish(topic, payload, qos=1)
            if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                time.sleep(0.001)  # our own bound: wait for PUBACKs
                continue
            infos.append(info)
            break
    for info in infos:
        info.wait_for_publish(timeout=120)
    client.disconnect()
    client.loop_stop()
    done.set()


def _run_publisher(plan: Plan) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready, done = ctx.Event(), ctx.Event()
    process = ctx.Process(target=_publish, args=(plan, ready, done), daemon=True)
    process.start()
    ready.wait(120)
    done.wait(600)
    process.join(30)


class _Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages = 0
        self.sightings = 0
        self.first: float | None = None
        self.last = 0.0

    def add(self, messages: int, sightings: int) -> None:
        now = time.perf_counter()
        with self.lock:
            self.first = self.first if self.first is not None else now
            self.messages += messages
            self.sightings += sightings
            self.last = now

    def wait_idle(self, expected: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.messages >= expected:
                    return
                quiet = self.first is not None and time.perf_counter() - self.last > IDLE_END_S
            if quiet:
                return
            time.sleep(0.05)

    def rate(self) -> float:
        span = (self.last - self.first) if self.first is not None else 0.0
        return self.sightings / span if span > 0 else 0.0


def baseline(plan: Plan) -> dict[str, float]:
    """A paho subscriber that only receives and decodes: the ceiling for a Python consumer here."""
    counter = _Counter()
    endpoint = parse_mqtt_url(plan.mqtt_url)
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-base-{uuid.uuid4().hex[:8]}",
                         protocol=mqtt.MQTTv5)  # fmt: skip

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        counter.add(1, len(orjson.loads(message.payload)["sightings"]))

    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_connect = lambda c, *_a: c.subscribe(f"{plan.prefix}/#", options=SubscribeOptions(qos=1))
    properties = Properties(PacketTypes.CONNECT)
    properties.ReceiveMaximum = 65_535  # like ours: the broker never queues (and drops) for the baseline
    client.connect(endpoint.host, endpoint.port, properties=properties)
    client.loop_start()
    subscribed.wait(10)
    _run_publisher(plan)
    counter.wait_idle(plan.batches, timeout=300)
    client.disconnect()
    client.loop_stop()
    return {"messages": counter.messages, "sightings": counter.sightings, "sightings_per_s": counter.rate()}


def seed(engine: Any, plan: Plan) -> None:
    from sqlmodel import Session

    from server.domain.model import ZoneKind
    from server.store.models import Attendee, Device, Event, Zone

    with Session(engine) as s:
        s.add(Event(id=EVENT, name="Bench", starts_at=T0, ends_at=T0 + 86_400))
        s.flush()
        side = max(1, int(plan.devices**0.5))
        for d in range(plan.devices):
            x, y = (d % side) * 12.0, (d // side) * 12.0
            s.add(Zone(id=f"zone-{d:05d}", event_id=EVENT, name=f"Zone {d}", kind=ZoneKind.BOOTH, x=x, y=y,
                       width=6, height=6))  # fmt: skip
        s.flush()
        for d in range(plan.devices):
            x, y = (d % side) * 12.0 + 3, (d // side) * 12.0 + 3
            s.add(Device(id=f"scanner-{d:05d}", event_id=EVENT, zone_id=f"zone-{d:05d}", x=x, y=y, created_at=T0))
        s.flush()
        for a in range(plan.attendees):
            beacon = ibeacon_id(BEACON_UUID, 1, a)
            s.add(Attendee(id=f"a{a:06d}", event_id=EVENT, name=f"Attendee {a}", beacon_id=beacon,
                           consent_tracking=True, registered_at=T0))  # fmt: skip
        s.commit()


def ours(plan: Plan, database_url: str | None) -> dict[str, Any]:
    """The whole ingest path with live presence, on SQLite (a temp file) or the given PostgreSQL URL."""
    from server.bench.local import bench_database
    from server.core.config import load_settings
    from server.core.gc_tuning import tune_for_server
    from server.core.metrics import Metrics
    from server.ingest.consumer import IngestConfig, IngestConsumer
    from server.ingest.directory import Directory
    from server.live.presence import LivePresence
    from server.store.db import make_engine, migrate

    with bench_database(database_url, "ingest") as url:
        settings = load_settings(database_url=url)
        engine = make_engine(settings.sqlalchemy_url)
        try:
            migrate(engine)
            seed(engine, plan)
            directory = Directory(engine, EVENT)
            directory.reload()
            config = IngestConfig(mqtt_url=plan.mqtt_url, client_id=f"bench-ingest-{uuid.uuid4().hex[:8]}",
                                  prefix=plan.prefix, event_id=EVENT,
                                  max_payload_bytes=settings.mqtt_max_payload_bytes,
                                  batch_max=settings.ingest_batch_max, queue_max=settings.ingest_queue_max,
                                  queue_max_bytes=settings.ingest_queue_max_bytes)  # fmt: skip
            consumer = IngestConsumer(config, engine, directory, Metrics())
            presence = LivePresence(engine, EVENT)
            counter = _Counter()
            consumer.listeners.append(presence.feed)
            consumer.listeners.append(lambda r: counter.add(sum(r.stored.values()), r.touchpoints.get("sighting", 0)))
            presence.start()
            restore_gc = tune_for_server()  # as the server does once started (server/app.py)
            consumer.start()
            consumer.wait_connected(10)
            _run_publisher(plan)
            counter.wait_idle(plan.batches, timeout=600)
            consumer.stop()
            presence.stop()
            restore_gc()
            return {
                "messages": counter.messages,
                "sightings": counter.sightings,
                "sightings_per_s": counter.rate(),
                "database": engine.dialect.name,
                "open_visits": len(presence.engine.open_visits()),
            }
        finally:
            engine.dispose()


def run_ingest_bench(mqtt_url: str, database_url: str | None, *, devices: int, attendees: int, batches: int,
                     per_batch: int, seed_value: int = 7) -> dict[str, Any]:  # fmt: skip
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    plan = Plan(mqtt_url, prefix, devices, attendees, batches, per_batch, seed_value)
    base = baseline(Plan(mqtt_url, prefix + "b", devices, attendees, batches, per_batch, seed_value))
    result = ours(plan, database_url)
    ratio = result["sightings_per_s"] / base["sightings_per_s"] if base["sightings_per_s"] else None
    return {
        "bench": "ingest",
        "sightings_per_s": round(result["sightings_per_s"]),
        "baseline_sightings_per_s": round(base["sightings_per_s"]),
        "ratio": round(ratio, 3) if ratio is not None else None,
        "database": result["database"],
        "messages": result["messages"],
        "sightings": result["sightings"],
        "baseline_messages": base["messages"],
        "published": batches,
        # Messages the broker acknowledged to the publisher but never delivered (see docs/performance.md).
        "lost": batches - result["messages"],
        "baseline_lost": batches - base["messages"],
        "per_batch": per_batch,
        "devices": devices,
        "attendees": attendees,
        "open_visits": result["open_visits"],
    }
