"""The contract's decisions (docs/mqtt.md), one test each: model, JSON Schema and prose say the same thing.

Issue 15: an outside team built a client from the docs alone and met contradictions between the three. Each
test pins one decision on the model (edge/protocol.py), on the committed JSON Schema and, where the prose
states a value, on docs/mqtt.md.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from edge.protocol import (
    BEACON_ID_PATTERN,
    MAX_JSON_DEPTH,
    MAX_SIGHTINGS_PER_BATCH,
    UID_PATTERN,
    SightingBatch,
    Tap,
    ibeacon_id,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "mqtt.md").read_text(encoding="utf-8")
UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
TAP = {"v": 1, "type": "tap", "device_id": "door-1", "event_id": "demo", "seq": 1, "captured_at": 1780000000.0}


def schema(kind: str) -> dict[str, Any]:
    return json.loads((ROOT / "docs" / "schemas" / f"{kind}.schema.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def model_accepts(model: type[Tap] | type[SightingBatch], document: dict[str, Any]) -> bool:
    try:
        model.model_validate_json(orjson.dumps(document), strict=True)
    except ValidationError:
        return False
    return True


def sightings_with(beacon_id: str, n: int = 1) -> dict[str, Any]:
    one = {"beacon_id": beacon_id, "format": "ibeacon", "rssi": -60.0, "count": 1, "first_seen": 1780000000.0,
           "last_seen": 1780000001.0}  # fmt: skip
    return {"v": 1, "type": "sightings", "device_id": "s-1", "event_id": "demo", "seq": 1,
            "window_start": 1780000000.0, "window_end": 1780000002.0, "sightings": [one] * n}  # fmt: skip


@pytest.mark.parametrize(
    ("uid", "valid"),
    [("04a1b2c3", True), ("04a1b2c3d4e5f6", True), ("0102030405060708", True), ("04a1b2c3d4e5f6a7b8c9", True),
     ("04a1b2c", False), ("04a1b2c3d", False), ("04a1b2", False), ("04A1B2C3", False), ("04:a1:b2:c3", False),
     ("04a1b2c3d4e5f6a7b8c9d0", False)],
)  # fmt: skip
def test_a_uid_is_4_to_10_whole_bytes_of_lowercase_hex_in_model_schema_and_prose(uid: str, valid: bool) -> None:
    assert model_accepts(Tap, TAP | {"uid": uid}) is valid
    assert (re.fullmatch(schema("tap")["properties"]["uid"]["pattern"], uid) is not None) is valid
    assert f"`{UID_PATTERN}`" in DOC and "4 to 10 whole bytes" in DOC


@pytest.mark.parametrize(
    ("major", "valid"),
    [("0", True), ("1", True), ("9999", True), ("10000", True), ("65535", True),
     ("65536", False), ("99999", False), ("00001", False), ("01", False), ("00", False), ("-1", False)],
)  # fmt: skip
def test_ibeacon_major_and_minor_are_0_to_65535_without_leading_zeros_or_refused(major: str, valid: bool) -> None:
    for beacon_id in (f"ibeacon:{UUID}:{major}:1", f"ibeacon:{UUID}:1:{major}"):
        assert model_accepts(SightingBatch, sightings_with(beacon_id)) is valid
        pattern = schema("sightings")["$defs"]["Sighting"]["properties"]["beacon_id"]["pattern"]
        assert (re.fullmatch(pattern, beacon_id) is not None) is valid
    if valid:  # what the reference edge builds from the advertised integers is always canonical
        assert ibeacon_id(UUID.upper(), int(major), int(major)) == f"ibeacon:{UUID}:{major}:{major}"


def test_a_non_canonical_beacon_id_is_refused_never_stored_to_match_nobody() -> None:
    for beacon_id in (
        f"ibeacon:{UUID.upper()}:1:1",
        "altbeacon:" + "AB" * 20,
        "eddystone:" + "0" * 19 + ":" + "0" * 12,
    ):
        assert not model_accepts(SightingBatch, sightings_with(beacon_id))
        assert re.fullmatch(BEACON_ID_PATTERN, beacon_id) is None
    assert "**refuses**" in DOC[DOC.index("## 5. Canonical beacon ids") : DOC.index("## 6.")]


def test_a_message_holds_at_most_500_sightings_in_model_schema_and_every_mention_in_the_prose() -> None:
    beacon = f"ibeacon:{UUID}:1:1"
    assert model_accepts(SightingBatch, sightings_with(beacon, MAX_SIGHTINGS_PER_BATCH))
    assert not model_accepts(SightingBatch, sightings_with(beacon, MAX_SIGHTINGS_PER_BATCH + 1))
    assert schema("sightings")["properties"]["sightings"]["maxItems"] == MAX_SIGHTINGS_PER_BATCH == 500
    places = [r"\| `sightings` \| array of sightings \| \| ≤ ([\d,]+) items", r"≤ ([\d,]+) sightings",
              r"\| Sightings per message \| ([\d,]+) \|", r"full message of ([\d,]+) sightings"]  # fmt: skip
    found = [re.findall(place, DOC) for place in places]
    assert all(found), found  # each place still states the limit
    mentioned = {int(n.replace(",", "")) for numbers in found for n in numbers}
    assert mentioned == {MAX_SIGHTINGS_PER_BATCH}


@pytest.mark.parametrize("seq", ['"5"', "true", "3.0", "null"])
def test_numbers_are_never_coerced_a_wrongly_typed_seq_is_refused(seq: str) -> None:
    payload = orjson.dumps(TAP | {"uid": "04a1b2c3"}).replace(b'"seq":1', f'"seq":{seq}'.encode())
    with pytest.raises(ValidationError):
        Tap.model_validate_json(payload, strict=True)
    assert "coerce" not in DOC.replace("never coerces", "")  # the prose no longer promises leniency
    assert "JSON Schema validators count `3.0` as an integer" in DOC  # where the schema alone cannot say it


@pytest.mark.parametrize("v", ["true", "1.0", '"1"'])
def test_v_must_be_the_integer_1(v: str) -> None:
    payload = orjson.dumps(TAP | {"uid": "04a1b2c3"}).replace(b'"v":1', f'"v":{v}'.encode())
    with pytest.raises(ValidationError):
        Tap.model_validate_json(payload, strict=True)


def test_the_nesting_limit_is_in_the_prose() -> None:
    assert f"{MAX_JSON_DEPTH} levels" in DOC and "BOM" in DOC
