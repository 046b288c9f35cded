"""The agent against a real broker: outage and restart, status and last will, heartbeats, live config."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from edge_support import T0, MqttCollector, agent_settings, free_port, wait_for

from edge.agent import Agent
from edge.ble import AdvertRecord
from edge.nfc import TapRead
from edge.protocol import BleSettings, DeviceConfig, topic_for
from edge.spool import Spool
from server.broker import EmbeddedBroker  # tests may use the server's broker; edge/ itself never does

UUID_A = "b9407f30-f5f8-466e-aff9-25556b57fe6d"
UUID_B = "2f234454-cf6d-4a0f-adf2-f4911ba9ffa6"


def ibeacon(uuid: str, minor: int, t: float, rssi: int = -65) -> AdvertRecord:
    payload = bytes.fromhex("0215" + uuid.replace("-", "") + "0001" + f"{minor:04x}" + "c5")
    return AdvertRecord(t, f"C3:00:00:00:00:{minor:02X}", rssi, manufacturer_data={76: payload})


def taps(agent: Agent, first: int, count: int) -> list[float]:
    """Record taps captured at explicit times; returns their capture times."""
    times = [T0 + 10 * (first + i) + 0.125 for i in range(count)]
    for i, t in enumerate(times):
        agent.record_tap(TapRead(uid=f"04a1b2c3{first + i:06x}", captured_at=t, badge_id=f"B{first + i}"))
    return times


def test_outage_and_restart_lose_nothing_and_keep_order_and_timestamps(
    tmp_path: Path, topic_prefix: str, collector_factory: Callable[[str, str], MqttCollector]
) -> None:
    port = free_port()
    url = f"mqtt://127.0.0.1:{port}"
    settings = agent_settings(tmp_path, url, topic_prefix)
    captured: list[float] = []

    broker = EmbeddedBroker(port=port).start()
    collector = collector_factory(url, f"{topic_prefix}/#")
    first = Agent(settings)
    first.start()
    wait_for(first.publisher.connected.is_set)
    captured += taps(first, 0, 3)
    wait_for(lambda: len(collector.of_type("tap")) == 3)
    assert first.publisher.wait_until_drained(timeout=10)  # their PUBACKs are in, too: the spool is empty

    broker.stop()  # outage: the broker is gone
    wait_for(lambda: not first.publisher.connected.is_set())
    captured += taps(first, 3, 3)
    first.stop()  # the agent restarts during the outage...
    second = Agent(settings)
    second.start()
    captured += taps(second, 6, 3)
    second.stop()  # ...twice (a power cut, say)

    broker = EmbeddedBroker(port=port).start()
    third = Agent(settings)
    try:
        assert third.spool.depth == 6  # both restarts kept the outage's taps; read before start() sends any
        after = collector_factory(url, f"{topic_prefix}/#")
        third.start()
        captured += taps(third, 9, 2)
        wait_for(lambda: len(after.of_type("tap")) >= 8, timeout=15)
        assert third.publisher.wait_until_drained(timeout=10)
    finally:
        third.stop()
        broker.stop()

    received = collector.of_type("tap") + after.of_type("tap")
    distinct: dict[int, dict[str, object]] = {}
    for tap in received:
        assert distinct.setdefault(tap["seq"], tap) == tap  # a redelivery is the very same message
    assert list(distinct) == list(range(11))  # every seq, in order of arrival
    assert [tap["captured_at"] for tap in distinct.values()] == captured
    assert [tap["badge_id"] for tap in distinct.values()] == [f"B{i}" for i in range(11)]


def test_stop_is_prompt_and_idempotent_while_housekeeping_spools_heartbeats(tmp_path: Path) -> None:
    # No broker at all: the pump idles, paho retries, housekeeping spools a heartbeat every second. Stopping
    # must still be quick (this is where a heartbeat reading the spool under its own lock used to hang).
    settings = agent_settings(tmp_path, f"mqtt://127.0.0.1:{free_port()}", "tpt", heartbeat_s=1)
    agent = Agent(settings)
    agent.start()
    wait_for(lambda: agent.spool.depth >= 2, timeout=10)
    stopper = threading.Thread(target=agent.stop, daemon=True)
    stopper.start()
    stopper.join(timeout=20)
    assert not stopper.is_alive(), "Agent.stop() hung"
    agent.stop()  # a second stop is a no-op
    assert agent.spool.closed
    reopened = Spool.in_directory(tmp_path / "spool", "door-1")
    assert [entry.kind for entry in reopened.pending()][:2] == ["heartbeat", "heartbeat"]  # kept for later
    reopened.close()


def test_status_is_retained_online_then_offline_and_heartbeats_report_health(
    tmp_path: Path, mqtt_url: str, topic_prefix: str, collector_factory: Callable[[str, str], MqttCollector]
) -> None:
    collector = collector_factory(mqtt_url, f"{topic_prefix}/#")
    agent = Agent(agent_settings(tmp_path, mqtt_url, topic_prefix))
    agent.start()
    try:
        wait_for(lambda: collector.of_type("status"))
        beat = agent.heartbeat()
        [received] = wait_for(lambda: collector.of_type("heartbeat"))
    finally:
        agent.stop()
    wait_for(lambda: len(collector.of_type("status")) == 2)
    assert [(s["state"], s.get("reason")) for s in collector.of_type("status")] == [
        ("online", None),
        ("offline", "agent stopped"),
    ]
    assert received == beat.model_dump(mode="json", exclude_none=True)
    assert (received["nfc_state"], received["ble_state"], received["spool_dropped"]) == (
        "disabled",
        "disabled",
        0,
    )
    assert received["versions"]["paho-mqtt"]
    late = collector_factory(mqtt_url, f"{topic_prefix}/+/+/+/status")
    wait_for(lambda: late.messages)
    assert {(status["state"], retained) for _, status, retained in late.messages} == {("offline", True)}
    late.publish(topic_for("status", "demo", "door-1", topic_prefix), b"", retain=True)  # leave no retained junk


def test_a_retained_config_change_is_applied_live(
    tmp_path: Path, mqtt_url: str, topic_prefix: str, collector_factory: Callable[[str, str], MqttCollector]
) -> None:
    config_topic = topic_for("config", "demo", "door-1", topic_prefix)
    collector = collector_factory(mqtt_url, f"{topic_prefix}/#")

    def push(version: int, uuid: str, window_s: float) -> None:
        config = DeviceConfig(
            device_id="door-1",
            event_id="demo",
            config_version=version,
            zone_id=f"hall-{version}",
            ble=BleSettings(uuids=[uuid], window_s=window_s),
            retap_gap_s=5.0 + version,
        )
        collector.publish(config_topic, config.to_json(), retain=True)

    now = [T0]
    agent = Agent(agent_settings(tmp_path, mqtt_url, topic_prefix), clock=lambda: now[0])
    push(1, UUID_A, 2.0)  # retained before the agent even starts
    agent.start()
    try:
        wait_for(lambda: agent.config.config_version == 1)
        for record in [ibeacon(UUID_A, 1, T0 + 0.5), ibeacon(UUID_B, 2, T0 + 0.6)]:
            now[0] = record.t
            agent.handler(*record.to_bleak())
        agent.handler.tick(T0 + 2.0)
        [first] = wait_for(lambda: collector.of_type("sightings"))

        push(2, UUID_B, 4.0)  # while running: no restart
        wait_for(lambda: agent.config.config_version == 2)
        for record in [ibeacon(UUID_A, 1, T0 + 4.5), ibeacon(UUID_B, 2, T0 + 4.6)]:
            now[0] = record.t
            agent.handler(*record.to_bleak())
        agent.handler.tick(T0 + 8.0)
        wait_for(lambda: len(collector.of_type("sightings")) == 2)
        beat = agent.heartbeat()
    finally:
        agent.stop()
        collector.publish(config_topic, b"", retain=True)
        collector.publish(topic_for("status", "demo", "door-1", topic_prefix), b"", retain=True)
    second = collector.of_type("sightings")[1]
    assert [s["beacon_id"] for s in first["sightings"]] == [f"ibeacon:{UUID_A}:1:1"]
    assert [s["beacon_id"] for s in second["sightings"]] == [f"ibeacon:{UUID_B}:1:2"]
    assert (second["window_start"], second["window_end"]) == (T0 + 4.0, T0 + 8.0)
    assert (beat.config_version, agent.config.zone_id, agent.config.retap_gap_s) == (2, "hall-2", 7.0)


def test_a_replayed_survey_arrives_as_sighting_batches(
    tmp_path: Path, mqtt_url: str, topic_prefix: str, collector_factory: Callable[[str, str], MqttCollector]
) -> None:
    survey = tmp_path / "survey.jsonl"
    records = [ibeacon(UUID_A, 1, T0 + i * 0.5, rssi=-60 - i) for i in range(8)]  # 4 recorded seconds
    survey.write_bytes(b"".join(record.to_json() + b"\n" for record in records))
    collector = collector_factory(mqtt_url, f"{topic_prefix}/+/+/+/sightings")
    settings = agent_settings(tmp_path, mqtt_url, topic_prefix, ble={"replay": str(survey), "replay_speed": 0})
    agent = Agent(settings)
    agent.start()
    try:
        assert agent.replay_done.wait(10)
        batches = wait_for(lambda: len(collector.of_type("sightings")) == 2 and collector.of_type("sightings"))
    finally:
        agent.stop()
        collector.publish(topic_for("status", "demo", "door-1", topic_prefix), b"", retain=True)
    assert [(b["seq"], b["window_start"], b["window_end"]) for b in batches] == [
        (0, T0, T0 + 2.0),
        (1, T0 + 2.0, T0 + 4.0),
    ]
    assert [(s["count"], s["rssi"], s["first_seen"], s["last_seen"]) for b in batches for s in b["sightings"]] == [
        (4, -61.5, T0, T0 + 1.5),
        (4, -65.0, T0 + 2.0, T0 + 3.5),
    ]
