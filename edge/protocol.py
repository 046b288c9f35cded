"""The MQTT wire contract between edge devices and the server (docs/mqtt.md is its prose form).

The edge is the producer, so the contract lives here; the server imports it. Nothing in this module
touches the network or the clock: it is topics, payload models and their JSON encoding.

Topic layout (``prefix`` defaults to ``touchpoints``)::

    {prefix}/v1/{event_id}/{device_id}/tap         device -> server  QoS 1
    {prefix}/v1/{event_id}/{device_id}/sightings   device -> server  QoS 1
    {prefix}/v1/{event_id}/{device_id}/heartbeat   device -> server  QoS 1
    {prefix}/v1/{event_id}/{device_id}/status      device -> server  QoS 1, retained, also the last will
    {prefix}/v1/{event_id}/{device_id}/config      server -> device  QoS 1, retained

Every device -> server payload carries ``v`` (the schema version), ``type`` (equal to the topic's last
level), ``device_id`` and ``event_id`` (equal to the topic's levels) and, except ``status``, a per-device
monotonic ``seq``. ``(device_id, seq)`` is the idempotency key: a message redelivered by the broker or
replayed from the edge spool has the same key and no second effect.

Example::

    >>> topic = tap_topic("demo", "door-1")
    >>> topic
    'touchpoints/v1/demo/door-1/tap'
    >>> parse_topic(topic)
    TopicParts(prefix='touchpoints', version=1, event_id='demo', device_id='door-1', kind='tap')
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, NamedTuple

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION: Final = 1
DEFAULT_PREFIX = "touchpoints"
# One sighting encodes to 160-230 bytes, so a full batch of 500 is at most ~115 KiB: the limit leaves twice
# that, and anything far beyond it is a broken or hostile sender.
MAX_PAYLOAD_BYTES = 256 * 1024
# A scanner that hears more beacons in one window splits them over several messages (each its own seq).
MAX_SIGHTINGS_PER_BATCH = 500
# Sightings may start or end this much outside their window: adverts are stamped as they arrive, and the
# window boundary is taken a moment later.
WINDOW_SLACK_S = 1.0
# Canonical beacon ids (see the helpers at the end of this module). Matching is by exact string equality, so
# an id that is not canonical (uppercase hex, a major of "00001" or "99999") is refused rather than stored to
# match nobody: major and minor are decimal 0-65535 without leading zeros.
_UINT16 = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)"
BEACON_ID_PATTERN = (
    rf"^(ibeacon:[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}:{_UINT16}:{_UINT16}"
    r"|altbeacon:[0-9a-f]{40}|eddystone:[0-9a-f]{20}:[0-9a-f]{12}|url:\S{1,120})$"
)
# Tag UIDs: ISO 14443 UIDs are 4, 7 or 10 bytes, a FeliCa IDm 8; any whole number of bytes from 4 to 10.
UID_PATTERN = r"^(?:[0-9a-f]{2}){4,10}$"
# No message of the contract nests deeper than 3 levels; a payload nested deeper than this is not one of ours
# and is refused as invalid JSON before anything looks inside it (JSON parsers stop at ~200-1,000 levels).
MAX_JSON_DEPTH = 64

# Ids appear as topic levels, so they must not contain MQTT wildcards or separators.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
_ID_RE = re.compile(ID_PATTERN)

Id = Annotated[str, Field(pattern=ID_PATTERN, description="1-64 of A-Z a-z 0-9 _ . : - (no / + #)")]
# Unix time in seconds (UTC), fractional. Bounds reject obviously wrong clocks (before 2020, after 2100).
Timestamp = Annotated[float, Field(ge=1_577_836_800, le=4_102_444_800, description="Unix seconds, UTC")]
Seq = Annotated[int, Field(ge=0, le=2**63 - 1, description="Per-device monotonic sequence number")]


class MessageKind(StrEnum):
    TAP = "tap"
    SIGHTINGS = "sightings"
    HEARTBEAT = "heartbeat"
    STATUS = "status"
    CONFIG = "config"


# Kinds a device publishes; `config` flows the other way.
DEVICE_KINDS = frozenset({MessageKind.TAP, MessageKind.SIGHTINGS, MessageKind.HEARTBEAT, MessageKind.STATUS})
QOS = 1


class TopicParts(NamedTuple):
    prefix: str
    version: int
    event_id: str
    device_id: str
    kind: str


def topic_for(kind: MessageKind | str, event_id: str, device_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}/v{SCHEMA_VERSION}/{event_id}/{device_id}/{MessageKind(kind).value}"


def tap_topic(event_id: str, device_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    return topic_for(MessageKind.TAP, event_id, device_id, prefix)


def subscription_filter(prefix: str = DEFAULT_PREFIX) -> str:
    """What the server subscribes to: every version and kind, so that unknown ones can be dead-lettered."""
    return f"{prefix}/#"


def parse_topic(topic: str) -> TopicParts | None:
    """Split a topic into its levels, or None when it does not have the contract's shape."""
    levels = topic.split("/")
    if len(levels) != 5:
        return None
    prefix, version, event_id, device_id, kind = levels
    if not version.startswith("v") or not version[1:].isdigit():
        return None
    if not _ID_RE.match(event_id) or not _ID_RE.match(device_id):
        return None
    return TopicParts(prefix, int(version[1:]), event_id, device_id, kind)


