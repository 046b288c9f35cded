"""A small hall and a survey walk through it, stored as ingest would store the reference badge's sightings.

The readings are generated from the log-distance formula with a known gain and exponent per scanner, noise
and lost windows, so that a real fit (server/domain/calibration.py) has something true to find. Event "demo"
(the settings' default), four zones in a 30 x 12 m hall, one scanner per zone plus one on a pole.
"""

from __future__ import annotations

import math
import random

from sqlalchemy import Engine
from sqlmodel import Session

from server.domain.model import ZoneKind
from server.store.models import Attendee, AttendeeRole, Device, Event, Touchpoint, Zone

EVENT = "demo"
T0 = 1_780_000_000.0
REF_BEACON = "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:9:99"
LEG_S = 32.0  # a stop of ~30 s, as docs/presence.md asks staff to make
WINDOW_S = 2.0
HEIGHT_M = 1.2  # badge at chest height, scanner on a pole: never closer than this
SENSITIVITY_DBM = -95.0
ZONES = [  # id, kind, x, y, width, height
    ("entrance", ZoneKind.ENTRANCE, 0, 0, 6, 12),
    ("booth-1", ZoneKind.BOOTH, 8, 0, 6, 6),
    ("booth-2", ZoneKind.BOOTH, 16, 0, 6, 6),
    ("lounge", ZoneKind.LOUNGE, 24, 0, 6, 12),
]
SCANNERS = {  # id -> (zone, x, y, true gain at 1 m, true exponent)
    "s-entrance": ("entrance", 3.0, 6.0, -58.0, 2.2),
    "s-booth-1": ("booth-1", 11.0, 5.5, -62.0, 2.6),
    "s-booth-2": ("booth-2", 19.0, 5.5, -56.0, 2.4),
    "s-lounge": ("lounge", 27.0, 6.0, -60.0, 2.8),
    "pole": (None, 15.0, 9.0, -59.0, 2.5),
}


def seed_hall(engine: Engine, *, staff_badge: bool = False, consent: bool = True) -> None:
    """The hall; with ``staff_badge`` the reference beacon is registered as staff member "surveyor"."""
    with Session(engine) as s:
        s.add(Event(id=EVENT, name="Survey Conf", starts_at=T0, ends_at=T0 + 9 * 3600))
        for zone_id, kind, x, y, w, h in ZONES:
            s.add(Zone(id=zone_id, event_id=EVENT, name=zone_id.title(), kind=kind, x=x, y=y, width=w, height=h))
        s.commit()
        for device_id, (zone_id, x, y, _gain, _n) in SCANNERS.items():
            s.add(Device(id=device_id, event_id=EVENT, zone_id=zone_id, x=x, y=y, created_at=T0))
        if staff_badge:
            surveyor = Attendee(id="surveyor", event_id=EVENT, name="Surveyor", role=AttendeeRole.STAFF,
                                beacon_id=REF_BEACON, badge_id="S0001", consent_tracking=consent,
                                registered_at=T0)  # fmt: skip
            s.add(surveyor)
        s.commit()


def walk_legs(start: float = T0) -> list[dict[str, float | str | None]]:
    """One stop in the middle of each zone, then two aisle spots, 4 s walking between them (the legs file)."""
    spots: list[tuple[str | None, float, float]] = [(z[0], z[2] + z[4] / 2, z[3] + z[5] / 2) for z in ZONES]
    spots += [(None, 7.0, 9.0), (None, 23.0, 9.0)]
    legs: list[dict[str, float | str | None]] = []
    t = start
    for zone_id, x, y in spots:
        legs.append({"zone_id": zone_id, "started_at": t, "ended_at": t + LEG_S, "x": x, "y": y})
        t += LEG_S + 4.0
    return legs


def store_walk(engine: Engine, legs: list[dict[str, float | str | None]], *, seed: int = 1,
               silent: frozenset[str] = frozenset(), attendee_id: str | None = None,
               wander: bool = False) -> int:  # fmt: skip
    """Store the sightings the scanners would have made of the reference badge on this walk; how many.

    ``wander``: in a zone, the badge walks slowly around inside it (as docs/presence.md asks of staff who do
    not mark spots) instead of standing at the leg's spot.
    """
    bounds = {z[0]: z[2:] for z in ZONES}
    rng = random.Random(seed)
    rows = 0
    with Session(engine) as session:
        for n, leg in enumerate(legs):
            x, y = float(leg["x"]), float(leg["y"])  # type: ignore[arg-type]
            start = float(leg["started_at"])  # type: ignore[arg-type]
            for w in range(int(LEG_S / WINDOW_S)):
                w0 = start + w * WINDOW_S
                if wander and leg["zone_id"] is not None:
                    zx, zy, zw, zh = bounds[str(leg["zone_id"])]
                    x, y = zx + rng.uniform(0.5, zw - 0.5), zy + rng.uniform(0.5, zh - 0.5)
                for i, (device_id, (zone_id, sx, sy, gain, exponent)) in enumerate(SCANNERS.items()):
                    if device_id in silent:
                        continue
                    mean = gain - 10 * exponent * math.log10(math.hypot(x - sx, y - sy, HEIGHT_M))
                    heard = [mean + rng.gauss(0, 3) for _ in range(2) if rng.random() > 0.2]
                    heard = [r for r in heard if r >= SENSITIVITY_DBM]
                    if not heard:
                        continue
                    session.add(
                        Touchpoint(event_id=EVENT, type="sighting", occurred_at=w0, received_at=w0 + 1,
                                   attendee_id=attendee_id, device_id=device_id, zone_id=zone_id,
                                   seq=n * 10_000 + w * 10 + i, idx=0, beacon_id=REF_BEACON,
                                   rssi=float(round(sum(heard) / len(heard))), count=len(heard), ended_at=w0 + 1.5)
                    )  # fmt: skip
                    rows += 1
        session.commit()
    return rows
