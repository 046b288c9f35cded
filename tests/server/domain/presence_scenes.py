"""Small presence scenes for tests: a 60 x 40 m hall, badges that stay in zones and walk between them, and two
radio models that generate the readings, scored the way ``touchpoints bench presence`` scores.

- ``docs``: exactly what presence assumes (docs/presence.md): exponent 2.5, scanners 1.2 m above badges, 4 dB
  per advert, 10 % lost, 8 dB per room wall, offsets right.
- ``hall``: an independent team's hall (issue 14): per-scanner exponent 2.2-3.0, offsets calibrated with 1.5 dB
  residual, scanners on 3 m poles, 6 dB spatially correlated shadowing per scanner, a body blocking one nearby
  scanner 8 dB for minutes, 10 dB walls, 20-40 % of adverts lost, +-0.3 s scanner clocks, one scanner offline
  for 10 minutes.

Pure and seeded: the same seed gives the same readings. Scenes are small (a few badges, tens of minutes) so a
test takes seconds; the bench measures at scale.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from server.domain.model import Scanner, Sighting, Visit, VisitEnded, VisitEvent, VisitStarted, Zone, ZoneKind
from server.domain.survey import SurveyLeg

WINDOW_S = 2.0
SENSITIVITY = -95.0
WALK_MPS = 1.2


def hall() -> tuple[list[Zone], list[Scanner]]:
    """12 booths (6 x 6 m, two rows facing a 6 m aisle), two walled rooms, a lounge, an entrance; a scanner on
    each booth's back wall, two per room, one in the lounge and entrance, four poles in the aisle."""
    zones = [Zone(f"booth-{i:02d}", ZoneKind.BOOTH, 4 + 9 * (i % 6), 4 if i < 6 else 16, 6, 6) for i in range(12)]
    zones += [
        Zone("room-a", ZoneKind.ROOM, 2, 27, 14, 11),
        Zone("room-b", ZoneKind.ROOM, 18, 27, 14, 11),
        Zone("lounge", ZoneKind.LOUNGE, 36, 27, 14, 11),
        Zone("entrance", ZoneKind.ENTRANCE, 52, 27, 7, 11),
    ]
    scanners = [Scanner(f"s-{z.id}", z.id, z.x + 3, z.y + (0.3 if z.y == 4 else 5.7)) for z in zones[:12]]
    scanners += [Scanner("s-room-a-1", "room-a", 5.5, 32.5), Scanner("s-room-a-2", "room-a", 12.5, 32.5)]
    scanners += [Scanner("s-room-b-1", "room-b", 21.5, 32.5), Scanner("s-room-b-2", "room-b", 28.5, 32.5)]
    scanners += [Scanner("s-lounge", "lounge", 43, 32.5), Scanner("s-entrance", "entrance", 55.5, 32.5)]
    scanners += [Scanner(f"pole-{i}", None, 7 + 15 * i, 13) for i in range(4)]
    return zones, scanners


@dataclass(frozen=True, slots=True)
class Radio:
    name: str
    exponent: tuple[float, float] = (2.5, 2.5)
    bias_sd_db: float = 0.0
    pole_height_m: float = 1.2  # scanner height above the badge
    shadowing_db: float = 0.0
    body_db: float = 0.0
    wall_db: float = 8.0
    loss: tuple[float, float] = (0.1, 0.1)
    skew_s: float = 0.0
    outage_s: float = 0.0


MODELS = {
    "docs": Radio("docs"),
    "hall": Radio("hall", (2.2, 3.0), 1.5, 1.8, 6.0, 8.0, 10.0, (0.2, 0.4), 0.3, 600.0),
}


class Field:
    """Per scanner: exponent, bias, loss, clock skew, and a smooth random shadowing field (~20 m wavelength)."""

    def __init__(self, radio: Radio, scanners: list[Scanner], rng: random.Random) -> None:
        self.radio = radio
        self.props = {
            s.id: (rng.uniform(*radio.exponent), rng.gauss(0, radio.bias_sd_db), rng.uniform(*radio.loss),
                   rng.uniform(-radio.skew_s, radio.skew_s),
                   [(rng.uniform(0, 2 * math.pi), 2 * math.pi / 20 * rng.uniform(0.6, 1.4), rng.uniform(0, 2 * math.pi))
                    for _ in range(4)])
            for s in scanners
        }  # fmt: skip

    def mean_rssi(self, s: Scanner, zones: dict[str, Zone], x: float, y: float, zone_id: str | None) -> float:
        assert s.x is not None and s.y is not None
        n, bias, _, _, waves = self.props[s.id]
        r = self.radio
        d = math.hypot(x - s.x, y - s.y, r.pole_height_m if s.zone_id is None else 1.2)
        walls = 0
        if zone_id != s.zone_id:
            walls = sum(1 for z in (zone_id, s.zone_id) if z is not None and zones[z].kind == ZoneKind.ROOM)
        shadow = sum(math.sin(k * (x * math.cos(a) + y * math.sin(a)) + ph) for a, k, ph in waves)
        return -59 - 10 * n * math.log10(d) + bias - r.wall_db * walls + r.shadowing_db / math.sqrt(2) * shadow


@dataclass(frozen=True, slots=True)
class Stay:
    zone_id: str | None
    x: float
    y: float
    start: float
    end: float
    moving: bool = False  # a walk from (x, y) to the next stay's spot


def itinerary(zones: list[Zone], rng: random.Random, start: float, end: float) -> list[Stay]:
    """Stays of 1.5-6 minutes at random spots in random zones, walks (zone None) between them."""
    out: list[Stay] = []
    t, x, y = start, 30.0, 13.0
    while t < end:
        z = rng.choice(zones)
        tx, ty = z.x + rng.uniform(1, z.width - 1), z.y + rng.uniform(1, z.height - 1)
        walk = math.hypot(tx - x, ty - y) / WALK_MPS
        out.append(Stay(None, x, y, t, t + walk, moving=True))
        t += walk
        dwell = rng.uniform(90, 360)
        out.append(Stay(z.id, tx, ty, t, min(end, t + dwell)))
        t, x, y = t + dwell, tx, ty
    return out


