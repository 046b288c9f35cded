"""Where every badge really is, all day: the ground truth the radio model and the benchmarks use.

Each attendee gets an :class:`Itinerary`: contiguous, non-overlapping :class:`Interval` s from arrival to
departure, plus the NFC taps they make. An interval either stands still (``x, y == to_x, to_y``) or walks
in a straight line from ``(x, y)`` to ``(to_x, to_y)``. Its ``zone_id`` is geometric: the zone containing the
whole interval, or None when the badge is in a corridor or walking between zones. So "where was att-000042 at
10:03?" has one exact answer, :meth:`Itinerary.at`.

Behaviour, in the order a day unfolds: arrival spread over the morning; NFC check-in tap at an entrance
(after a queue); sessions chosen by interest with late arrivals, early leavers and skipped slots; booth
visits (interesting booths for 1-15 min, random walk-bys for seconds) where exhibitors badge-tap some
visitors; lunch in the lounge; departure via an entrance. Booth staff mostly stay at their stand; event
staff circulate. Each attendee draws from a ``random.Random`` of its own, seeded from the scenario's seed
and the attendee id, so itineraries are deterministic and independent of one another.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from server.simulator.scenario import AttendeeSpec, DeviceSpec, Point, Scenario, SessionSpec, ZoneSpec

WALK_SPEED_M_S = (0.9, 1.4)  # indoor walking pace in a crowd, per person
MIN_WALK_S = 1.0  # even a step to the reader takes a moment
CHECK_IN_QUEUE_S = (5.0, 90.0)  # waiting at the entrance reader in the morning rush
TAP_HOLD_S = (2.0, 4.0)  # badge held at the reader
TAP_INSET_M = 0.2  # where a visitor stands to tap: inside the reader's zone, at least a body's width in
LATE_MEAN_S, LATE_SIGMA_S = 60.0, 180.0  # people drift in around the start of a talk
LATE_RANGE_S = (-300.0, 900.0)
LEAVE_EARLY_P = 0.12  # a talk that disappoints: out before the end
SKIP_P, SKIP_NO_MATCH_P = 0.15, 0.55  # skip a slot anyway / when no talk matches one's interests
BEST_TALK_P = 0.75  # otherwise pick any talk (a colleague's, the nearest room...)
KEYNOTE_P = 0.85
BOOTH_DWELL_S = (60.0, 900.0)  # a booth of interest: 1-15 minutes
WALK_BY_S = (3.0, 30.0)  # stepping into a random stand and out again
BOOTH_TAP_P = 0.4  # exhibitors scan this share of interested visitors who stay 2+ minutes
LOUNGE_S = (300.0, 1200.0)
CORRIDOR_S = (60.0, 300.0)
LUNCH_P, LUNCH_S = 0.9, (1200.0, 2700.0)
MIN_ACTIVITY_S = 60.0  # with less free time than this, people stay where they are
EXIT_RESERVE_S = 300.0  # departures end this long before closing: time to walk out
ENTRANCE_WEIGHTS = (6, 4, 3, 2)  # the main entrance takes most arrivals (from the station side)


@dataclass(frozen=True, slots=True)
class Interval:
    attendee_id: str
    zone_id: str | None
    start: float
    end: float
    x: float
    y: float
    to_x: float
    to_y: float

    def position_at(self, t: float) -> Point:
        if (self.x == self.to_x and self.y == self.to_y) or self.end <= self.start:
            return (self.x, self.y)
        f = min(1.0, max(0.0, (t - self.start) / (self.end - self.start)))
        return (self.x + (self.to_x - self.x) * f, self.y + (self.to_y - self.y) * f)


@dataclass(frozen=True, slots=True)
class TapEvent:
    attendee_id: str
    device_id: str
    at: float
    reason: str  # "check_in" or "booth"


@dataclass(frozen=True, slots=True)
class Itinerary:
    attendee_id: str
    intervals: tuple[Interval, ...]
    taps: tuple[TapEvent, ...]

    @property
    def arrived_at(self) -> float:
        return self.intervals[0].start

    @property
    def left_at(self) -> float:
        return self.intervals[-1].end

    def at(self, t: float) -> Interval | None:
        """The interval covering ``t`` (None before arrival and after departure)."""
        lo, hi = 0, len(self.intervals)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.intervals[mid].end <= t:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(self.intervals) and self.intervals[lo].start <= t:
            return self.intervals[lo]
        return None


class _Day:
    """One person's day under construction: a cursor in time and space that only moves forward."""

    def __init__(self, scenario: Scenario, attendee: AttendeeSpec, rng: random.Random, t: float, pos: Point):
        self.s, self.a, self.rng = scenario, attendee, rng
        self.t, self.pos = round(t, 3), pos
        self.limit = scenario.event.ends_at
        self.speed = rng.uniform(*WALK_SPEED_M_S)
        self.intervals: list[Interval] = []
        self.taps: list[TapEvent] = []

    @property
    def zone(self) -> ZoneSpec | None:
        return self.s.zone_at(*self.pos)

    def _add(self, end: float, to: Point) -> None:
        end = round(min(end, self.limit), 3)
        if end <= self.t:
            return
        to = (round(to[0], 2), round(to[1], 2))
        z0, z1 = self.s.zone_at(*self.pos), self.s.zone_at(*to)
        zone_id = z0.id if z0 is not None and z0 is z1 else None  # zones are convex: both ends inside = inside
        self.intervals.append(Interval(self.a.id, zone_id, self.t, end, *self.pos, *to))
        self.t, self.pos = end, to

    def stay(self, until: float) -> None:
        self._add(until, self.pos)

    def walk(self, to: Point) -> None:
        duration = max(MIN_WALK_S, math.dist(self.pos, to) / self.speed)
        if self.t + duration > self.limit:  # cut short by the end of the day: stop where we are
            f = max(0.0, (self.limit - self.t) / duration)
            to = (
                round(self.pos[0] + (to[0] - self.pos[0]) * f, 2),
                round(self.pos[1] + (to[1] - self.pos[1]) * f, 2),
            )
        self._add(self.t + duration, to)

    def visit(self, zone: ZoneSpec, until: float) -> None:
        self.walk(zone.rect.random_point(self.rng, 1.0))
        self.stay(until)

    def tap(self, device: DeviceSpec, reason: str) -> None:
        """Step to the reader and hold the badge there; the tap happens mid-hold.

        The spot stays inside the reader's zone (``TAP_INSET_M`` off its edges): a reader on a stand's back
        wall is reached from inside the stand, not from behind the wall.
        """
        x = device.x + self.rng.uniform(-0.4, 0.4)
        y = device.y + self.rng.uniform(-0.4, 0.4)
        if device.zone_id is not None:
            r = self.s.zone(device.zone_id).rect
            x = min(max(x, r.x + TAP_INSET_M), r.x + r.width - TAP_INSET_M)
            y = min(max(y, r.y + TAP_INSET_M), r.y + r.height - TAP_INSET_M)
        self.walk((round(x, 2), round(y, 2)))
        hold = self.rng.uniform(*TAP_HOLD_S)
        if self.t + hold <= self.limit:
            self.taps.append(TapEvent(self.a.id, device.id, round(self.t + hold / 2, 3), reason))
        self.stay(self.t + hold)

    def free(self) -> float:
        return self.limit - self.t