def _require_v_and_type(schema: dict[str, Any]) -> None:
    """`v` and `type` have defaults in Python, yet on the wire every message must carry both."""
    required = schema.setdefault("required", [])
    for name in ("type", "v"):
        if name not in required:
            required.insert(0, name)


class _Message(BaseModel):
    # Unknown fields are rejected so that typos surface at the producer, not as silently missing data.
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_require_v_and_type)

    v: Literal[1] = 1
    device_id: Id
    event_id: Id

    @field_validator("v", mode="before")
    @classmethod
    def _integer_version(cls, value: object) -> object:
        # JSON true and 1.0 equal 1 in Python, so the literal alone would let them through.
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("v must be the integer 1")
        return value

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))


class NdefRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["text", "uri", "other"]
    value: str = Field(max_length=1024)


class Tap(_Message):
    """One presentation of an NFC badge to a reader (a tag held on the reader is one tap)."""

    type: Literal["tap"] = "tap"
    seq: Seq
    captured_at: Timestamp
    uid: str = Field(pattern=UID_PATTERN, description="Tag UID (or FeliCa IDm), lowercase hex, 4 to 10 whole bytes")
    badge_id: str | None = Field(default=None, max_length=128, description="Badge id read from NDEF, if any")
    ndef: list[NdefRecord] = Field(default_factory=list, max_length=16)


class BeaconFormat(StrEnum):
    IBEACON = "ibeacon"
    ALTBEACON = "altbeacon"
    EDDYSTONE_UID = "eddystone_uid"
    EDDYSTONE_URL = "eddystone_url"


