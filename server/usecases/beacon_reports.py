"""Phone beacon reports: a phone that hears fixed venue beacons reports them, and presence hears it like an
edge scanner's sighting.

Why the beacon plays the scanner: radio links are symmetric, so "phone P hears beacon B at -60 dBm" says
as much about where P is as "scanner at B's place hears P's badge at -60 dBm". Each fixed beacon therefore
has a device row ``vbeacon:<id>`` at the beacon's place and zone (created with the beacon), and a report
becomes a ``Sighting(attendee, "vbeacon:<id>", rssi, ...)``: stored as a touchpoint of type ``sighting``
(``data.source = "phone"``) and handed to live presence, which needs nothing new. The same gates as ingest
apply: no tracking consent, no presence; event staff are never tracked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from server.domain import model as domain
from server.ingest.writer import WriteResult
from server.store.app_models import VenueBeacon
from server.store.models import Attendee, AttendeeRole, Device, Touchpoint, TouchpointType
from server.usecases.changes import Change, JourneysChanged, SignalsStored

DEVICE_PREFIX = "vbeacon:"
# A phone batches what it heard; older reports say where it was, not where it is (and could be replayed).
MAX_AGE_S = 120.0
MAX_AHEAD_S = 30.0  # phone clocks drift a little
MAX_REPORTS = 50  # per request: a phone hears a handful of fixed beacons at once


def device_id_of(beacon: VenueBeacon) -> str:
    return f"{DEVICE_PREFIX}{beacon.id}"


def upsert_beacon(session: Session, beacon: VenueBeacon, now: float) -> VenueBeacon:
    """Create or move a fixed beacon and its scanner-like device row. Commits."""
    existing = session.get(VenueBeacon, beacon.id)
    if existing is not None:
        for name in ("beacon_id", "zone_id", "x", "y", "name"):
            setattr(existing, name, getattr(beacon, name))
        beacon = existing
    session.add(beacon)
    device = session.get(Device, device_id_of(beacon))
    if device is None:
        device = Device(id=device_id_of(beacon), event_id=beacon.event_id, created_at=now)
    device.zone_id, device.x, device.y = beacon.zone_id, beacon.x, beacon.y
    device.name = f"fixed beacon {beacon.name or beacon.id} (heard by phones)"
    device.config_version += 1
    session.add(device)
    session.commit()
    session.refresh(beacon)
    return beacon


def delete_beacon(session: Session, beacon: VenueBeacon, now: float) -> None:
    device = session.get(Device, device_id_of(beacon))
    if device is not None and device.revoked_at is None:
        device.revoked_at = now  # kept (touchpoints refer to it) but no longer a scanner that counts
        session.add(device)
    session.delete(beacon)
    session.commit()


@dataclass(frozen=True)
class Report:
    beacon_id: str
    rssi: float
    first_seen: float
    last_seen: float
    count: int = 1


@dataclass
class ReportOutcome:
    accepted: int = 0
    unknown_beacons: int = 0
    not_tracked: bool = False
    changes: list[Change] = field(default_factory=list)  # the stored sightings, for the live pipeline


def apply_reports(session: Session, attendee: Attendee, reports: list[Report], received_at: float) -> ReportOutcome:
    """Store the reports of known fixed beacons as sightings. Commits; the caller publishes ``changes`` of the
    outcome, which feeds them to presence (here or on the live worker) and marks the journey for rescoring."""
    outcome = ReportOutcome()
    if not attendee.consent_tracking or str(attendee.role) == AttendeeRole.STAFF.value:
        outcome.not_tracked = True  # like ingest: dropped on arrival, only counted
        return outcome
    wanted = {r.beacon_id for r in reports}
    beacons = {
        b.beacon_id: b
        for b in session.exec(
            select(VenueBeacon).where(
                col(VenueBeacon.beacon_id).in_(wanted), col(VenueBeacon.event_id) == attendee.event_id
            )
        )
    }
    sightings: list[domain.Sighting] = []
    for report in reports:
        beacon = beacons.get(report.beacon_id)
        if beacon is None:
            outcome.unknown_beacons += 1
            continue
        device = device_id_of(beacon)
        sightings.append(domain.Sighting(attendee.id, device, report.rssi, report.first_seen, report.last_seen,
                                         report.count, None))  # fmt: skip
        session.add(
            Touchpoint(
                event_id=attendee.event_id, type=TouchpointType.SIGHTING, occurred_at=report.first_seen,
                received_at=received_at, attendee_id=attendee.id, device_id=device, zone_id=beacon.zone_id,
                beacon_id=report.beacon_id, rssi=report.rssi, count=report.count, ended_at=report.last_seen,
                data={"source": "phone"},
            )
        )  # fmt: skip
    if sightings:
        session.commit()
        outcome.accepted = len(sightings)
        outcome.changes += [SignalsStored(WriteResult(presence_sightings=sightings)), JourneysChanged((attendee.id,))]
    return outcome