def _reader(scenario: Scenario, zone: ZoneSpec) -> DeviceSpec:
    return next(d for d in scenario.devices_by_zone[zone.id] if d.nfc)


def _door(rng: random.Random, entrance: ZoneSpec) -> Point:
    r = entrance.rect
    return (round(rng.uniform(r.x + 1, r.x + r.width - 1), 2), round(r.y + r.height - 0.3, 2))


def _corridor_point(scenario: Scenario, rng: random.Random) -> Point:
    if scenario.aisles is not None:
        box = scenario.aisles
        for _ in range(100):
            p = box.random_point(rng, 0.0)
            if scenario.zone_at(*p) is None:
                return p
        return box.center
    for _ in range(100):
        p = (round(rng.uniform(1, scenario.width - 1), 2), round(rng.uniform(27, scenario.height - 9), 2))
        if scenario.zone_at(*p) is None:
            return p
    return (80.0, 45.0)  # the aisle between the stands and the lounge: always a corridor


def _arrive(day: _Day, entrance: ZoneSpec) -> None:
    day.pos = _door(day.rng, entrance)
    reader = _reader(day.s, entrance)
    day.walk((reader.x + day.rng.uniform(-2, 2), reader.y + day.rng.uniform(1, 2.5)))  # join the queue
    day.stay(day.t + day.rng.uniform(*CHECK_IN_QUEUE_S))
    day.tap(reader, "check_in")


