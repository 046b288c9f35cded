"""Plain reads for the dashboard: small, indexed queries the live feed and the panels run often.

Each function takes a SQLAlchemy session and returns plain values (dicts, lists of dicts, numbers), so the
feed can diff them and the routes can return them as they are.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from server.domain.model import ZoneKind
from server.store.app_models import Lead
from server.store.models import NOT_A_SIGHTING, AgendaSession, Device, Exhibitor, Touchpoint, Visit, Zone

# Beacon batteries come from the newest sightings; this many rows cover every beacon of a busy hall
# (a sighting batch per scanner every few seconds) without scanning the day's table.
BATTERY_SCAN_ROWS = 5000


def device_rows(session: Session, event_id: str) -> dict[str, dict[str, Any]]:
    """Every device as the fleet panel shows it: zone, state, last seen and the health of its last heartbeat."""
    out: dict[str, dict[str, Any]] = {}
    for d in session.exec(select(Device).where(col(Device.event_id) == event_id)):
        beat = d.last_heartbeat or {}
        out[d.id] = {
            "name": d.name,
            "zone_id": d.zone_id,
            "state": "revoked" if d.revoked_at is not None else str(d.state),
            "state_at": d.state_at,
            "last_seen_at": d.last_seen_at,
            "spool_depth": beat.get("spool_depth"),
            "cpu_temp_c": beat.get("cpu_temp_c"),
            "nfc_state": beat.get("nfc_state"),
            "ble_state": beat.get("ble_state"),
            "heartbeat_at": beat.get("captured_at"),
        }
    return out


def entrance_zone_ids(session: Session, event_id: str) -> list[str]:
    query = select(Zone.id).where(col(Zone.event_id) == event_id, col(Zone.kind) == ZoneKind.ENTRANCE.value)
    return list(session.exec(query))


def first_check_ins(session: Session, event_id: str) -> dict[str, float]:
    """When each attendee first arrived: their first tap at an entrance reader or visit to an entrance zone."""
    entrances = entrance_zone_ids(session, event_id)
    readers = list(session.exec(select(Device.id).where(col(Device.zone_id).in_(entrances))))
    first: dict[str, float] = {}
    taps = select(Touchpoint.attendee_id, func.min(Touchpoint.occurred_at)).where(
        col(Touchpoint.type) == "tap",
        NOT_A_SIGHTING,
        col(Touchpoint.device_id).in_(readers),
        col(Touchpoint.attendee_id).is_not(None),
    )
    visits = select(Visit.attendee_id, func.min(Visit.started_at)).where(
        col(Visit.event_id) == event_id, col(Visit.zone_id).in_(entrances)
    )
    for query, key in ((taps, Touchpoint.attendee_id), (visits, Visit.attendee_id)):
        for attendee_id, at in session.exec(query.group_by(col(key))):
            if attendee_id and at is not None:
                first[attendee_id] = min(at, first.get(attendee_id, at))
    return first


def check_in_series(session: Session, event_id: str, step_s: float) -> dict[str, list[float]]:
    """Cumulative check-ins per ``step_s`` bucket, from the first check-in to the last."""
    times = sorted(first_check_ins(session, event_id).values())
    if not times:
        return {"times": [], "checked_in": []}
    start = times[0] - times[0] % step_s
    buckets = Counter(int((t - start) // step_s) for t in times)
    out_t, out_n, total = [], [], 0
    for i in range(max(buckets) + 1):
        total += buckets.get(i, 0)
        out_t.append(start + (i + 1) * step_s)
        out_n.append(float(total))
    return {"times": out_t, "checked_in": out_n}


def sessions_running(session: Session, event_id: str, now: float) -> int:
    query = select(func.count()).where(
        col(AgendaSession.event_id) == event_id, col(AgendaSession.starts_at) <= now, col(AgendaSession.ends_at) > now
    )
    return int(session.exec(query).one())


def leads_per_exhibitor(session: Session, event_id: str) -> list[dict[str, Any]]:
    names = {e.id: e.name for e in session.exec(select(Exhibitor).where(col(Exhibitor.event_id) == event_id))}
    query = select(Lead.exhibitor_id, func.count()).where(col(Lead.event_id) == event_id)
    counts = dict(session.exec(query.group_by(col(Lead.exhibitor_id))).all())
    rows = [{"exhibitor_id": e, "name": names.get(e, e), "leads": int(counts.get(e, 0))} for e in names | counts]
    return sorted(rows, key=lambda r: (-r["leads"], r["name"]))


def beacon_batteries(session: Session, event_id: str) -> list[dict[str, Any]]:
    """The newest battery reading (Eddystone TLM, in mV) of each beacon seen recently, lowest first."""
    query = (
        select(Touchpoint.beacon_id, Touchpoint.attendee_id, Touchpoint.occurred_at, Touchpoint.data)
        .where(col(Touchpoint.event_id) == event_id, col(Touchpoint.type) == "sighting")
        .order_by(col(Touchpoint.id).desc())
        .limit(BATTERY_SCAN_ROWS)
    )
    seen: dict[str, dict[str, Any]] = {}
    for beacon_id, attendee_id, at, data in session.exec(query):
        if beacon_id and beacon_id not in seen and data and data.get("battery_mv") is not None:
            seen[beacon_id] = {"beacon_id": beacon_id, "attendee_id": attendee_id, "battery_mv": data["battery_mv"],
                               "at": at}  # fmt: skip
    return sorted(seen.values(), key=lambda r: r["battery_mv"])
