"""MQTT fuzzing against a running server on a real broker: >= 10,000 bad messages interleaved with valid ones.

Malformed, oversized, truncated, wrong-typed, spoofed (another device's id, unknown and revoked devices,
another event), bad topics and versions, and replays of valid messages, from a seeded generator. Each bad
message's expected reason is first checked against the pure decoder, then the running server must have:
dead letters == bad messages (per reason, exactly), every valid message stored once, replays only counted
as duplicates, and ingest still alive and healthy.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from mosquitto_support import MOSQUITTO, OwnMosquitto
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from support import ADMIN, ALICE_BEACON, BOB_BEACON, EVENT, batch, seed_small_venue, sighting, tap, wait_until

from server.app import create_app
from server.core.config import load_settings, parse_mqtt_url
from server.ingest.decode import Accepted, DeviceInfo, Rejected, Rules, decode
from server.store.models import DeadLetter, DeadLetterReason, Device, IngestedMessage, Touchpoint

pytestmark = pytest.mark.fuzz

SEED = 20261122
BAD = 10_000
VALID = 2_000
REPLAYS = 1_000
MAX_BYTES = 4096
R = DeadLetterReason


class Generator:
    """Seeded: a failure reproduces with the same SEED. Each bad message comes with the reason it must get."""

    def __init__(self, prefix: str, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.seq = {"door-1": 0, "booth-1-scanner": 0}

    def topic(self, kind: str, device: str = "door-1", event: str = EVENT, version: str = "v1") -> str:
        return f"{self.prefix}/{version}/{event}/{device}/{kind}"

    def valid(self) -> tuple[str, bytes]:
        if self.rng.random() < 0.5:
            self.seq["door-1"] += 1
            return self.topic("tap"), tap(self.seq["door-1"]).to_json()
        self.seq["booth-1-scanner"] += 1
        sightings = [sighting(self.rng.choice([ALICE_BEACON, BOB_BEACON]), rssi=-50.0 - self.rng.randint(0, 40))]
        return self.topic("sightings", "booth-1-scanner"), batch(self.seq["booth-1-scanner"], sightings).to_json()

    def _tap_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = orjson.loads(tap(self.rng.randint(1, 10**9)).to_json())
        return doc

    def bad(self) -> tuple[str, bytes, DeadLetterReason]:
        rng = self.rng
        doc = self._tap_doc()
        good = orjson.dumps(doc)
        case = rng.randrange(16)
        if case == 0:  # garbage that is never JSON: an unclosed object of random printable text
            junk = "".join(rng.choice("abc:,[]\"' 0123456789") for _ in range(rng.randint(0, 200)))
            return self.topic("tap"), b"{" + junk.encode(), R.INVALID_JSON
        if case == 1:  # truncated: any proper prefix of an object is not JSON
            return self.topic("tap"), good[: rng.randint(1, len(good) - 1)], R.INVALID_JSON
        if case == 2:  # not UTF-8
            return (
                self.topic("tap"),
                b'{"uid": "\xff\xfe' + rng.randbytes(8).replace(b'"', b"x") + b'"}',
                R.INVALID_JSON,
            )
        if case == 3:  # oversized (a valid message, padded past the limit)
            doc["pad"] = "x" * (MAX_BYTES + rng.randint(1, 20_000))
            return self.topic("tap"), orjson.dumps(doc), R.OVERSIZED
        if case == 4:  # JSON, not an object
            return (
                self.topic("tap"),
                rng.choice([b"[1,2]", b'"tap"', b"42", b"null", b"true", b"[]"]),
                R.SCHEMA_VIOLATION,
            )
        if case == 5:  # wrong-typed field
            field, value = rng.choice([("seq", "7"), ("captured_at", "now"), ("uid", 12345), ("badge_id", [1]),
                                       ("seq", True), ("seq", 1.5), ("captured_at", None)])  # fmt: skip
            doc[field] = value
            return self.topic("tap"), orjson.dumps(doc), R.SCHEMA_VIOLATION
        if case == 6:  # unknown field, or a required one missing
            if rng.random() < 0.5:
                doc["admin"] = True
            else:
                del doc[rng.choice(["seq", "captured_at", "uid"])]
            return self.topic("tap"), orjson.dumps(doc), R.SCHEMA_VIOLATION
        if case == 7:  # the payload says it is another kind
            doc["type"] = rng.choice(["sightings", "heartbeat", "status", None, 3])
            return self.topic("tap"), orjson.dumps(doc), R.TYPE_MISMATCH
        if case == 8:  # spoofed: door-1's payload published on the scanner's topic
            return self.topic("tap", "booth-1-scanner"), good, R.DEVICE_MISMATCH
        if case == 9:  # an unregistered device
            ghost = f"ghost-{rng.randint(0, 10**6)}"
            doc["device_id"] = ghost
            return self.topic("tap", ghost), orjson.dumps(doc), R.UNKNOWN_DEVICE
        if case == 10:  # a revoked device
            doc["device_id"] = "old-1"
            return self.topic("tap", "old-1"), orjson.dumps(doc), R.REVOKED_DEVICE
        if case == 11:  # another event, on the topic or only in the payload
            if rng.random() < 0.5:
                return self.topic("tap", event="other-event"), good, R.WRONG_EVENT
            doc["event_id"] = "other-event"
            return self.topic("tap"), orjson.dumps(doc), R.WRONG_EVENT
        if case == 12:  # topic of the wrong shape
            base = f"{self.prefix}/v1/{EVENT}"
            shapes = [f"{base}/door-1", f"{self.prefix}/x", f"{base}/door-1/tap/extra",
                      f"{self.prefix}/vX/{EVENT}/door-1/tap", f"{base}/bad id/tap"]  # fmt: skip
            topic = rng.choice(shapes)
            return topic, good, R.INVALID_TOPIC
        if case == 13:  # a future version, on the topic or in the payload
            if rng.random() < 0.5:
                return self.topic("tap", version="v2"), good, R.UNSUPPORTED_VERSION
            doc["v"] = rng.choice([0, 2, 99])
            return self.topic("tap"), orjson.dumps(doc), R.UNSUPPORTED_VERSION
        if case == 14:  # a kind the contract does not have
            return self.topic(rng.choice(["bogus", "tapx", "admin"])), good, R.UNKNOWN_KIND
        # case 15: out-of-range values
        doc[rng.choice(["seq"])] = -rng.randint(1, 10**6)
        return self.topic("tap"), orjson.dumps(doc), R.SCHEMA_VIOLATION

    def stream(self) -> tuple[list[tuple[str, bytes]], Counter[str], int]:
        """The interleaved traffic, the expected dead letters per reason, and how many valid messages."""
        rules = Rules(prefix=self.prefix, event_id=EVENT, max_bytes=MAX_BYTES)
        devices = {d: DeviceInfo(d, EVENT, None) for d in ("door-1", "booth-1-scanner")}
        devices["old-1"] = DeviceInfo("old-1", EVENT, None, revoked=True)
        expected: Counter[str] = Counter()
        items: list[tuple[str, bytes, str]] = []
        for _ in range(BAD):
            topic, payload, reason = self.bad()
            got = decode(topic, payload, rules, devices.get)
            assert isinstance(got, Rejected) and got.reason == reason, (topic, payload[:200], got)
            expected[reason.value] += 1
            items.append((topic, payload, "bad"))
        valid = [self.valid() for _ in range(VALID)]
        for topic, payload in valid:
            assert isinstance(decode(topic, payload, rules, devices.get), Accepted)
            items.append((topic, payload, "valid"))
        self.rng.shuffle(items)
        # Replays come after their original (a redelivery never precedes the message).
        for topic, payload in self.rng.sample(valid, REPLAYS):
            items.insert(self.rng.randint(len(items) // 2, len(items)), (topic, payload, "replay"))
        return [(t, p) for t, p, _ in items], expected, VALID


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        dead = conn.execute(select(func.count()).select_from(DeadLetter)).scalar_one()
        stored = conn.execute(select(func.count()).select_from(IngestedMessage)).scalar_one()
    return int(dead), int(stored)


@pytest.fixture
def broker_url(tmp_path: Path, mqtt_url: str) -> Iterator[str]:
    """A Mosquitto of this test's own (no queue limit to pace around), else the session's broker."""
    if MOSQUITTO is None:
        yield mqtt_url
        return
    broker = OwnMosquitto(tmp_path / "mosquitto").start()
    try:
        yield broker.url
    finally:
        broker.stop()


def test_ten_thousand_bad_messages_are_all_dead_lettered_and_valid_traffic_is_all_stored(
    database_url: str, engine: Engine, broker_url: str, topic_prefix: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):  # fmt: skip
    # Thousands of messages a minute from unknown, revoked and malformed senders are over the quota that keeps
    # dead letters from filling the disk (server/ingest/budget.py, tests/server/ingest/test_budget.py); here
    # every message must meet its own reason, so the quota is lifted as the device rate limit is below.
    monkeypatch.setattr("server.ingest.budget.PER_SENDER_PER_MIN", BAD)
    monkeypatch.setattr("server.ingest.budget.ALL_UNTRUSTED_PER_MIN", BAD)
    seed_small_venue(engine)
    with Session(engine) as s:
        s.add(Device(id="old-1", event_id=EVENT, created_at=0.0, revoked_at=1.0))
        s.commit()
    generator = Generator(topic_prefix)
    traffic, expected, valid_count = generator.stream()
    settings = load_settings(
        database_url=database_url, mqtt_url=broker_url, mqtt_protocol="5" if MOSQUITTO else "3.1.1",
        mqtt_topic_prefix=topic_prefix, mqtt_client_id=f"fuzz-{uuid.uuid4().hex[:8]}", admin_token=ADMIN,
        var_dir=tmp_path / "var", mqtt_max_payload_bytes=MAX_BYTES,
        # 13,000 messages through door-1 in seconds is a flood its rate limit would cut (and dead-letter as
        # rate_limited, tests/server/ingest/test_consumer.py); here every message must meet its own reason.
        ingest_device_rate_per_s=0,
    )  # fmt: skip
    app = create_app(settings)
    endpoint = parse_mqtt_url(broker_url)
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"fuzzer-{uuid.uuid4().hex[:8]}")
    publisher.max_inflight_messages_set(200)  # bounded in-flight: the publisher waits for PUBACKs
    started = time.monotonic()
    with TestClient(app) as client:
        ingest = app.state.runtime.ingest
        assert ingest is not None and ingest.wait_connected(10)
        publisher.connect(endpoint.host, endpoint.port)
        publisher.loop_start()
        try:
            infos = []
            for i, (topic, payload) in enumerate(traffic, 1):
                infos.append(publisher.publish(topic, payload, qos=1))
                if i % 1000 == 0:  # let the server keep up: at most ~1,000 messages waiting at the broker
                    for info in infos:
                        info.wait_for_publish(timeout=30)
                    infos.clear()
                    target = i - REPLAYS - 1000  # replays leave no row
                    assert wait_until(lambda t=target: sum(_counts(engine)) >= t, timeout=60), (i, _counts(engine))
            for info in infos:
                info.wait_for_publish(timeout=30)
            done = lambda: _counts(engine) == (BAD, valid_count)  # noqa: E731
            assert wait_until(done, timeout=60), f"dead letters, stored = {_counts(engine)}"
            time.sleep(0.5)  # nothing more trickles in
            assert _counts(engine) == (BAD, valid_count)
        finally:
            publisher.disconnect()
            publisher.loop_stop()
        assert ingest.connected and client.get("/healthz").status_code == 200
        duplicates = app.state.runtime.metrics.messages_duplicate._value.get()
    elapsed = time.monotonic() - started
    dead_letter, touchpoint = DeadLetter.__table__, Touchpoint.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(select(dead_letter.c.reason, func.count()).group_by(dead_letter.c.reason))
        reasons = Counter({str(reason): int(n) for reason, n in rows})
        details = conn.execute(select(dead_letter.c.detail)).scalars().all()
        taps = conn.execute(select(func.count()).select_from(touchpoint).where(touchpoint.c.type == "tap")).scalar_one()
    assert all(details), "every dead letter has its reason's detail"
    assert reasons == expected
    assert duplicates == REPLAYS
    assert taps == generator.seq["door-1"]  # every valid tap once, replays added nothing
    print(f"fuzz: {len(traffic)} messages ({BAD} bad, {valid_count} valid, {REPLAYS} replays) in {elapsed:.1f} s")
