"""A survey walk in the simulator: staff carry a reference badge through every zone before doors open.

What staff do at a real venue (docs/presence.md, "Survey walk"), simulated: from the entrance they visit
each zone in turn (nearest next), walk slowly around inside it for ~30 s, and mark a few corridor spots
where they stand still; the edge agents record as usual. The result is what calibration works with:

- the legs, :class:`server.domain.survey.SurveyLeg` values (zone legs carry no position: "somewhere in
  this zone"; corridor spots carry where staff stood);
- the reference badge's sightings, heard through the *same* radio model as the show (same hall, same
  scanners, same loss and clock skew), as domain :class:`Sighting` values and as the edge's batches.

The walk happens before doors open, so there is no crowd: the reference badge is the only badge in the
hall (the ``crowd`` model still applies its wearer's body and fast fading). No scanner is dark during the
walk (the run's outage belongs to the show), so a dead scanner in a fit means a bug, not bad luck.

    >>> from server.simulator.venues import build_venue
    >>> walk = survey_walk(build_venue("hall", attendees=5), "lognormal", seed=7)
    >>> sorted({leg.zone_id for leg in walk.legs if leg.zone_id})[:2]
    ['booth-01', 'booth-02']
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from edge.protocol import Sighting as EdgeSighting
from edge.protocol import SightingBatch, ibeacon_id
from server.domain.model import Sighting
from server.domain.survey import SurveyLeg
from server.simulator.movement import Interval, Itinerary
from server.simulator.radio import ADVERT_INTERVAL_S, BadgeState
from server.simulator.radios import FaultSpec, default_faults, make_radio
from server.simulator.scenario import BEACON_MAJOR, Point, Scenario, ZoneSpec

ZONE_S = 30.0  # per zone: 15 scan windows, enough for each scanner's median and its share heard
INSIDE_STEPS = 3  # staff stroll between three spots inside a zone, so the zone is sampled, not one spot
CORRIDOR_SPOTS = 4  # a few aisle spots teach presence what "in no zone" reads like
CORRIDOR_S = 20.0  # standing still at a marked spot
WALK_SPEED_M_S = 0.8  # between zones, looking at a phone: slower than a visitor
DONE_BEFORE_DOORS_S = 600.0  # the walk ends ten minutes before doors open
REFERENCE_MAJOR = BEACON_MAJOR + 1  # the venue's own spare beacon: not any attendee's badge
REFERENCE_MINOR = 1
WINDOW_S = 2.0  # the edge agent's scan window
SURVEY_ID = "survey-walk"

Batch = tuple[float, str, float, float, tuple[EdgeSighting, ...]]  # (published at, device, window start, end, heard)


@dataclass(frozen=True)
class SurveyWalk:
    """One simulated walk: the badge's beacon id, the legs staff marked, where the badge really was, and
    what the scanners reported (domain sightings, attendee id = the beacon id, and the edge's batches)."""

    beacon_id: str
    legs: tuple[SurveyLeg, ...]
    itinerary: Itinerary
    sightings: tuple[Sighting, ...]
    batches: tuple[Batch, ...]

    @property
    def started_at(self) -> float:
        return self.itinerary.arrived_at

    @property
    def ended_at(self) -> float:
        return self.itinerary.left_at

    def legs_json(self) -> dict[str, object]:
        """The legs file ``touchpoints venue calibrate --legs`` reads: ``{"badge": ..., "legs": [...]}``."""
        return {"badge": self.beacon_id, "legs": [dataclasses.asdict(leg) for leg in self.legs]}


def reference_beacon(scenario: Scenario) -> str:
    return ibeacon_id(scenario.beacon_uuid, REFERENCE_MAJOR, REFERENCE_MINOR)


def _route(scenario: Scenario, start: Point) -> list[ZoneSpec]:
    """Every zone once, nearest next from ``start``: the order staff would walk them."""
    todo = list(scenario.zones)
    order: list[ZoneSpec] = []
    here = start
    while todo:
        nearest = min(todo, key=lambda z: (math.dist(here, z.rect.center), z.id))
        todo.remove(nearest)
        order.append(nearest)
        here = nearest.rect.center
    return order


def _corridor_spots(scenario: Scenario, rng: random.Random) -> list[Point]:
    box = scenario.aisles
    spots: list[Point] = []
    for _ in range(200):
        if len(spots) == CORRIDOR_SPOTS:
            break
        if box is not None:
            p = box.random_point(rng, 0.0)
        else:
            p = (round(rng.uniform(1, scenario.width - 1), 2), round(rng.uniform(1, scenario.height - 1), 2))
        # At least 2 m from every zone: a spot on a stand's edge would teach presence the wrong thing.
        if all(not z.rect.contains(p[0] + dx, p[1] + dy) for z in scenario.zones for dx in (-2, 2) for dy in (-2, 2)):
            spots.append(p)
    return spots


def plan_walk(scenario: Scenario, seed: int) -> tuple[list[SurveyLeg], Itinerary]:
    """Where the reference badge goes and the legs staff mark, ending ``DONE_BEFORE_DOORS_S`` before doors."""
    rng = random.Random(f"survey:{seed}:{scenario.seed}:{scenario.venue}")
    entrance = scenario.zones_of_kind("entrance")[0]
    stops: list[tuple[str | None, list[Point], float]] = []
    for zone in _route(scenario, entrance.rect.center):
        spots = [zone.rect.random_point(rng, 1.0) for _ in range(INSIDE_STEPS)]
        stops.append((zone.id, spots, ZONE_S))
    spots = _corridor_spots(scenario, rng)
    for i, spot in enumerate(spots):  # corridor spots between zones, spread along the route
        stops.insert((i + 1) * len(stops) // (len(spots) + 1), (None, [spot], CORRIDOR_S))
    # Lay the walk out from t=0, then shift it so that it ends before doors open.
    t, pos = 0.0, entrance.rect.center
    raw: list[tuple[str | None, float, float, Point, Point]] = []
    legs: list[tuple[str | None, float, float, Point | None]] = []
    for zone_id, points, stay in stops:
        walk = math.dist(pos, points[0]) / WALK_SPEED_M_S
        raw.append((None, t, t + walk, pos, points[0]))
        t, pos = t + walk, points[0]
        begin = t
        step = stay / len(points)
        for nxt in [*points[1:], points[-1]]:
            raw.append((zone_id, t, t + step, pos, nxt))
            t, pos = t + step, nxt
        legs.append((zone_id, begin, t, pos if zone_id is None else None))
    shift = scenario.event.starts_at - DONE_BEFORE_DOORS_S - t
    intervals = tuple(
        Interval(SURVEY_ID, zone_id, round(a + shift, 3), round(b + shift, 3), *p, *q) for zone_id, a, b, p, q in raw
    )
    marked = [
        SurveyLeg(zone_id, round(a + shift, 3), round(b + shift, 3), *(spot if spot else (None, None)))
        for zone_id, a, b, spot in legs
    ]
    return marked, Itinerary(SURVEY_ID, intervals, ())


def survey_walk(scenario: Scenario, radio: str, *, seed: int, faults: FaultSpec | None = None) -> SurveyWalk:
    """Walk the reference badge through ``scenario`` and hear it through radio model ``radio``."""
    legs, itinerary = plan_walk(scenario, seed)
    spec = dataclasses.replace(faults or default_faults(radio, seed), outages=0)
    begin, end = itinerary.arrived_at, itinerary.left_at
    hearing = make_radio(radio, scenario, seed=seed, span=(begin, end), faults=spec)
    beacon = reference_beacon(scenario)
    sightings: list[Sighting] = []
    batches: list[Batch] = []
    w0 = begin
    while w0 < end:
        w1 = (math.floor(w0 / WINDOW_S) + 1) * WINDOW_S
        iv = itinerary.at((w0 + w1) / 2)
        if iv is not None:
            x, y = iv.position_at((w0 + w1) / 2)
            heard = hearing.window(w0, w1, [BadgeState(beacon, x, y, iv.zone_id, 0.37 * ADVERT_INTERVAL_S)])
            for device_id in sorted(heard):
                skew = hearing.clock_skew_s(device_id)
                batches.append((w1, device_id, w0 + skew, w1 + skew, tuple(heard[device_id])))
                sightings += [
                    Sighting(beacon, device_id, s.rssi, s.first_seen, s.last_seen, s.count, s.distance_m)
                    for s in heard[device_id]
                ]
        w0 = w1
    return SurveyWalk(beacon, tuple(legs), itinerary, tuple(sightings), tuple(batches))


def survey_batches(scenario: Scenario, walk: SurveyWalk, seqs: dict[str, int]) -> Iterator[tuple[float, SightingBatch]]:
    """The walk's sightings as the edge publishes them; ``seqs`` (device -> next seq) is advanced."""
    for at, device_id, w0, w1, heard in walk.batches:
        seq = seqs.get(device_id, 0)
        seqs[device_id] = seq + 1
        yield (
            at,
            SightingBatch(
                device_id=device_id,
                event_id=scenario.event.id,
                seq=seq,
                window_start=round(w0, 3),
                window_end=round(w1, 3),
                sightings=list(heard),
            ),
        )