def _leave(day: _Day, entrance: ZoneSpec) -> None:
    day.limit = day.s.event.ends_at
    day.visit(entrance, day.t + day.rng.uniform(5, 20))
    day.walk(_door(day.rng, entrance))


def _booth_visit(day: _Day, booth: ZoneSpec, until: float) -> None:
    rng = day.rng
    dwell = BOOTH_DWELL_S[0] + (BOOTH_DWELL_S[1] - BOOTH_DWELL_S[0]) * rng.random() ** 1.5  # mostly short
    end = min(until, day.t + dwell)
    day.walk(booth.rect.random_point(rng, 1.0))
    if end - day.t > 120 and rng.random() < BOOTH_TAP_P:
        day.stay(day.t + (end - day.t) * rng.uniform(0.2, 0.7))
        day.tap(_reader(day.s, booth), "booth")
    day.stay(end)


def _roam(day: _Day, until: float, visited: set[str]) -> None:
    """Free time: booths of interest, walk-bys, the lounge, chatting in a corridor."""
    s, rng = day.s, day.rng
    booths = s.zones_of_kind("booth")
    lounge = s.zones_of_kind("lounge")[0]
    interesting = [b for b in booths if set(_exhibitor_interests(s, b)) & set(day.a.interests)]
    until = min(until, day.limit)
    while until - day.t >= MIN_ACTIVITY_S:
        r = rng.random()
        todo = [b for b in interesting if b.id not in visited]
        if r < 0.45 and todo:
            booth = rng.choice(todo)
            visited.add(booth.id)
            _booth_visit(day, booth, until)
        elif r < 0.72:
            booth = rng.choice(booths)
            day.visit(booth, min(until, day.t + rng.uniform(*WALK_BY_S) + 10))
        elif r < 0.85:
            day.visit(lounge, min(until, day.t + rng.uniform(*LOUNGE_S)))
        else:
            day.walk(_corridor_point(s, rng))
            day.stay(min(until, day.t + rng.uniform(*CORRIDOR_S)))
    day.stay(until)


def _exhibitor_interests(scenario: Scenario, booth: ZoneSpec) -> tuple[str, ...]:
    return next((e.interests for e in scenario.exhibitors if e.id == booth.exhibitor_id), ())


def _choose_talk(
    rng: random.Random,
    attendee: AttendeeSpec,
    slot: Sequence[SessionSpec],
    occupancy: dict[str, int],
    scenario: Scenario,
) -> SessionSpec | None:
    if any("keynote" in s.tags for s in slot):
        return slot[0] if rng.random() < KEYNOTE_P else None
    scored = sorted(slot, key=lambda s: (-len(set(s.tags) & set(attendee.interests)), rng.random()))
    match = bool(set(scored[0].tags) & set(attendee.interests))
    if rng.random() < (SKIP_P if match else SKIP_NO_MATCH_P):
        return None
    if rng.random() >= BEST_TALK_P:
        rng.shuffle(scored)
    for talk in scored:  # a full room sends people to their next choice
        if occupancy.get(talk.id, 0) < (scenario.zone(talk.zone_id).capacity or 10**9):
            return talk
    return None


def _attend(day: _Day, talk: SessionSpec, visited: set[str]) -> None:
    rng = day.rng
    room = day.s.zone(talk.zone_id)
    seat = room.rect.random_point(rng, 1.0)
    arrive = talk.starts_at + min(max(rng.gauss(LATE_MEAN_S, LATE_SIGMA_S), LATE_RANGE_S[0]), LATE_RANGE_S[1])
    _roam(day, arrive - math.dist(day.pos, seat) / day.speed, visited)
    if rng.random() < LEAVE_EARLY_P:
        leave = rng.uniform(talk.starts_at + 600, talk.ends_at - 300)
    else:
        leave = talk.ends_at + min(max(rng.gauss(60, 90), -120), 300)
    if leave - day.t < MIN_ACTIVITY_S:
        return
    day.walk(seat)
    day.stay(leave)


def _slots(scenario: Scenario) -> list[list[SessionSpec]]:
    by_start: dict[float, list[SessionSpec]] = {}
    for talk in scenario.sessions:
        by_start.setdefault(talk.starts_at, []).append(talk)
    return [by_start[k] for k in sorted(by_start)]


