"""Pure BLE advertisement parsers: iBeacon, AltBeacon and Eddystone UID / URL / TLM.

Input is what bleak hands over (manufacturer data keyed by company id with the id already stripped, service
data keyed by 128-bit UUID string); output is a frozen frame or None. Nothing here raises on bad input:
a scanner in a hall hears thousands of foreign, truncated and malformed advertisements every minute, and
every one of them must simply not be a beacon.

Byte layouts (see ../shared/design.md)::

    iBeacon      company 0x004C: 02 15 | uuid(16) | major(2, BE) | minor(2, BE) | rssi@1m(int8)
    AltBeacon    any company:    BE AC | beacon id(20) | ref rssi@1m(int8) | reserved(1)
    Eddystone    service 0xFEAA: 00 UID | 10 URL | 20 TLM (first byte is the frame type)

Example::

    >>> frame = parse_ibeacon(bytes.fromhex("0215" + "e2c56db5dffb48d2b060d0f5a71096e0" + "0001000ac5"))
    >>> frame.beacon_id, frame.rssi_1m
    ('ibeacon:e2c56db5-dffb-48d2-b060-d0f5a71096e0:1:10', -59)
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from edge.protocol import (
    BeaconFormat,
    altbeacon_id,
    eddystone_uid_id,
    eddystone_url_id,
    ibeacon_id,
)

APPLE_COMPANY_ID = 0x004C
EDDYSTONE_SERVICE_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"
IBEACON_PREFIX = b"\x02\x15"  # type 0x02 (proximity beacon), length 0x15 (21 bytes follow)
IBEACON_LENGTH = 23
ALTBEACON_CODE = b"\xbe\xac"
ALTBEACON_LENGTH = 24
EDDYSTONE_UID, EDDYSTONE_URL, EDDYSTONE_TLM = 0x00, 0x10, 0x20
# Eddystone-UID is 20 bytes with two reserved trailing bytes that many beacons leave out.
EDDYSTONE_UID_LENGTHS = (18, 20)
EDDYSTONE_URL_MAX_ENCODED = 17  # the spec's limit: an advertisement has no room for more
EDDYSTONE_TLM_LENGTH = 14
TLM_UNENCRYPTED_VERSION = 0x00  # version 0x01 is eTLM (encrypted): nothing we can read
# Eddystone advertises its power at 0 m; the spec says RSSI at 1 m is 41 dB lower (free-space loss).
EDDYSTONE_0M_TO_1M_DB = 41
TLM_TEMPERATURE_UNSUPPORTED = 0x8000

URL_SCHEMES = ("http://www.", "https://www.", "http://", "https://")
URL_EXPANSIONS = (
    ".com/", ".org/", ".edu/", ".net/", ".info/", ".biz/", ".gov/",
    ".com", ".org", ".edu", ".net", ".info", ".biz", ".gov",
)  # fmt: skip
_PRINTABLE = range(0x21, 0x7F)  # 0x0e-0x20 and 0x7f-0xff are reserved by the spec: such a frame is invalid


@dataclass(frozen=True, slots=True)
class BeaconFrame:
    """One advertisement of an identifying beacon (everything but TLM)."""

    beacon_id: str
    format: BeaconFormat
    rssi_1m: int | None  # calibrated RSSI at 1 m, dBm; what the distance model needs
    filter_key: str | None  # proximity UUID (iBeacon, AltBeacon) or namespace (Eddystone-UID) for allow-lists


@dataclass(frozen=True, slots=True)
class TelemetryFrame:
    """Eddystone-TLM: no identity of its own; it belongs to the beacon with the same BLE address."""

    battery_mv: int | None
    temperature_c: float | None
    adv_count: int
    uptime_s: float


Frame = BeaconFrame | TelemetryFrame


def _int8(byte: int) -> int:
    return byte - 256 if byte > 127 else byte


def parse_ibeacon(payload: bytes) -> BeaconFrame | None:
    """Apple manufacturer data (company id stripped) -> iBeacon frame."""
    if len(payload) != IBEACON_LENGTH or payload[:2] != IBEACON_PREFIX:
        return None
    proximity_uuid = str(uuid.UUID(bytes=bytes(payload[2:18])))
    major = int.from_bytes(payload[18:20], "big")
    minor = int.from_bytes(payload[20:22], "big")
    return BeaconFrame(
        ibeacon_id(proximity_uuid, major, minor), BeaconFormat.IBEACON, _int8(payload[22]), proximity_uuid
    )


def parse_altbeacon(payload: bytes) -> BeaconFrame | None:
    """Manufacturer data of any company (id stripped) -> AltBeacon frame."""
    if len(payload) != ALTBEACON_LENGTH or payload[:2] != ALTBEACON_CODE:
        return None
    beacon_id = payload[2:22]
    # The AltBeacon spec recommends the first 16 id bytes be an organisational UUID: filter on it.
    org_uuid = str(uuid.UUID(bytes=bytes(beacon_id[:16])))
    return BeaconFrame(altbeacon_id(beacon_id.hex()), BeaconFormat.ALTBEACON, _int8(payload[22]), org_uuid)


def decode_eddystone_url(scheme: int, encoded: bytes) -> str | None:
    if scheme >= len(URL_SCHEMES) or not encoded or len(encoded) > EDDYSTONE_URL_MAX_ENCODED:
        return None
    parts = [URL_SCHEMES[scheme]]
    for byte in encoded:
        if byte < len(URL_EXPANSIONS):
            parts.append(URL_EXPANSIONS[byte])
        elif byte in _PRINTABLE:
            parts.append(chr(byte))
        else:
            return None
    return "".join(parts)


def parse_eddystone(data: bytes) -> Frame | None:
    """Service data under 0xFEAA -> UID, URL or TLM frame (EID and unknown frame types -> None)."""
    if len(data) < 2:
        return None
    frame_type = data[0]
    if frame_type == EDDYSTONE_UID:
        if len(data) not in EDDYSTONE_UID_LENGTHS:
            return None
        namespace, instance = data[2:12].hex(), data[12:18].hex()
        rssi_1m = _int8(data[1]) - EDDYSTONE_0M_TO_1M_DB
        return BeaconFrame(eddystone_uid_id(namespace, instance), BeaconFormat.EDDYSTONE_UID, rssi_1m, namespace)
    if frame_type == EDDYSTONE_URL:
        if len(data) < 4:
            return None
        url = decode_eddystone_url(data[2], data[3:])
        if url is None:
            return None
        rssi_1m = _int8(data[1]) - EDDYSTONE_0M_TO_1M_DB
        return BeaconFrame(eddystone_url_id(url), BeaconFormat.EDDYSTONE_URL, rssi_1m, None)
    if frame_type == EDDYSTONE_TLM:
        if len(data) != EDDYSTONE_TLM_LENGTH or data[1] != TLM_UNENCRYPTED_VERSION:
            return None
        battery_mv = int.from_bytes(data[2:4], "big") or None  # 0 means "not battery powered / unknown"
        raw_temp = int.from_bytes(data[4:6], "big")
        temperature = None
        if raw_temp != TLM_TEMPERATURE_UNSUPPORTED:
            temperature = int.from_bytes(data[4:6], "big", signed=True) / 256  # signed 8.8 fixed point
        return TelemetryFrame(
            battery_mv=battery_mv,
            temperature_c=temperature,
            adv_count=int.from_bytes(data[6:10], "big"),
            uptime_s=int.from_bytes(data[10:14], "big") / 10,  # counted in 0.1 s units
        )
    return None


def parse_advertisement(manufacturer_data: Mapping[int, bytes], service_data: Mapping[str, bytes]) -> list[Frame]:
    """Every beacon frame in one advertisement (usually zero or one)."""
    frames: list[Frame] = []
    for company_id, payload in manufacturer_data.items():
        frame = parse_ibeacon(payload) if company_id == APPLE_COMPANY_ID else None
        if frame is None:
            frame = parse_altbeacon(payload)
        if frame is not None:
            frames.append(frame)
    eddystone = service_data.get(EDDYSTONE_SERVICE_UUID)
    if eddystone is not None:
        frame_or_tlm = parse_eddystone(eddystone)
        if frame_or_tlm is not None:
            frames.append(frame_or_tlm)
    return frames


def normalise_filter(value: str) -> str:
    """Allow-list entries as staff type them (any case, with or without dashes) -> parser's form."""
    text = value.strip().lower()
    compact = text.replace("-", "")
    if len(compact) == 32:
        try:
            return str(uuid.UUID(hex=compact))
        except ValueError:
            return text
    return compact


def passes_filter(frame: BeaconFrame, allowed: frozenset[str]) -> bool:
    """An empty allow-list passes every beacon; otherwise only beacons whose UUID / namespace is listed.

    Eddystone-URL frames carry neither, so they pass only when no allow-list is configured.
    """
    return not allowed or (frame.filter_key is not None and frame.filter_key in allowed)
