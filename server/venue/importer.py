"""Import a venue document into the store, and export it back: an idempotent upsert in one transaction.

Why an upsert and never "replace": devices carry state the ingest learned (credentials, last sequence
number) and zones carry visits, so the file says what the venue *is* and the import brings rows to that
without deleting anything. Removing a zone or session is an explicit act (the API's DELETE), which can
refuse while something still uses it. Importing the same file twice writes nothing the second time.

References resolve against the file *and* the store: a file with only the agenda may name rooms imported
last week. Every problem is collected before anything is written, each with its path::

    sessions[3].zone_id: unknown zone 'room-z'
    zones[7].exhibitor_id: only a booth has an exhibitor, and 'lounge' is a lounge

The per-resource API routes (``PUT /api/v1/zones/{id}`` ...) go through :func:`apply_venue` with a
one-item document, so a zone edited by hand is checked exactly like one imported from a file.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, col, select

from server.domain.model import ZoneKind
from server.store.models import AgendaSession, Device, Event, Exhibitor, Zone
from server.venue.report import ImportReport
from server.venue.schema import (
    DeviceSpec,
    EventSpec,
    ExhibitorSpec,
    Path,
    SessionSpec,
    Venue,
    VenueError,
    ZoneSpec,
)

IN_CHUNK = 500  # ids per `IN (...)`: well under SQLite's bound-parameter limit
# The columns a venue document owns, per table. Everything else (a device's credentials, state, last_seq,
# created_at...) belongs to enrolment and ingest and is never touched by an import.
EVENT_FIELDS = ("name", "timezone", "starts_at", "ends_at")
EXHIBITOR_FIELDS = ("name", "interests")
ZONE_FIELDS = ("name", "kind", "x", "y", "width", "height", "floor", "capacity", "exhibitor_id")
SESSION_FIELDS = ("title", "zone_id", "starts_at", "ends_at", "tags")
DEVICE_FIELDS = ("name", "zone_id", "x", "y", "rssi_offset_db")

Row = TypeVar("Row", bound=SQLModel)


def import_venue(
    engine: Engine, venue: Venue, *, event_id: str | None = None, now: float | None = None
) -> ImportReport:
    """Bring the store to ``venue`` in one transaction; raise :class:`VenueError` (nothing written) if invalid.

    ``event_id`` pins the event (the API's server runs one event): a document naming another is refused.
    """
    with Session(engine) as session:
        report = apply_venue(session, venue, event_id=event_id, now=now)
        session.commit()
    return report


def apply_venue(
    session: Session, venue: Venue, *, event_id: str | None = None, now: float | None = None
) -> ImportReport:
    """The work of :func:`import_venue` inside the caller's session (flushed, not committed)."""
    now = time.time() if now is None else now
    event_id = _resolve_event(session, venue.event, event_id)
    stored = _StoredVenue(session, event_id)
    problems = [*_foreign_ids(session, venue, event_id), *_reference_problems(venue, stored)]
    if problems:
        raise VenueError(problems)

    report = ImportReport()
    if venue.event is not None:
        event = Event(id=event_id, **_fields(venue.event, EVENT_FIELDS))
        _upsert(session, report, "event", session.get(Event, event_id), event, EVENT_FIELDS)
    for e in venue.exhibitors:
        exhibitor = Exhibitor(id=e.id, event_id=event_id, **_fields(e, EXHIBITOR_FIELDS))
        _upsert(session, report, "exhibitors", stored.exhibitors.get(e.id), exhibitor, EXHIBITOR_FIELDS)
    session.flush()  # parents before children: PostgreSQL checks foreign keys per statement
    for z in venue.zones:
        zone = Zone(id=z.id, event_id=event_id, **_fields(z, ZONE_FIELDS))
        _upsert(session, report, "zones", stored.zones.get(z.id), zone, ZONE_FIELDS)
    session.flush()
    for s in venue.sessions:
        agenda = AgendaSession(id=s.id, event_id=event_id, **_fields(s, SESSION_FIELDS))
        _upsert(session, report, "sessions", stored.sessions.get(s.id), agenda, SESSION_FIELDS)
    for d in venue.devices:
        current_device = stored.devices.get(d.id)
        device = Device(id=d.id, event_id=event_id, created_at=now, **_fields(d, DEVICE_FIELDS))
        if _upsert(session, report, "devices", current_device, device, DEVICE_FIELDS) != "unchanged":
            target = current_device or device
            target.config_version += 1  # the device learns its new zone from a new retained config
            report.changed_devices.append(d.id)
    session.flush()
    return report


def export_venue(engine: Engine, event_id: str) -> Venue:
    """The stored venue of ``event_id`` as a document; importing it back changes nothing."""
    with Session(engine) as session:
        event = session.get(Event, event_id)
        if event is None:
            raise LookupError(f"event {event_id!r} is not set up yet")
        stored = _StoredVenue(session, event_id)
        return Venue(
            event=EventSpec(id=event.id, **_fields(event, EVENT_FIELDS)),
            exhibitors=[ExhibitorSpec(id=r.id, **_fields(r, EXHIBITOR_FIELDS)) for r in stored.exhibitors.values()],
            zones=[ZoneSpec(id=r.id, **_fields(r, ZONE_FIELDS)) for r in stored.zones.values()],
            sessions=[SessionSpec(id=r.id, **_fields(r, SESSION_FIELDS)) for r in stored.sessions.values()],
            devices=[DeviceSpec(id=r.id, **_fields(r, DEVICE_FIELDS)) for r in stored.devices.values()],
        )


class _StoredVenue:
    """The event's current rows by id, in id order (what references resolve against, besides the file)."""

    def __init__(self, session: Session, event_id: str) -> None:
        self.exhibitors = _by_id(session, Exhibitor, event_id)
        self.zones = _by_id(session, Zone, event_id)
        self.sessions = _by_id(session, AgendaSession, event_id)
        self.devices = _by_id(session, Device, event_id)


def _by_id(session: Session, model: type[Row], event_id: str) -> dict[str, Row]:
    query = select(model).where(model.event_id == event_id).order_by(model.id)  # type: ignore[attr-defined]
    return {row.id: row for row in session.exec(query)}  # type: ignore[attr-defined]


def _resolve_event(session: Session, event: EventSpec | None, pinned: str | None) -> str:
    if event is not None:
        if pinned is not None and event.id != pinned:
            raise VenueError([(("event", "id"), f"this server runs event {pinned!r}, not {event.id!r}")])
        return event.id
    if pinned is None:
        raise VenueError([(("event",), "missing: a venue file needs its event (id, name, starts_at, ends_at)")])
    if session.get(Event, pinned) is None:
        raise VenueError([(("event",), f"event {pinned!r} is not set up yet: include the event in the document")])
    return pinned


def _foreign_ids(session: Session, venue: Venue, event_id: str) -> Iterable[tuple[Path, str]]:
    """Ids are global primary keys: one already used by another event cannot be taken over silently."""
    sections: Sequence[tuple[str, type[SQLModel], Sequence[Any]]] = (
        ("exhibitors", Exhibitor, venue.exhibitors),
        ("zones", Zone, venue.zones),
        ("sessions", AgendaSession, venue.sessions),
        ("devices", Device, venue.devices),
    )
    for section, model, items in sections:
        ids = [item.id for item in items]
        owners: dict[str, str] = {}
        for i in range(0, len(ids), IN_CHUNK):
            id_col = col(model.id)  # type: ignore[attr-defined]
            query = select(id_col, col(model.event_id)).where(id_col.in_(ids[i : i + IN_CHUNK]))  # type: ignore[attr-defined]
            owners.update({row_id: owner for row_id, owner in session.exec(query)})
        for index, item in enumerate(items):
            owner = owners.get(item.id)
            if owner is not None and owner != event_id:
                yield (section, index, "id"), f"{item.id!r} already belongs to event {owner!r}"


def _reference_problems(venue: Venue, stored: _StoredVenue) -> Iterable[tuple[Path, str]]:
    exhibitors = set(stored.exhibitors) | {e.id for e in venue.exhibitors}
    kinds: dict[str, str] = {zone_id: ZoneKind(z.kind) for zone_id, z in stored.zones.items()}
    kinds.update({z.id: z.kind for z in venue.zones})
    for i, z in enumerate(venue.zones):
        if z.exhibitor_id is None:
            continue
        if z.exhibitor_id not in exhibitors:
            yield ("zones", i, "exhibitor_id"), f"unknown exhibitor {z.exhibitor_id!r}"
        elif z.kind != ZoneKind.BOOTH:
            yield ("zones", i, "exhibitor_id"), f"only a booth has an exhibitor, and {z.id!r} is a {z.kind}"
    for i, s in enumerate(venue.sessions):
        yield from _zone_reference(("sessions", i, "zone_id"), s.zone_id, kinds, need_room=True)
    for i, d in enumerate(venue.devices):
        if d.zone_id is not None:
            yield from _zone_reference(("devices", i, "zone_id"), d.zone_id, kinds, need_room=False)
    # A stored session this document does not move must not end up in a zone that stops being a room.
    moved = {s.id for s in venue.sessions}
    zone_index = {z.id: i for i, z in enumerate(venue.zones)}
    for session_id, held in stored.sessions.items():
        i = zone_index.get(held.zone_id, -1)
        if session_id not in moved and i >= 0 and venue.zones[i].kind != ZoneKind.ROOM:
            yield ("zones", i, "kind"), f"session {session_id!r} is held in {held.zone_id!r}: it must stay a room"


def _zone_reference(path: Path, zone_id: str, kinds: dict[str, str], *, need_room: bool) -> Iterable[tuple[Path, str]]:
    kind = kinds.get(zone_id)
    if kind is None:
        yield path, f"unknown zone {zone_id!r}"
    elif need_room and kind != ZoneKind.ROOM:
        yield path, f"zone {zone_id!r} is a {kind}, not a room"


def _fields(source: Any, names: Sequence[str]) -> dict[str, Any]:
    out = {name: getattr(source, name) for name in names}
    if "kind" in out:
        out["kind"] = ZoneKind(out["kind"])
    return out


def _upsert(
    session: Session, report: ImportReport, kind: str, current: Row | None, wanted: Row, owned: Sequence[str]
) -> str:
    """Insert ``wanted`` or bring ``current``'s owned columns to it, only where they differ."""
    if current is None:
        session.add(wanted)
        report.count(kind, "created")
        return "created"
    changed = [name for name in owned if getattr(current, name) != getattr(wanted, name)]
    for name in changed:
        setattr(current, name, getattr(wanted, name))
    outcome = "updated" if changed else "unchanged"
    if changed:
        session.add(current)
    report.count(kind, outcome)
    return outcome
