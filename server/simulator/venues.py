"""Venue layouts for the simulator: ``default`` (the 120 x 80 m conference) and ``hall`` (a 60 x 40 m show).

The default layout was drawn together with the presence engine: one reader in the middle of each stand's
front, one scanner in the middle of each room, every scanner 2.4 m up. ``hall`` is drawn the way an
exhibitor and a venue technician would equip a small trade show, and nothing in it was tuned to the engine:

    x=0        14 15      27 29   35 36   42 43   49 50   56 60
    +----------+----------+  +-----+ +-----+ +-----+ +-----+      y=0   booths 01-04 on the back wall
    |  room A  |  room B  |  | 01  | | 02  | | 03  | | 04  |            (scanners on the back wall, 2.5 m)
    +----------+----------+  +-----+ +-----+ +-----+ +-----+      y=6
    +----------+----------+        o  poles in the aisles (3 m)     y=12
         +-----+-----+     +-----+-----+     +-----+-----+        y=16  island of back-to-back stands
         | 05  | 06  |     | 07  | 08  |     | 09  | 10  |              (counters 1 m, some back walls)
         +-----+-----+     +-----+-----+     +-----+-----+        y=22
                                                    +----------+  y=27
      +-----+ +-----+                               |  lounge  |
      | 11  | | 12  |        +----------+           |          |  y=30
      +-----+ +-----+        | entrance |           |          |
    +------------------------+----------+-----------+----------+  y=40

Rooms are walled (session rooms with doors); stands are open shell-scheme booths. 28 scanners: one per
stand (a few on the counter, most on the back wall, none in the middle), two per room (by the stage and
by the door), two in the lounge (catering counter, a pillar), the check-in desk, and nine on 3 m poles in
the aisles that belong to no zone.
"""

from __future__ import annotations

import random
import uuid

from server.simulator.scenario import (
    _EXHIBITORS,
    _LABELS,
    _TITLES,
    DAY_LENGTH_S,
    DEFAULT_START,
    DEVICE_BIAS_MAX_DB,
    DEVICE_BIAS_SIGMA_DB,
    MAX_ATTENDEES,
    TOPIC_WEIGHTS,
    TOPICS,
    DeviceSpec,
    EventSpec,
    ExhibitorSpec,
    Rect,
    Scenario,
    SessionSpec,
    ZoneSpec,
    _attendees,
    _interests,
    build_scenario,
)

VENUES = ("default", "hall")
HALL_WIDTH_M, HALL_HEIGHT_M = 60.0, 40.0
COUNTER_M, BACK_WALL_M, POLE_M, PILLAR_M = 1.0, 2.5, 3.0, 2.5  # mounting heights an installer would use
TALK_STARTS_MIN = (30, 90, 150, 210, 330, 390, 450)  # 45-minute talks; lunch between 255 and 330
TALK_MIN = 45

# Stand origins (x, y); every stand is 6 x 6 m.
_STANDS = (
    (29, 0), (36, 0), (43, 0), (50, 0),  # against the back wall
    (6, 16), (12, 16), (24, 16), (30, 16), (42, 16), (48, 16),  # island: three back-to-back pairs
    (3, 30), (10, 30),  # by the left wall near the entrance
)  # fmt: skip
# Where each stand's scanner sits, relative to its origin, and how high: exhibitors put it where there is a
# socket or a shelf, rarely in the middle. Back-to-back island stands share the wall between the two.
_STAND_SCANNERS = (
    (1.2, 0.3, BACK_WALL_M), (4.5, 0.3, BACK_WALL_M), (3.0, 5.2, COUNTER_M), (5.0, 0.3, BACK_WALL_M),
    (5.7, 1.5, BACK_WALL_M), (0.3, 4.0, BACK_WALL_M), (2.0, 5.3, COUNTER_M), (0.3, 1.0, BACK_WALL_M),
    (5.7, 4.5, BACK_WALL_M), (4.0, 0.7, COUNTER_M), (1.0, 0.3, COUNTER_M), (5.5, 5.5, BACK_WALL_M),
)  # fmt: skip
_POLES = ((8, 13), (21, 13), (33, 10), (47, 10), (39, 25), (21, 26), (36, 32), (4, 26), (57, 23))


def _hall_zones(exhibitors: list[ExhibitorSpec]) -> list[ZoneSpec]:
    zones = [
        ZoneSpec("entrance", "Entrance", "entrance", Rect(22, 34, 10, 6)),
        ZoneSpec("room-a", "Room A", "room", Rect(0, 0, 14, 12), capacity=90),
        ZoneSpec("room-b", "Room B", "room", Rect(15, 0, 12, 12), capacity=60),
        ZoneSpec("lounge", "Lounge", "lounge", Rect(44, 27, 16, 13), capacity=120),
    ]
    for i, (exh, (x, y)) in enumerate(zip(exhibitors, _STANDS, strict=True)):
        zones.append(
            ZoneSpec(f"booth-{i + 1:02d}", f"Booth {i + 1}: {exh.name}", "booth", Rect(x, y, 6, 6), 15, exh.id)
        )
    return zones


