"""`touchpoints edge run` itself, as staff run it: a replayed site survey ends the command by itself."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from edge_support import T0, MqttCollector, wait_for

from edge.ble import AdvertRecord
from edge.protocol import topic_for

REPO = Path(__file__).resolve().parents[2]
UUID = "b9407f30-f5f8-466e-aff9-25556b57fe6d"
# Start-up (imports, connect), the replay itself and the drain take a few seconds; a run that has not exited
# well after that is waiting for a Ctrl-C nobody will press.
EXIT_WITHIN_S = 60


def ibeacon(minor: int, t: float, rssi: int) -> AdvertRecord:
    payload = bytes.fromhex("0215" + UUID.replace("-", "") + "0001" + f"{minor:04x}" + "c5")
    return AdvertRecord(t, f"C3:00:00:00:00:{minor:02X}", rssi, manufacturer_data={76: payload})


def test_run_with_a_replay_publishes_the_survey_and_exits_when_the_file_ends(
    tmp_path: Path, mqtt_url: str, topic_prefix: str, collector_factory: Callable[[str, str], MqttCollector]
) -> None:
    survey = tmp_path / "survey.jsonl"
    records = [ibeacon(1, T0 + i * 0.5, rssi=-60 - i) for i in range(12)]  # 6 recorded seconds, 3 windows
    survey.write_bytes(b"".join(record.to_json() + b"\n" for record in records))
    collector = collector_factory(mqtt_url, f"{topic_prefix}/#")
    command = [
        sys.executable, "-m", "edge.cli", "run",
        "--device-id", "survey-1", "--event", "demo", "--mqtt", mqtt_url, "--topic-prefix", topic_prefix,
        "--spool", str(tmp_path / "spool"), "--no-ble", "--ble-replay", str(survey), "--replay-speed", "0",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=EXIT_WITHIN_S)
    finally:
        collector.publish(topic_for("status", "demo", "survey-1", topic_prefix), b"", retain=True)
    assert done.returncode == 0, done.stderr
    assert "every message was delivered" in done.stderr
    batches = wait_for(lambda: len(collector.of_type("sightings")) == 3 and collector.of_type("sightings"))
    assert [(b["seq"], b["window_start"], b["window_end"]) for b in batches] == [
        (0, T0, T0 + 2.0),
        (1, T0 + 2.0, T0 + 4.0),
        (2, T0 + 4.0, T0 + 6.0),
    ]
    assert [s["count"] for b in batches for s in b["sightings"]] == [4, 4, 4]
    # Only survey-1's own statuses: the embedded test broker (amqtt) has been seen to hand a new subscriber
    # another prefix's retained will.
    statuses = lambda: [s for s in collector.of_type("status") if s["device_id"] == "survey-1"]  # noqa: E731
    wait_for(lambda: len(statuses()) == 2)
    assert [(s["state"], s.get("reason")) for s in statuses()] == [
        ("online", None),
        ("offline", "agent stopped"),
    ]