class Sighting(BaseModel):
    """One beacon heard during a scan window, already smoothed by the edge."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    beacon_id: str = Field(
        pattern=BEACON_ID_PATTERN, max_length=128, description="Canonical beacon id, see docs/mqtt.md"
    )
    format: BeaconFormat
    rssi: float = Field(ge=-127, le=20, description="Smoothed RSSI over the window, dBm")
    distance_m: float | None = Field(default=None, ge=0, le=1000, description="Estimated distance, metres")
    count: int = Field(ge=1, le=100_000, description="Advertisements received in the window")
    first_seen: Timestamp
    last_seen: Timestamp
    tx_power: int | None = Field(default=None, ge=-127, le=20, description="Calibrated RSSI at 1 m, dBm")
    battery_mv: int | None = Field(default=None, ge=0, le=10_000, description="From Eddystone-TLM, if seen")

    @model_validator(mode="after")
    def _ordered(self) -> Sighting:
        if self.last_seen < self.first_seen:
            raise ValueError("last_seen is before first_seen")
        return self


class SightingBatch(_Message):
    """Every beacon one scanner heard in one window: batching keeps the message rate low."""

    type: Literal["sightings"] = "sightings"
    seq: Seq
    window_start: Timestamp
    window_end: Timestamp
    sightings: list[Sighting] = Field(max_length=MAX_SIGHTINGS_PER_BATCH)

    @model_validator(mode="after")
    def _inside_window(self) -> SightingBatch:
        if self.window_end < self.window_start:
            raise ValueError("window_end is before window_start")
        low, high = self.window_start - WINDOW_SLACK_S, self.window_end + WINDOW_SLACK_S
        for i, s in enumerate(self.sightings):
            if s.first_seen < low or s.last_seen > high:
                raise ValueError(f"sightings.{i} lies outside the window")
        return self


class ReaderState(StrEnum):
    OK = "ok"
    ABSENT = "absent"
    ERROR = "error"
    DISABLED = "disabled"


class Heartbeat(_Message):
    """Health of the device, every `heartbeat_s` seconds."""

    type: Literal["heartbeat"] = "heartbeat"
    seq: Seq
    captured_at: Timestamp
    uptime_s: float = Field(ge=0)
    agent_version: str = Field(max_length=64)
    cpu_temp_c: float | None = Field(default=None, ge=-50, le=150)
    load1: float | None = Field(default=None, ge=0)
    mem_used_pct: float | None = Field(default=None, ge=0, le=100)
    disk_free_mb: float | None = Field(default=None, ge=0)
    spool_depth: int = Field(default=0, ge=0, description="Messages waiting in the on-disk spool")
    spool_dropped: int = Field(default=0, ge=0, description="Messages dropped by the spool's size bound")
    nfc_state: ReaderState = ReaderState.DISABLED
    ble_state: ReaderState = ReaderState.DISABLED
    clock_offset_ms: float | None = Field(default=None, description="Device clock minus reference clock")
    config_version: int | None = Field(default=None, ge=0)
    versions: dict[str, str] = Field(default_factory=dict, max_length=16)


class Status(_Message):
    """Retained presence of the device; the same topic carries its last will (`offline`)."""

    type: Literal["status"] = "status"
    state: Literal["online", "offline"]
    at: Timestamp
    reason: str | None = Field(default=None, max_length=200)
    agent_version: str | None = Field(default=None, max_length=64)


class BleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    uuids: list[str] = Field(default_factory=list, description="iBeacon proximity UUIDs to keep; empty = all")
    namespaces: list[str] = Field(default_factory=list, description="Eddystone namespaces (hex); empty = all")
    window_s: float = Field(default=2.0, gt=0, le=60)
    watchdog_s: float = Field(default=30.0, gt=0, le=3600)


class DeviceConfig(_Message):
    """Server -> device, retained: where the device is and how it should scan. Applied live."""

    type: Literal["config"] = "config"
    config_version: int = Field(ge=0)
    zone_id: Id | None = None
    ble: BleSettings = Field(default_factory=BleSettings)
    retap_gap_s: float = Field(default=3.0, gt=0, le=3600)
    heartbeat_s: float = Field(default=30.0, ge=1, le=3600)


DeviceMessage = Tap | SightingBatch | Heartbeat | Status
MODEL_BY_KIND: dict[str, type[_Message]] = {
    MessageKind.TAP: Tap,
    MessageKind.SIGHTINGS: SightingBatch,
    MessageKind.HEARTBEAT: Heartbeat,
    MessageKind.STATUS: Status,
    MessageKind.CONFIG: DeviceConfig,
}


def capture_time(message: DeviceMessage) -> float:
    """When the device produced ``message``, by its own clock: the server judges a backlog's rate by it."""
    if isinstance(message, SightingBatch):
        return message.window_end
    if isinstance(message, Status):
        return message.at
    return message.captured_at


def json_schemas() -> dict[str, dict[str, object]]:
    """One JSON Schema per message kind, as published in docs/schemas/."""
    return {kind: model.model_json_schema() for kind, model in MODEL_BY_KIND.items()}


# Canonical beacon ids (the `beacon_id` of a sighting). Lowercase hex, fixed widths, so that the same
# beacon always gets the same id whichever scanner heard it.
def ibeacon_id(uuid: str, major: int, minor: int) -> str:
    return f"ibeacon:{uuid.lower()}:{major}:{minor}"


def altbeacon_id(beacon_id_hex: str) -> str:
    return f"altbeacon:{beacon_id_hex.lower()}"


def eddystone_uid_id(namespace_hex: str, instance_hex: str) -> str:
    return f"eddystone:{namespace_hex.lower()}:{instance_hex.lower()}"


def eddystone_url_id(url: str) -> str:
    return f"url:{url}"