def _hall_devices(rng: random.Random, zones: list[ZoneSpec]) -> list[DeviceSpec]:
    def bias() -> float:
        return round(max(-DEVICE_BIAS_MAX_DB, min(DEVICE_BIAS_MAX_DB, rng.gauss(0, DEVICE_BIAS_SIGMA_DB))), 1) + 0.0

    by_id = {z.id: z for z in zones}
    out = [DeviceSpec("dev-entrance", "Check-in desk", "entrance", 25.0, 35.0, bias(), True, True, COUNTER_M)]
    for room, (stage, door) in (("room-a", ((7.0, 0.4), (13.6, 10.5))), ("room-b", ((21.0, 0.4), (15.4, 11.0)))):
        for n, (x, y) in enumerate((stage, door), start=1):
            out.append(DeviceSpec(f"dev-{room}-{n}", f"{by_id[room].name} scanner {n}", room, x, y, bias(), False,
                                  True, BACK_WALL_M))  # fmt: skip
    out.append(DeviceSpec("dev-lounge-1", "Lounge catering counter", "lounge", 46.0, 38.5, bias(), False, True,
                          COUNTER_M))  # fmt: skip
    out.append(DeviceSpec("dev-lounge-2", "Lounge pillar", "lounge", 55.0, 31.0, bias(), False, True, PILLAR_M))
    for i, (dx, dy, h) in enumerate(_STAND_SCANNERS):
        z = by_id[f"booth-{i + 1:02d}"]
        out.append(DeviceSpec(f"dev-{z.id}", f"{z.name} reader", z.id, z.rect.x + dx, z.rect.y + dy, bias(), True,
                              True, h))  # fmt: skip
    for n, (x, y) in enumerate(_POLES, start=1):
        out.append(DeviceSpec(f"dev-aisle-{n}", f"Aisle pole {n}", None, float(x), float(y), bias(), False, True,
                              POLE_M))  # fmt: skip
    return out


def _hall_agenda(rng: random.Random, start: float) -> list[SessionSpec]:
    sessions: list[SessionSpec] = []
    for begin in TALK_STARTS_MIN:
        for room in ("room-a", "room-b"):
            tags = tuple(sorted(set(rng.choices(TOPICS, TOPIC_WEIGHTS, k=rng.choice((1, 2))))))
            title = rng.choice(_TITLES).format(t=_LABELS.get(tags[0], tags[0].title()))
            at = start + begin * 60.0
            sessions.append(SessionSpec(f"s{len(sessions) + 1:02d}", room, title, at, at + TALK_MIN * 60.0, tags))
    return sessions


def build_hall_scenario(
    seed: int = 7, attendees: int = 150, start: float | None = None, event_id: str = "demo"
) -> Scenario:
    """The 60 x 40 m show for ``seed``: deterministic like :func:`build_scenario`."""
    if not 1 <= attendees <= MAX_ATTENDEES:
        raise ValueError(f"attendees must be 1..{MAX_ATTENDEES}, got {attendees}")
    rng = random.Random(f"hall:{seed}")
    begin = float(DEFAULT_START if start is None else start)
    event = EventSpec(event_id, f"Touchpoints Trade Show (seed {seed})", begin, begin + DAY_LENGTH_S)
    beacon_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    exhibitors = [
        ExhibitorSpec(f"exh-{i + 1:02d}", name, _interests(rng, rng.choice((2, 3))))
        for i, name in enumerate(rng.sample(_EXHIBITORS, len(_STANDS)))
    ]
    zones = _hall_zones(exhibitors)
    return Scenario(
        seed=seed,
        event=event,
        width=HALL_WIDTH_M,
        height=HALL_HEIGHT_M,
        beacon_uuid=beacon_uuid,
        exhibitors=tuple(exhibitors),
        zones=tuple(zones),
        sessions=tuple(_hall_agenda(rng, begin)),
        devices=tuple(_hall_devices(rng, zones)),
        attendees=tuple(_attendees(seed, attendees, begin, beacon_uuid, exhibitors)),
        venue="hall",
        aisles=Rect(1.0, 6.5, 58.0, 26.5),
    )


def build_venue(
    venue: str = "default", seed: int = 7, attendees: int = 200, start: float | None = None, event_id: str = "demo"
) -> Scenario:
    """The scenario of layout ``venue`` (one of :data:`VENUES`)."""
    if venue == "default":
        return build_scenario(seed, attendees, start, event_id)
    if venue == "hall":
        return build_hall_scenario(seed, attendees, start, event_id)
    raise ValueError(f"unknown venue {venue!r}: choose one of {', '.join(VENUES)}")
