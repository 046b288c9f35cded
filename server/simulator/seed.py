"""Write a scenario's event, exhibitors, zones, agenda, devices and attendees into the store.

Idempotent: rows missing are inserted; rows present get the scenario's values for the columns the
scenario owns (names, times, geometry, badges, consent...), and only when they differ, so a second run
with the same scenario writes nothing at all. Columns the ingest maintains (a device's ``state``,
``last_seq``, ``last_seen_at``...) and ``created_at``/``registered_at`` are never touched: re-seeding must
not reset what the running system learned. Re-seeding with a new start (``touchpoints demo`` starts "now")
moves the event and its agenda to the new day. Plain ORM queries, so it runs the same on SQLite and
PostgreSQL.

    >>> seed_database(engine, build_scenario(seed=7))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select

from server.domain.model import ZoneKind
from server.simulator.scenario import Scenario
from server.store.models import (
    AgendaSession,
    Attendee,
    AttendeeRole,
    Device,
    Event,
    Exhibitor,
    Zone,
)

IN_CHUNK = 500  # ids per `IN (...)` query: well under SQLite's bound-parameter limit


# Columns seeding never overwrites on an existing row: the ingest owns them, or they record history.
NOT_OWNED = frozenset(
    {
        "state",
        "state_at",
        "last_seen_at",
        "last_seq",
        "last_heartbeat",
        "credential_hash",
        "revoked_at",
        "created_at",
        "registered_at",
    }
)


def _existing(session: Session, model: Any, ids: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for i in range(0, len(ids), IN_CHUNK):
        for row in session.exec(select(model).where(model.id.in_(ids[i : i + IN_CHUNK]))).all():
            found[row.id] = row
    return found


def _upsert(session: Session, rows: Iterable[SQLModel]) -> int:
    """Insert missing rows, bring the scenario-owned columns of present ones up to date; returns rows written.

    Flushes at the end so that the next table's foreign keys find their parents (PostgreSQL checks them
    per statement).
    """
    rows = list(rows)
    if not rows:
        return 0
    model = type(rows[0])
    present = _existing(session, model, [r.id for r in rows])  # type: ignore[attr-defined]
    owned = [c for c in model.model_fields if c != "id" and c not in NOT_OWNED]
    written = 0
    for row in rows:
        current = present.get(row.id)  # type: ignore[attr-defined]
        if current is None:
            session.add(row)
            written += 1
            continue
        changed = [c for c in owned if getattr(current, c) != getattr(row, c)]
        for column in changed:
            setattr(current, column, getattr(row, column))
        written += bool(changed)
    session.flush()
    return written


def seed_database(engine: Engine, scenario: Scenario) -> None:
    """Make the database hold ``scenario`` (see the module docstring), in one transaction."""
    ev = scenario.event
    # Devices and exhibitors "exist" from a week before the event: registration is not part of the day.
    created = ev.starts_at - 7 * 86400
    with Session(engine) as session:
        _upsert(session, [Event(id=ev.id, name=ev.name, starts_at=ev.starts_at, ends_at=ev.ends_at)])
        _upsert(
            session,
            (Exhibitor(id=e.id, event_id=ev.id, name=e.name, interests=list(e.interests)) for e in scenario.exhibitors),
        )
        _upsert(
            session,
            (
                Zone(
                    id=z.id,
                    event_id=ev.id,
                    name=z.name,
                    kind=ZoneKind(z.kind),
                    x=z.rect.x,
                    y=z.rect.y,
                    width=z.rect.width,
                    height=z.rect.height,
                    capacity=z.capacity,
                    exhibitor_id=z.exhibitor_id,
                )
                for z in scenario.zones
            ),
        )
        _upsert(
            session,
            (
                AgendaSession(
                    id=s.id,
                    event_id=ev.id,
                    zone_id=s.zone_id,
                    title=s.title,
                    starts_at=s.starts_at,
                    ends_at=s.ends_at,
                    tags=list(s.tags),
                )
                for s in scenario.sessions
            ),
        )
        _upsert(
            session,
            (
                Device(
                    id=d.id,
                    event_id=ev.id,
                    name=d.name,
                    zone_id=d.zone_id,
                    x=d.x,
                    y=d.y,
                    rssi_offset_db=0.0 - d.rssi_bias_db,  # the correction that cancels this radio's bias
                    created_at=created,
                )
                for d in scenario.devices
            ),
        )
        _upsert(
            session,
            (
                Attendee(
                    id=a.id,
                    event_id=ev.id,
                    name=a.name,
                    email=a.email,
                    company=a.company,
                    role=AttendeeRole(a.role),
                    badge_uid=a.badge_uid,
                    badge_id=a.badge_id,
                    beacon_id=a.beacon_id,
                    tags=[a.role] + ([a.exhibitor_id] if a.exhibitor_id else []),
                    interests=list(a.interests),
                    consent_tracking=a.consent_tracking,
                    consent_push=a.consent_push,
                    consent_crm=a.consent_crm,
                    registered_at=a.registered_at,
                )
                for a in scenario.attendees
            ),
        )
        session.commit()
