"""End to end: the simulator publishes over a real MQTT connection exactly what it reports."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.protocol import MODEL_BY_KIND, parse_topic
from server.core.config import parse_mqtt_url
from server.simulator.run import run_simulation
from server.simulator.scenario import Scenario

DRAIN_TIMEOUT_S = 15.0


class Recorder:
    """A QoS 1 subscriber to one topic prefix that keeps every (topic, payload, retain) it receives."""

    def __init__(self, mqtt_url: str, prefix: str):
        endpoint = parse_mqtt_url(mqtt_url)
        self.received: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"rec-{uuid.uuid4().hex[:8]}")
        self.client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/#", qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(endpoint.host, endpoint.port)
        self.client.loop_start()
        assert subscribed.wait(10), "subscription not acknowledged"

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append((msg.topic, msg.payload))

    def wait_for(self, count: int) -> int:
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # anything beyond `count` would show up now
        return len(self.received)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def recorder(mqtt_url: str, topic_prefix: str):  # type: ignore[no-untyped-def]
    rec = Recorder(mqtt_url, topic_prefix)
    yield rec
    rec.close()


def test_published_messages_arrive_valid_and_match_the_stats(
    scenario: Scenario, mqtt_url: str, topic_prefix: str, recorder: Recorder, tmp_path: Path
) -> None:
    truth = tmp_path / "truth.jsonl"
    stats = run_simulation(
        scenario,
        mqtt_url,
        prefix=topic_prefix,
        speed=0,
        duration_s=180,
        sim_start_offset_s=0,
        ground_truth_path=truth,
    )
    assert stats.sim_seconds == 180
    assert stats.statuses == 2 * len(scenario.devices)  # online at the start, offline at the end
    assert stats.taps > 0 and stats.batches > 0 and stats.sightings >= stats.batches
    assert stats.messages == stats.batches + stats.taps + stats.heartbeats + stats.statuses
    assert recorder.wait_for(stats.messages) == stats.messages

    seqs: dict[str, list[int]] = {}
    for topic, payload in recorder.received:
        parts = parse_topic(topic)
        assert parts is not None and parts.prefix == topic_prefix and parts.event_id == scenario.event.id
        message = MODEL_BY_KIND[parts.kind].model_validate_json(payload)
        assert message.device_id == parts.device_id
        if hasattr(message, "seq"):
            seqs.setdefault(parts.device_id, []).append(message.seq)  # type: ignore[attr-defined]
    assert all(sorted(s) == list(range(len(s))) for s in seqs.values())
    assert sum(1 for t, _ in recorder.received if t.endswith("/tap")) == stats.taps

    records = [orjson.loads(line) for line in truth.read_bytes().splitlines()]
    intervals = [r for r in records if r["kind"] == "interval"]
    assert intervals and all(stats.sim_start <= r["start"] < r["end"] <= stats.sim_end for r in intervals)
    assert sum(r["kind"] == "tap" for r in records) == stats.taps


def test_a_set_stop_event_ends_the_run_at_once(scenario: Scenario, mqtt_url: str, topic_prefix: str) -> None:
    stop = threading.Event()
    stop.set()
    stats = run_simulation(scenario, mqtt_url, prefix=topic_prefix, speed=1.0, stop=stop)
    assert stats.sim_seconds == 0
    assert stats.messages == stats.statuses == len(scenario.devices)  # only the devices going offline


def test_speed_paces_simulated_time_against_the_wall_clock(
    scenario: Scenario, mqtt_url: str, topic_prefix: str
) -> None:
    stats = run_simulation(scenario, mqtt_url, prefix=topic_prefix, speed=60, duration_s=60, sim_start_offset_s=3600)
    assert stats.sim_seconds == 60
    assert 0.9 <= stats.wall_s < 5  # 60 simulated seconds at 60x: about one second