def _attendee_day(day: _Day, occupancy: dict[str, int]) -> None:
    s, rng = day.s, day.rng
    ev = s.event
    visited: set[str] = set()
    slots = _slots(s)
    lounge = s.zones_of_kind("lounge")[0]
    for prev, slot in zip([None, *slots], slots, strict=False):
        if prev is not None and slot[0].starts_at - prev[0].ends_at >= 2700 and rng.random() < LUNCH_P:
            lunch_at = prev[0].ends_at + rng.uniform(0, 1200)
            _roam(day, lunch_at, visited)
            day.visit(lounge, min(day.limit, day.t + rng.uniform(*LUNCH_S)))
        if slot[0].ends_at - 600 < day.t or slot[0].starts_at >= day.limit:
            continue
        talk = _choose_talk(rng, day.a, slot, occupancy, s)
        if talk is not None:
            occupancy[talk.id] = occupancy.get(talk.id, 0) + 1
            _attend(day, talk, visited)
    _roam(day, ev.ends_at, visited)


def _booth_staff_day(day: _Day) -> None:
    s, rng = day.s, day.rng
    booth = next(z for z in s.zones if z.exhibitor_id == day.a.exhibitor_id)
    lounge = s.zones_of_kind("lounge")[0]
    while day.free() >= MIN_ACTIVITY_S:
        shift_end = day.t + rng.uniform(20, 90) * 60
        while day.t < min(shift_end, day.limit) - MIN_ACTIVITY_S:  # shuffle around the stand
            day.visit(booth, min(shift_end, day.t + rng.uniform(5, 15) * 60))
        day.visit(lounge, day.t + rng.uniform(10, 25) * 60)


def _staff_day(day: _Day) -> None:
    s, rng = day.s, day.rng
    rounds = [z for z in s.zones if z.kind in ("entrance", "room", "lounge")]
    while day.free() >= MIN_ACTIVITY_S:
        if rng.random() < 0.2:
            day.walk(_corridor_point(s, rng))
            day.stay(day.t + rng.uniform(*CORRIDOR_S))
        else:
            day.visit(rng.choice(rounds), day.t + rng.uniform(5, 30) * 60)


def _itinerary(scenario: Scenario, attendee: AttendeeSpec, occupancy: dict[str, int]) -> Itinerary:
    rng = random.Random(f"{scenario.seed}:move:{attendee.id}")
    ev = scenario.event
    entrances = scenario.zones_of_kind("entrance")
    if attendee.role == "attendee":
        r = rng.random()
        offset = rng.uniform(0, 1800) if r < 0.6 else rng.uniform(1800, 7200) if r < 0.9 else rng.uniform(7200, 16200)
        r = rng.random()
        depart = (
            ev.ends_at - rng.uniform(EXIT_RESERVE_S, 3600)
            if r < 0.65
            else rng.uniform(ev.starts_at + 5 * 3600, ev.ends_at - 3600)
        )
    else:  # staff and booth staff are there from opening to closing
        offset = rng.uniform(0, 900)
        depart = ev.ends_at - rng.uniform(EXIT_RESERVE_S, 900)
    arrival = ev.starts_at + offset
    depart = max(depart, min(arrival + 3600, ev.ends_at - EXIT_RESERVE_S))
    day = _Day(scenario, attendee, rng, arrival, (0.0, 0.0))
    _arrive(day, rng.choices(entrances, ENTRANCE_WEIGHTS[: len(entrances)])[0])
    day.limit = depart
    if attendee.role == "exhibitor" and attendee.exhibitor_id:
        _booth_staff_day(day)
    elif attendee.role == "staff":
        _staff_day(day)
    else:
        _attendee_day(day, occupancy)
    _leave(day, rng.choice(entrances))
    return Itinerary(attendee.id, tuple(day.intervals), tuple(day.taps))


def plan_itineraries(scenario: Scenario) -> tuple[Itinerary, ...]:
    """Every attendee's day, in attendee order. Pure: same scenario, same itineraries."""
    occupancy: dict[str, int] = {}  # talk id -> seats taken, so full rooms turn people away
    return tuple(_itinerary(scenario, a, occupancy) for a in scenario.attendees)
