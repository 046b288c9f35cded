"""Write a batch of decoded messages in one transaction, idempotently.

Idempotency: each device message's key ``(device_id, seq)`` is inserted into ``ingested_message`` with
ON CONFLICT DO NOTHING ... RETURNING; only messages whose key was new produce touchpoints or device updates.
A redelivered message (the broker resends what we had not acknowledged, or the edge replays its spool)
therefore has no second effect, even inside one batch.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Table, select, update

from edge.protocol import BeaconFormat, Heartbeat, MessageKind, SightingBatch, Status, Tap
from server.domain import model as domain
from server.ingest.decode import Accepted, Rejected
from server.ingest.directory import Directory
from server.store.db import dialect_insert
from server.store.models import DeadLetter, Device, IngestedMessage, Touchpoint, TouchpointType

TOUCHPOINT: Table = Touchpoint.__table__  # type: ignore[attr-defined]
INGESTED: Table = IngestedMessage.__table__  # type: ignore[attr-defined]
DEAD_LETTER: Table = DeadLetter.__table__  # type: ignore[attr-defined]
DEVICE: Table = Device.__table__  # type: ignore[attr-defined]


@dataclass
class WriteResult:
    stored: Counter[str] = field(default_factory=Counter)  # new messages per kind
    duplicates: int = 0
    touchpoints: Counter[str] = field(default_factory=Counter)  # rows per touchpoint type
    dead_letters: Counter[str] = field(default_factory=Counter)  # per reason
    discarded_no_consent: int = 0
    unknown_badges: int = 0
    # Sequence numbers skipped (and arriving after a later one): a broker that dropped messages, or an edge
    # spool that did (its heartbeat reports those), shows up here.
    seq_gaps: int = 0
    seq_late: int = 0
    # What presence needs from this batch: newly stored signals of known, trackable, non-staff badges.
    presence_sightings: list[domain.Sighting] = field(default_factory=list)
    presence_taps: list[domain.Tap] = field(default_factory=list)


def write_batch(
    conn: Connection,
    items: list[Accepted | Rejected],
    directory: Directory,
    received_at: float,
    event_id: str,
) -> WriteResult:
    """Store ``items`` on ``conn`` (the caller owns the transaction). Returns what happened, for metrics."""
    result = WriteResult()
    accepted = [item for item in items if isinstance(item, Accepted)]
    rejected = [item for item in items if isinstance(item, Rejected)]

    keyed = {(a.device.id, a.message.seq): a for a in accepted if not isinstance(a.message, Status)}
    new_keys: set[tuple[str, int]] = set()
    if keyed:
        statement = (
            dialect_insert(conn, INGESTED)
            .on_conflict_do_nothing(index_elements=["device_id", "seq"])
            .returning(INGESTED.c.device_id, INGESTED.c.seq)
        )
        rows = [
            {"device_id": dev, "seq": seq, "kind": a.kind.value, "received_at": received_at}
            for (dev, seq), a in keyed.items()
        ]
        new_keys = {(r.device_id, r.seq) for r in conn.execute(statement, rows)}
    keyed_count = sum(1 for a in accepted if not isinstance(a.message, Status))
    result.duplicates = keyed_count - len(new_keys)
    if new_keys:
        result.seq_gaps, result.seq_late = _sequence_gaps(conn, new_keys)

    touchpoints: list[tuple[Any, ...]] = []
    device_updates: dict[str, dict[str, Any]] = {}
    for (dev, seq), item in keyed.items():
        if (dev, seq) not in new_keys:
            continue
        message = item.message
        result.stored[item.kind.value] += 1
        seen = device_updates.setdefault(dev, {})
        _bump(seen, "last_seen_at", received_at)
        _bump(seen, "last_seq", seq)
        if isinstance(message, Tap):
            touchpoints.append(_tap_row(message, item, received_at, event_id, directory, result))
        elif isinstance(message, SightingBatch):
            touchpoints.extend(_sighting_rows(message, item, received_at, event_id, directory, result))
        elif isinstance(message, Heartbeat) and message.captured_at >= seen.get("_heartbeat_at", float("-inf")):
            seen["_heartbeat_at"] = message.captured_at
            seen["last_heartbeat"] = message.model_dump(mode="json", exclude={"v", "type", "device_id", "event_id"})

    for item in accepted:
        if isinstance(item.message, Status):
            # Arrival order decides: the last status received is the device's state. (A last will's payload
            # is written at connect time, so its `at` cannot be compared with the `online` that followed.)
            result.stored[MessageKind.STATUS.value] += 1
            seen = device_updates.setdefault(item.device.id, {})
            seen["state"] = item.message.state
            seen["state_at"] = item.message.at if item.retained else received_at
            if not item.retained:  # a retained copy replayed on subscribe says nothing about "now"
                _bump(seen, "last_seen_at", received_at)

    if touchpoints:
        insert_touchpoints(conn, touchpoints)
    # In device-id order: ingest workers sharing a subscription update the same device rows, and rows locked
    # in arrival order deadlock between them (seen with two workers on PostgreSQL, docs/scaling.md).
    for device_id, values in sorted(device_updates.items()):
        _update_device(conn, device_id, values)
    # A refused retained message comes back on every resubscribe: keep it once.
    rejected = [r for r in rejected if not (r.retained and _already_dead_lettered(conn, r))]
    if rejected:
        conn.execute(
            DEAD_LETTER.insert(),
            [
                {
                    "received_at": received_at,
                    "topic": r.topic[:1024],
                    "reason": r.reason.value,
                    "detail": r.detail,
                    "device_id": r.device_id[:256] if r.device_id else None,
                    "size": len(r.payload),
                    "payload": r.payload,
                }
                for r in rejected
            ],
        )
        result.dead_letters.update(r.reason.value for r in rejected)
    return result


def _sequence_gaps(conn: Connection, new_keys: set[tuple[str, int]]) -> tuple[int, int]:
    """(numbers skipped, numbers arriving below the device's newest) for this batch's new messages."""
    by_device: dict[str, list[int]] = {}
    for device_id, seq in new_keys:
        by_device.setdefault(device_id, []).append(seq)
    newest = dict(conn.execute(select(DEVICE.c.id, DEVICE.c.last_seq).where(DEVICE.c.id.in_(list(by_device)))).all())
    gaps = late = 0
    for device_id, seqs in by_device.items():
        previous = newest.get(device_id)
        for seq in sorted(seqs):
            if previous is not None and seq < previous:
                late += 1
                continue
            if previous is not None:
                gaps += seq - previous - 1
            previous = seq
    return gaps, late


def _already_dead_lettered(conn: Connection, item: Rejected) -> bool:
    same = (
        DEAD_LETTER.c.topic == item.topic[:1024],
        DEAD_LETTER.c.size == len(item.payload),
        DEAD_LETTER.c.payload == item.payload,
    )
    return conn.execute(select(DEAD_LETTER.c.id).where(*same).limit(1)).first() is not None


def _bump(values: dict[str, Any], key: str, candidate: float) -> None:
    if candidate > values.get(key, float("-inf")):
        values[key] = candidate


def _update_device(conn: Connection, device_id: str, values: dict[str, Any]) -> None:
    columns = {k: v for k, v in values.items() if not k.startswith("_")}
    if columns:
        conn.execute(update(Device).where(Device.id == device_id).values(**columns))  # type: ignore[arg-type]


def _tap_row(
    tap: Tap, item: Accepted, received_at: float, event_id: str, directory: Directory, result: WriteResult
) -> tuple[Any, ...]:
    badge = directory.badge_by_tap(tap.uid, tap.badge_id)
    if badge is None:
        result.unknown_badges += 1
    elif badge.for_presence:
        result.presence_taps.append(domain.Tap(badge.attendee_id, item.device.id, tap.captured_at))
    result.touchpoints[TouchpointType.TAP.value] += 1
    data: dict[str, Any] = {"uid": tap.uid}
    if tap.badge_id:
        data["badge_id"] = tap.badge_id
    if tap.ndef:
        data["ndef"] = [r.model_dump() for r in tap.ndef]
    device = item.device
    return (
        event_id, _TAP, tap.captured_at, received_at, badge.attendee_id if badge else None, device.id,
        device.zone_id, tap.seq, 0, None, None, None, None, None, orjson.dumps(data).decode(),
    )  # fmt: skip


def _sighting_rows(
    batch: SightingBatch, item: Accepted, received_at: float, event_id: str, directory: Directory, result: WriteResult
) -> list[tuple[Any, ...]]:
    """The hot loop of ingest (every sighting passes here): plain tuples in ``TOUCHPOINT_COLUMNS`` order."""
    rows = []
    device_id, zone_id, seq = item.device.id, item.device.zone_id, batch.seq
    lookup = directory.badge_by_beacon
    to_presence = result.presence_sightings.append
    discarded = unknown = 0
    for idx, s in enumerate(batch.sightings):
        badge = lookup(s.beacon_id)
        attendee_id = None
        if badge is None:
            unknown += 1
        elif not badge.trackable:
            # No tracking without consent: the sighting is dropped on arrival and only counted.
            discarded += 1
            continue
        else:
            attendee_id = badge.attendee_id
            if badge.for_presence:
                to_presence(
                    domain.Sighting(attendee_id, device_id, s.rssi, s.first_seen, s.last_seen, s.count, s.distance_m)
                )
        data = _FORMAT_DATA[s.format] if s.battery_mv is None else _sighting_data(s.format, s.battery_mv)
        rows.append((
            event_id, _SIGHTING, s.first_seen, received_at, attendee_id, device_id, zone_id, seq, idx,
            s.beacon_id, s.rssi, s.distance_m, s.count, s.last_seen, data,
        ))  # fmt: skip
    result.discarded_no_consent += discarded
    result.unknown_badges += unknown
    result.touchpoints[TouchpointType.SIGHTING.value] += len(rows)
    return rows


_TAP, _SIGHTING = TouchpointType.TAP.value, TouchpointType.SIGHTING.value
# The ``data`` of a sighting without a battery reading is one of a few strings: built once, not per row.
_FORMAT_DATA = {f: orjson.dumps({"format": f.value}).decode() for f in BeaconFormat}


def _sighting_data(format_: BeaconFormat, battery_mv: int) -> str:
    return orjson.dumps({"format": format_.value, "battery_mv": battery_mv}).decode()


# Device signals are written in this column order, as tuples, straight to the driver: the ORM's per-row
# parameter processing cost more than the database itself (docs/performance.md, "ingest").
TOUCHPOINT_COLUMNS = (
    "event_id", "type", "occurred_at", "received_at", "attendee_id", "device_id", "zone_id", "seq", "idx",
    "beacon_id", "rssi", "distance_m", "count", "ended_at", "data",
)  # fmt: skip
_COLUMN_LIST = ", ".join(f'"{c}"' for c in TOUCHPOINT_COLUMNS)
_SQLITE_INSERT = (
    f"INSERT INTO touchpoint ({_COLUMN_LIST}) VALUES ({', '.join('?' for _ in TOUCHPOINT_COLUMNS)}) "
    "ON CONFLICT (device_id, seq, idx) DO NOTHING"
)
_PG_COPY = f"COPY touchpoint ({_COLUMN_LIST}) FROM STDIN"


def insert_touchpoints(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Append device touchpoints inside the caller's transaction.

    Only messages whose idempotency key was new in this same transaction get here, so a row cannot exist
    already; PostgreSQL therefore takes them by COPY (no ON CONFLICT there; the unique constraint still
    guards, and a violation fails the batch, which the consumer then stores message by message). SQLite keeps
    ON CONFLICT DO NOTHING, which costs it nothing extra.
    """
    cursor = conn.connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            with cursor.copy(_PG_COPY) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(_SQLITE_INSERT, rows)
    finally:
        cursor.close()
