"""The contract decisions of issue 15 as ingest applies them (docs/mqtt.md sections 2, 3, 5, 9 and 11)."""

from __future__ import annotations

import orjson
import pytest
from support import EVENT, T0, tap

from edge.protocol import MAX_JSON_DEPTH, MessageKind, topic_for
from server.ingest.decode import Accepted, DeviceInfo, Rejected, Rules, decode
from server.store.models import DeadLetterReason as R

RULES = Rules(prefix="touchpoints", event_id=EVENT, max_bytes=64 * 1024)
DEVICES = {"door-1": DeviceInfo("door-1", EVENT, "entrance"), "s-1": DeviceInfo("s-1", EVENT, "booth-1")}
TAP_TOPIC = topic_for(MessageKind.TAP, EVENT, "door-1")
UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"


def reason_of(topic: str, payload: bytes) -> R | None:
    result = decode(topic, payload, RULES, DEVICES.get)
    return result.reason if isinstance(result, Rejected) else None if isinstance(result, Accepted) else R.UNSTORABLE


def with_v(v: str) -> bytes:
    return tap(1).to_json().replace(b'"v":1', f'"v":{v}'.encode())


@pytest.mark.parametrize(("v", "reason"), [("2", R.UNSUPPORTED_VERSION), ("0", R.UNSUPPORTED_VERSION),
                                           ('"1"', R.SCHEMA_VIOLATION), ("true", R.SCHEMA_VIOLATION),
                                           ("1.0", R.SCHEMA_VIOLATION), ("null", R.SCHEMA_VIOLATION),
                                           ("1", None)])  # fmt: skip
def test_v_another_integer_is_another_version_anything_else_not_an_integer_is_a_broken_v1_message(
    v: str, reason: R | None
) -> None:
    assert reason_of(TAP_TOPIC, with_v(v)) is reason


@pytest.mark.parametrize("seq", ['"5"', "true", "3.0"])
def test_a_wrongly_typed_seq_is_refused_not_coerced(seq: str) -> None:
    assert reason_of(TAP_TOPIC, tap(1).to_json().replace(b'"seq":1', f'"seq":{seq}'.encode())) is R.SCHEMA_VIOLATION


def test_the_bare_prefix_topic_is_seen_and_dead_lettered_as_an_invalid_topic() -> None:
    assert reason_of("touchpoints", tap(1).to_json()) is R.INVALID_TOPIC


def test_a_byte_order_mark_is_invalid_json() -> None:
    assert reason_of(TAP_TOPIC, b"\xef\xbb\xbf" + tap(1).to_json()) is R.INVALID_JSON


DEPTHS = [(MAX_JSON_DEPTH - 1, R.SCHEMA_VIOLATION), (MAX_JSON_DEPTH, R.INVALID_JSON), (300, R.INVALID_JSON),
          (5_000, R.INVALID_JSON)]  # fmt: skip


@pytest.mark.parametrize(("depth", "reason"), DEPTHS)
def test_json_nested_deeper_than_the_limit_is_invalid_json_whatever_the_depth(depth: int, reason: R) -> None:
    # The tap object is level 1, so an unknown field holding `depth` nested arrays makes depth + 1 levels.
    nested = b"[" * depth + b"]" * depth
    payload = tap(1).to_json()[:-1] + b',"x":' + nested + b"}"
    assert reason_of(TAP_TOPIC, payload) is reason


@pytest.mark.parametrize(
    "beacon", [f"ibeacon:{UUID}:00001:1", f"ibeacon:{UUID}:1:99999", f"ibeacon:{UUID.upper()}:1:1"]
)
def test_a_non_canonical_beacon_id_is_refused_rather_than_stored_to_match_nobody(beacon: str) -> None:
    sighting = {"beacon_id": beacon, "format": "ibeacon", "rssi": -60.0, "count": 1, "first_seen": T0,
                "last_seen": T0 + 1}  # fmt: skip
    doc = {"v": 1, "type": "sightings", "device_id": "s-1", "event_id": EVENT, "seq": 1, "window_start": T0,
           "window_end": T0 + 2, "sightings": [sighting]}  # fmt: skip
    assert reason_of(topic_for(MessageKind.SIGHTINGS, EVENT, "s-1"), orjson.dumps(doc)) is R.SCHEMA_VIOLATION


def test_an_oversized_message_names_its_topics_device_so_that_a_registered_one_is_kept_whole() -> None:
    result = decode(TAP_TOPIC, b" " * (RULES.max_bytes + 1), RULES, DEVICES.get)
    assert isinstance(result, Rejected) and (result.reason, result.device_id) == (R.OVERSIZED, "door-1")
    bare = decode("touchpoints", b" " * (RULES.max_bytes + 1), RULES, DEVICES.get)
    assert isinstance(bare, Rejected) and (bare.reason, bare.device_id) == (R.OVERSIZED, None)