def position(plan: list[Stay], t: float) -> tuple[float, float, str | None] | None:
    for i, s in enumerate(plan):
        if s.start <= t < s.end:
            if not s.moving or i + 1 >= len(plan):
                return s.x, s.y, s.zone_id
            nxt = plan[i + 1]
            f = (t - s.start) / max(1e-9, s.end - s.start)
            return s.x + f * (nxt.x - s.x), s.y + f * (nxt.y - s.y), None
    return None


def windows(
    radio: Radio, zones: list[Zone], scanners: list[Scanner], plans: dict[str, list[Stay]], start: float, end: float,
    seed: int,
) -> list[tuple[float, list[Sighting]]]:  # fmt: skip
    """Per 2 s window, every scanner's sightings of every badge (the edge's mean of the heard adverts)."""
    rng = random.Random(seed)
    field = Field(radio, scanners, rng)
    by_id = {z.id: z for z in zones}
    offline = scanners[3].id if radio.outage_s else None  # a booth's scanner, offline from 10 minutes in
    blocked: dict[str, tuple[str, float]] = {}  # badge -> (scanner behind a body, until)
    out = []
    t = start
    while t < end:
        batch: list[Sighting] = []
        for badge, plan in plans.items():
            at = position(plan, t)
            if at is None:
                continue
            x, y, zone_id = at
            if radio.body_db and (badge not in blocked or blocked[badge][1] <= t):
                near = sorted(scanners, key=lambda s: math.hypot(x - (s.x or 0), y - (s.y or 0)))[:3]
                blocked[badge] = (rng.choice(near).id, t + rng.uniform(120, 300))
            for s in scanners:
                if s.id == offline and start + 600 <= t < start + 600 + radio.outage_s:
                    continue
                _, _, loss, skew, _ = field.props[s.id]
                mean = field.mean_rssi(s, by_id, x, y, zone_id)
                if radio.body_db and blocked.get(badge, ("", 0))[0] == s.id:
                    mean -= radio.body_db
                heard = [mean + rng.gauss(0, 4) for _ in range(2) if rng.random() >= loss]
                heard = [r for r in heard if r >= SENSITIVITY]
                if heard:
                    rssi = float(round(sum(heard) / len(heard)))
                    d = round(10 ** ((-59 - rssi) / 25), 2)
                    batch.append(Sighting(badge, s.id, rssi, t + skew, t + 1.5 + skew, len(heard), d))
        out.append((t + WINDOW_S, batch))
        t += WINDOW_S
    return out


def survey(
    zones: list[Zone], scanners: list[Scanner], radio: Radio, seed: int
) -> tuple[list[SurveyLeg], list[Sighting]]:
    """A ~15 minute walk: 30 s at each zone's centre (booths at their middle), then aisle spots."""
    legs, plan, t = [], [], 0.0
    spots: list[tuple[str | None, float, float]] = [(z.id, z.x + z.width / 2, z.y + z.height / 2) for z in zones]
    spots += [(None, 6 + 12 * i, 13) for i in range(5)] + [(None, 34, 24), (None, 10, 24)]
    for zone_id, x, y in spots:
        legs.append(SurveyLeg(zone_id, t, t + 30, x, y))
        plan.append(Stay(zone_id, x, y, t, t + 34))  # 30 s marked, then 4 s to the next spot
        t += 34
    sightings = [s for _, batch in windows(radio, zones, scanners, {"ref": plan}, 0, t, seed) for s in batch]
    return legs, sightings


def spans(events: list[VisitEvent], still_open: list[Visit], end: float) -> list[tuple[str, str, float, float]]:
    out = [(e.visit.attendee_id, e.visit.zone_id, e.visit.started_at, e.visit.ended_at or end)
           for e in events if isinstance(e, VisitEnded)]  # fmt: skip
    out += [(v.attendee_id, v.zone_id, v.started_at, end) for v in still_open]
    return out


def score(
    plans: dict[str, list[Stay]], got: list[tuple[str, str, float, float]], start: float, end: float, min_visit_s: float
) -> tuple[float, float, float]:
    """(dwell accuracy sampled every 5 s, visit precision, visit recall), as ``touchpoints bench presence``."""
    right = total = 0
    for badge, plan in plans.items():
        t = start
        while t < end:
            truth = position(plan, t)
            if truth is not None:
                mine = next((z for a, z, s, e in got if a == badge and s <= t < e), None)
                right += mine == truth[2]
                total += 1
            t += 5.0
    truths = [(b, s.zone_id, max(s.start, start), min(s.end, end)) for b, p in plans.items() for s in p if s.zone_id]
    truths = [t for t in truths if t[3] - t[2] >= min_visit_s]
    counted = [g for g in got if g[3] - g[2] >= min_visit_s]

    def match(g: tuple[str, str, float, float], t: tuple[str, str | None, float, float]) -> bool:
        return g[0] == t[0] and g[1] == t[1] and min(g[3], t[3]) - max(g[2], t[2]) >= 0.5 * (t[3] - t[2])

    precision = sum(any(match(g, t) for t in truths) for g in counted) / len(counted) if counted else 1.0
    recall = sum(any(match(g, t) for g in counted) for t in truths) / len(truths) if truths else 1.0
    return right / max(1, total), precision, recall


__all__ = ["MODELS", "VisitStarted", "hall", "itinerary", "score", "spans", "survey", "windows"]
