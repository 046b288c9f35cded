"""What ingest accepts and why it refuses the rest: one rule per test, plain values."""

from __future__ import annotations

import orjson
import pytest
from support import ALICE_BEACON, EVENT, T0, batch, sighting, tap

from edge.protocol import MessageKind, topic_for
from server.ingest.decode import Accepted, DeviceInfo, Rejected, Rules, decode
from server.store.models import DeadLetterReason as R

RULES = Rules(prefix="touchpoints", event_id=EVENT, max_bytes=4096)
DEVICES = {
    "door-1": DeviceInfo("door-1", EVENT, "entrance"),
    "old-1": DeviceInfo("old-1", EVENT, None, revoked=True),
    "other-1": DeviceInfo("other-1", "other-event", None),
}
TAP_TOPIC = topic_for(MessageKind.TAP, EVENT, "door-1")


def run(topic: str, payload: bytes | dict[str, object]) -> Accepted | Rejected | None:
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return decode(topic, raw, RULES, DEVICES.get)


def reason_of(topic: str, payload: bytes | dict[str, object]) -> R:
    result = run(topic, payload)
    assert isinstance(result, Rejected), result
    return result.reason


def tap_doc(**changes: object) -> dict[str, object]:
    doc = orjson.loads(tap(1).to_json())
    doc.update(changes)
    return doc


def test_a_valid_tap_is_accepted_with_its_device():
    result = run(TAP_TOPIC, tap(1).to_json())
    assert isinstance(result, Accepted)
    assert result.kind is MessageKind.TAP
    assert result.message == tap(1)
    assert result.device.zone_id == "entrance"


def test_a_valid_sighting_batch_is_accepted():
    message = batch(5, [sighting(ALICE_BEACON)], device="door-1")
    result = run(topic_for(MessageKind.SIGHTINGS, EVENT, "door-1"), message.to_json())
    assert isinstance(result, Accepted) and result.message == message


def test_the_servers_own_config_topic_is_ignored_not_dead_lettered():
    assert run(topic_for(MessageKind.CONFIG, EVENT, "door-1"), b"{}") is None


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (TAP_TOPIC, b"x" * 5000, R.OVERSIZED),
        ("touchpoints/v1/demo/door-1", b"{}", R.INVALID_TOPIC),
        ("elsewhere/v1/demo/door-1/tap", b"{}", R.INVALID_TOPIC),
        ("touchpoints/v1/demo/door+1/tap", b"{}", R.INVALID_TOPIC),
        ("touchpoints/v2/demo/door-1/tap", b"{}", R.UNSUPPORTED_VERSION),
        ("touchpoints/v1/demo/door-1/selfie", b"{}", R.UNKNOWN_KIND),
        ("touchpoints/v1/other-event/door-1/tap", b"{}", R.WRONG_EVENT),
        ("touchpoints/v1/demo/ghost-9/tap", b"{}", R.UNKNOWN_DEVICE),
        ("touchpoints/v1/demo/old-1/tap", b"{}", R.REVOKED_DEVICE),
        ("touchpoints/v1/demo/other-1/tap", b"{}", R.WRONG_EVENT),
        (TAP_TOPIC, b"{not json", R.INVALID_JSON),
        (TAP_TOPIC, b"[1, 2]", R.SCHEMA_VIOLATION),
        (TAP_TOPIC, tap_doc(type="sightings"), R.TYPE_MISMATCH),
        (TAP_TOPIC, tap_doc(device_id="door-2"), R.DEVICE_MISMATCH),
        (TAP_TOPIC, tap_doc(event_id="other-event"), R.WRONG_EVENT),
        (TAP_TOPIC, tap_doc(seq=-1), R.SCHEMA_VIOLATION),
        (TAP_TOPIC, tap_doc(uid="not-hex"), R.SCHEMA_VIOLATION),
        (TAP_TOPIC, tap_doc(captured_at="yesterday"), R.SCHEMA_VIOLATION),
        (TAP_TOPIC, tap_doc(v=2), R.UNSUPPORTED_VERSION),
        (TAP_TOPIC, tap_doc(seq="5"), R.SCHEMA_VIOLATION),
        (TAP_TOPIC, tap_doc(seq=True), R.SCHEMA_VIOLATION),
        (TAP_TOPIC, tap_doc(uid="04a1b"), R.SCHEMA_VIOLATION),
        (TAP_TOPIC, tap_doc(surprise=True), R.SCHEMA_VIOLATION),
    ],
)
def test_refusals_carry_their_reason(topic: str, payload: bytes | dict[str, object], reason: R):
    assert reason_of(topic, payload) is reason


def test_a_schema_violation_names_the_field():
    doc = orjson.loads(batch(1, [sighting(ALICE_BEACON)], device="door-1").to_json())
    doc["sightings"][0]["rssi"] = 99
    result = run(topic_for(MessageKind.SIGHTINGS, EVENT, "door-1"), doc)
    assert isinstance(result, Rejected)
    assert result.detail.startswith("sightings.0.rssi:")


def test_a_refusal_keeps_the_raw_bytes_and_the_device():
    result = run(TAP_TOPIC, b"{not json")
    assert isinstance(result, Rejected)
    assert (result.payload, result.device_id, result.topic) == (b"{not json", "door-1", TAP_TOPIC)


def test_an_empty_retained_status_clears_a_device_and_is_not_an_error():
    assert run(topic_for(MessageKind.STATUS, EVENT, "door-1"), b"") is None


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"window_end": T0 - 1}, "window_end is before window_start"),
        ({"sightings": [{"last_seen": T0 - 1}]}, "last_seen is before first_seen"),
        ({"sightings": [{"first_seen": T0 - 60, "last_seen": T0 - 59}]}, "sightings.0 lies outside the window"),
        ({"sightings": [{"beacon_id": "ibeacon:F7826DA6-4FA2-4E98-8024-BC5B71E0893E:1:1"}]}, "beacon_id"),
    ],
)
def test_sighting_batches_must_be_coherent(change: dict[str, object], detail: str):
    doc = orjson.loads(batch(1, [sighting(ALICE_BEACON)], device="door-1").to_json())
    for key, value in change.items():
        if key == "sightings":
            doc["sightings"][0].update(value[0])  # type: ignore[index]
        else:
            doc[key] = value
    result = run(topic_for(MessageKind.SIGHTINGS, EVENT, "door-1"), doc)
    assert isinstance(result, Rejected) and result.reason is R.SCHEMA_VIOLATION
    assert detail in result.detail


def test_timestamps_from_a_broken_clock_are_refused():
    assert reason_of(TAP_TOPIC, tap_doc(captured_at=0)) is R.SCHEMA_VIOLATION
    assert isinstance(run(TAP_TOPIC, tap_doc(captured_at=T0)), Accepted)
