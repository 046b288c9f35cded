"""The venue as the domain sees it, loaded from the store: one loader for presence, journeys and analytics."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from server.domain import model as domain
from server.store.models import AgendaSession, Device, Exhibitor, Zone


@dataclass(frozen=True)
class Venue:
    zones: tuple[domain.Zone, ...]
    scanners: tuple[domain.Scanner, ...]
    sessions: tuple[domain.AgendaSession, ...]
    exhibitor_names: dict[str, str] = field(default_factory=dict)

    @property
    def tap_zone(self) -> dict[str, str | None]:
        """Which zone each reader is in: a tap there is presence in that zone."""
        return {s.id: s.zone_id for s in self.scanners}


def load_venue(session: Session, event_id: str) -> Venue:
    zones = tuple(
        domain.Zone(z.id, domain.ZoneKind(z.kind), z.x, z.y, z.width, z.height, z.capacity, z.exhibitor_id)
        for z in session.exec(select(Zone).where(col(Zone.event_id) == event_id))
    )
    scanners = tuple(
        domain.Scanner(d.id, d.zone_id, d.x, d.y, d.rssi_offset_db)
        for d in session.exec(select(Device).where(col(Device.event_id) == event_id))
    )
    sessions = tuple(
        domain.AgendaSession(s.id, s.zone_id, s.title, s.starts_at, s.ends_at, tuple(s.tags))
        for s in session.exec(select(AgendaSession).where(col(AgendaSession.event_id) == event_id))
    )
    names = {e.id: e.name for e in session.exec(select(Exhibitor).where(col(Exhibitor.event_id) == event_id))}
    return Venue(zones, scanners, sessions, names)
