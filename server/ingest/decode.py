"""Turn one raw MQTT message into an accepted contract message or a reasoned rejection.

Pure: no I/O, no clock. The caller passes the device lookup (an in-memory directory) and the limits, so
that every rule about what we accept is in one place and testable with plain values::

    >>> from edge.protocol import DEFAULT_PREFIX
    >>> rule = Rules(prefix=DEFAULT_PREFIX, event_id="demo", max_bytes=1024)
    >>> decode("touchpoints/v1/demo/door-1/tap", b"{", rule, lambda _id: None).reason
    <DeadLetterReason.UNKNOWN_DEVICE: 'unknown_device'>
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson
from pydantic import ValidationError

from edge.protocol import DEVICE_KINDS, MAX_JSON_DEPTH, MODEL_BY_KIND, SCHEMA_VERSION, MessageKind, parse_topic
from edge.protocol import DeviceMessage as ContractMessage
from server.store.models import DeadLetterReason

# Keep dead-letter details readable; the raw bytes are stored beside them anyway.
MAX_DETAIL_CHARS = 1000


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: str
    event_id: str
    zone_id: str | None
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Rules:
    prefix: str
    event_id: str
    max_bytes: int


@dataclass(frozen=True, slots=True)
class Accepted:
    topic: str
    kind: MessageKind
    message: ContractMessage
    device: DeviceInfo
    retained: bool = False  # the broker's retained copy, replayed on (re)subscribe: old news


@dataclass(frozen=True, slots=True)
class Rejected:
    topic: str
    reason: DeadLetterReason
    detail: str
    device_id: str | None
    payload: bytes
    retained: bool = False
    size: int | None = None  # the whole payload's length when ``payload`` is an excerpt (server/ingest/budget.py)

    @property
    def length(self) -> int:
        return len(self.payload) if self.size is None else self.size


DeviceLookup = Callable[[str], DeviceInfo | None]


def decode(topic: str, payload: bytes, rules: Rules, lookup: DeviceLookup) -> Accepted | Rejected | None:
    """Validate ``payload`` on ``topic``.

    None means "nothing to ingest": the server's own config topic, or an empty retained status (how an
    operator clears a retired device's retained message).
    """

    def reject(reason: DeadLetterReason, detail: str, device_id: str | None = None) -> Rejected:
        return Rejected(topic, reason, detail[:MAX_DETAIL_CHARS], device_id, payload)

    # Size first: never parse a payload a limit already refuses. (The topic says whose it is: a registered
    # device's oversized message is kept whole for its operator, a stranger's cut short, ingest/budget.py.)
    parts = parse_topic(topic)
    if len(payload) > rules.max_bytes:
        sender = parts.device_id if parts is not None and parts.prefix == rules.prefix else None
        return reject(DeadLetterReason.OVERSIZED, f"{len(payload)} bytes > limit {rules.max_bytes}", sender)
    if parts is None or parts.prefix != rules.prefix:
        return reject(DeadLetterReason.INVALID_TOPIC, "expected {prefix}/v1/{event_id}/{device_id}/{kind}")
    if parts.kind == MessageKind.CONFIG or (parts.kind == MessageKind.STATUS and not payload):
        return None
    device_id = parts.device_id
    if parts.version != SCHEMA_VERSION:
        return reject(DeadLetterReason.UNSUPPORTED_VERSION, f"topic version v{parts.version}", device_id)
    if parts.kind not in DEVICE_KINDS:
        return reject(DeadLetterReason.UNKNOWN_KIND, f"unknown message kind {parts.kind!r}", device_id)
    if parts.event_id != rules.event_id:
        return reject(DeadLetterReason.WRONG_EVENT, f"event {parts.event_id!r} is not {rules.event_id!r}", device_id)
    # Identity before parsing: a flood from unregistered senders costs one dictionary lookup each.
    device = lookup(device_id)
    if device is None:
        return reject(DeadLetterReason.UNKNOWN_DEVICE, f"device {device_id!r} is not registered", device_id)
    if device.revoked:
        return reject(DeadLetterReason.REVOKED_DEVICE, f"device {device_id!r} was revoked", device_id)
    if device.event_id != rules.event_id:
        return reject(DeadLetterReason.WRONG_EVENT, f"device belongs to event {device.event_id!r}", device_id)
    # The common case first: a well-formed message is parsed and validated once, in pydantic-core. Anything
    # it refuses is judged again below, step by step, for the precise reason (the outcome is the same).
    try:
        message = MODEL_BY_KIND[parts.kind].model_validate_json(payload, strict=True)
    except ValidationError:
        pass
    else:
        # "type" has a default in the model but must be present on the wire (docs/mqtt.md).
        if "type" in message.model_fields_set and message.device_id == device_id and message.event_id == parts.event_id:
            return Accepted(topic, MessageKind(parts.kind), message, device)  # type: ignore[arg-type]
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return reject(DeadLetterReason.INVALID_JSON, str(exc), device_id)
    if _nesting(document) > MAX_JSON_DEPTH:
        return reject(DeadLetterReason.INVALID_JSON, f"nested deeper than {MAX_JSON_DEPTH} levels", device_id)
    if not isinstance(document, dict):
        return reject(DeadLetterReason.SCHEMA_VIOLATION, "payload must be a JSON object", device_id)
    version = document.get("v", SCHEMA_VERSION)
    # Another version is an integer other than 1; "1", true or 1.0 are a broken v1 message (schema_violation).
    if isinstance(version, int) and not isinstance(version, bool) and version != SCHEMA_VERSION:
        return reject(DeadLetterReason.UNSUPPORTED_VERSION, f"payload version v={version!r}", device_id)
    declared_type = document.get("type")
    if declared_type != parts.kind:
        return reject(DeadLetterReason.TYPE_MISMATCH, f"type {declared_type!r} on a {parts.kind!r} topic", device_id)
    if document.get("device_id") != device_id:
        return reject(
            DeadLetterReason.DEVICE_MISMATCH,
            f"payload device_id {document.get('device_id')!r} does not match topic device {device_id!r}",
            device_id,
        )
    if document.get("event_id") != parts.event_id:
        return reject(
            DeadLetterReason.WRONG_EVENT,
            f"payload event_id {document.get('event_id')!r} does not match topic event {parts.event_id!r}",
            device_id,
        )
    try:
        # Strict: "5" is not a number and true is not 1. JSON still gives ints for floats, strings for enums.
        message = MODEL_BY_KIND[parts.kind].model_validate_json(payload, strict=True)
    except ValidationError as exc:
        return reject(DeadLetterReason.SCHEMA_VIOLATION, _summarize(exc), device_id)
    return Accepted(topic, MessageKind(parts.kind), message, device)  # type: ignore[arg-type]


def _nesting(document: object) -> int:
    """How many levels of arrays and objects ``document`` nests (a scalar is 0, ``{}`` is 1). Iterative."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _summarize(exc: ValidationError) -> str:
    """``sightings.0.rssi: Input should be less than or equal to 20; ...`` — short and field-addressed."""
    errors = exc.errors(include_url=False)
    shown = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in errors[:5])
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    return shown + more
