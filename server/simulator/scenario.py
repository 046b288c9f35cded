"""A deterministic conference: venue, exhibitors, agenda, edge devices and attendees, from one seed.

Everything here is plain frozen data built by :func:`build_scenario`, a pure function of its arguments: it
uses its own ``random.Random(seed)`` and never reads the clock, so the same arguments always give the same
conference (the accuracy benchmarks depend on that). Coordinates are metres on a 120 x 80 m floor plan,
origin top-left, like :class:`server.store.models.Zone`.

Floor plan (not to scale)::

    +-----------+------+------+------+------+   y=0
    |  keynote  |  A   |  B   |  C   |  D   |   session rooms (walled)
    +-----------+------+------+------+------+   y=22..26
    |  booth 01 .. 06 (open stands)  |      |
    |                                |lounge|
    |  booth 07 .. 12                |      |
    +--entrance-a---------------entrance-b--+   y=80

    >>> s = build_scenario(seed=1, attendees=20)
    >>> len(s.attendees), s.zone("room-keynote").kind
    (20, 'room')
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from edge.protocol import ibeacon_id

# 2026-06-10T08:30:00Z: the default conference day when no start is given (never "now": determinism).
DEFAULT_START = datetime(2026, 6, 10, 8, 30, tzinfo=UTC).timestamp()
DAY_LENGTH_S = 9.5 * 3600  # 08:30 - 18:00
HALL_WIDTH_M = 120.0
HALL_HEIGHT_M = 80.0
MAX_ATTENDEES = 65_535  # one iBeacon minor per badge (16 bits, 0 unused)
BEACON_MAJOR = 1  # all badges of the event share one major; the minor numbers the badge
BEACON_TX_POWER_DBM = -59  # calibrated RSSI at 1 m that a typical badge beacon advertises
DEFAULT_MOUNT_HEIGHT_M = 2.4  # a scanner on a stand, above the heads of a crowd
# Radios and enclosures differ by a few dB; sigma 2 dB, clipped to +-5 dB, matches cheap USB dongles.
DEVICE_BIAS_SIGMA_DB = 2.0
DEVICE_BIAS_MAX_DB = 5.0
CONSENT_TRACKING_P = 0.9  # about one attendee in ten opts out of location tracking
CONSENT_PUSH_P = 0.7
CONSENT_CRM_P = 0.6
STAFF_SHARE = 0.03  # event staff among badges
EXHIBITOR_STAFF_SHARE = 0.08  # booth staff among badges, at most two per exhibitor

TOPICS = (
    "ai",
    "cloud",
    "security",
    "data",
    "devops",
    "mobile",
    "iot",
    "web",
    "ux",
    "marketing",
    "sales",
    "leadership",
)
# Some topics draw more people than others; the weights shape interests and hence crowds.
TOPIC_WEIGHTS = (9, 7, 6, 6, 4, 3, 3, 4, 2, 3, 2, 2)

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    width: float
    height: float

    @property
    def center(self) -> Point:
        return (self.x + self.width / 2, self.y + self.height / 2)

    def contains(self, px: float, py: float) -> bool:
        return self.x <= px <= self.x + self.width and self.y <= py <= self.y + self.height

    def random_point(self, rng: random.Random, margin: float = 0.5) -> Point:
        """A point inside, ``margin`` metres off the walls (nobody stands inside a wall)."""
        m = min(margin, self.width / 4, self.height / 4)
        return (
            round(rng.uniform(self.x + m, self.x + self.width - m), 2),
            round(rng.uniform(self.y + m, self.y + self.height - m), 2),
        )


@dataclass(frozen=True, slots=True)
class EventSpec:
    id: str
    name: str
    starts_at: float
    ends_at: float


@dataclass(frozen=True, slots=True)
class ExhibitorSpec:
    id: str
    name: str
    interests: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    id: str
    name: str
    kind: str  # a server.store.models.ZoneKind value
    rect: Rect
    capacity: int | None = None
    exhibitor_id: str | None = None

    @property
    def walled(self) -> bool:
        """Session rooms have walls that attenuate radio; booths, entrances and the lounge are open."""
        return self.kind == "room"


@dataclass(frozen=True, slots=True)
class SessionSpec:
    id: str
    zone_id: str
    title: str
    starts_at: float
    ends_at: float
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """An edge device: NFC reader and/or BLE scanner at a fixed position inside its zone.

    ``rssi_bias_db`` is what this radio adds to every RSSI it measures under the ``engine`` radio model; the
    store's ``Device.rssi_offset_db`` is the correction, i.e. ``-rssi_bias_db``. ``zone_id`` None is a scanner
    in an aisle (on a pole), in no zone. ``height_m`` is how high it is mounted (a booth counter ~1 m, a back
    wall ~2.5 m, a pole 3 m); only the independent radio models (:mod:`server.simulator.radios`) use it.
    """

    id: str
    name: str
    zone_id: str | None
    x: float
    y: float
    rssi_bias_db: float
    nfc: bool
    ble: bool = True
    height_m: float = DEFAULT_MOUNT_HEIGHT_M


@dataclass(frozen=True, slots=True)
class AttendeeSpec:
    id: str
    name: str
    email: str
    company: str
    role: str  # a server.store.models.AttendeeRole value
    interests: tuple[str, ...]
    badge_uid: str  # NFC UID, 7 bytes lowercase hex
    badge_id: str  # printed on the badge and written to its NDEF text record
    beacon_uuid: str
    beacon_major: int
    beacon_minor: int
    consent_tracking: bool
    consent_push: bool
    consent_crm: bool
    registered_at: float
    exhibitor_id: str | None = None  # booth staff: whose booth they work at

    @property
    def beacon_id(self) -> str:
        return ibeacon_id(self.beacon_uuid, self.beacon_major, self.beacon_minor)


@dataclass(frozen=True)
class Scenario:
    seed: int
    event: EventSpec
    width: float
    height: float
    beacon_uuid: str
    exhibitors: tuple[ExhibitorSpec, ...]
    zones: tuple[ZoneSpec, ...]
    sessions: tuple[SessionSpec, ...]
    devices: tuple[DeviceSpec, ...]
    attendees: tuple[AttendeeSpec, ...]
    venue: str = "default"  # which layout built this scenario (see VENUES)
    # Where people stop to chat when not in a zone; None = the default layout's band between the session
    # rooms and the entrances (kept as it was, so that the default day is the same day as before).
    aisles: Rect | None = None

    @cached_property
    def zones_by_id(self) -> dict[str, ZoneSpec]:
        return {z.id: z for z in self.zones}

    @cached_property
    def devices_by_zone(self) -> dict[str | None, tuple[DeviceSpec, ...]]:
        out: dict[str | None, list[DeviceSpec]] = {}
        for d in self.devices:
            out.setdefault(d.zone_id, []).append(d)
        return {k: tuple(v) for k, v in out.items()}

    def zone(self, zone_id: str) -> ZoneSpec:
        return self.zones_by_id[zone_id]

    def zones_of_kind(self, kind: str) -> tuple[ZoneSpec, ...]:
        return tuple(z for z in self.zones if z.kind == kind)

    def zone_at(self, x: float, y: float) -> ZoneSpec | None:
        """The zone containing a point, or None for corridors."""
        for z in self.zones:
            if z.rect.contains(x, y):
                return z
        return None


_FIRST = (
    "Ada",
    "Ben",
    "Chloe",
    "David",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemal",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Yara",
    "Zoe",
)
_LAST = (
    "Adams",
    "Berg",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jansen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Varga",
    "Weber",
    "Yilmaz",
)
_COMPANIES = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark Industries",
    "Wayne Tech",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Aperture",
    "Massive Dynamic",
    "Wonka",
    "Oscorp",
    "Gringotts",
    "Monarch",
    "Dunder",
)
_EXHIBITORS = (
    "CloudNine",
    "ByteForge",
    "SecureSphere",
    "DataHarbor",
    "PipelinePro",
    "AppOrbit",
    "SensorWorks",
    "WebWeave",
    "PixelPerfect",
    "GrowthLoop",
    "DealFlow",
    "LeadRight",
    "Quantix",
    "NetPulse",
)
_LABELS = {"ai": "AI", "iot": "IoT", "ux": "UX", "devops": "DevOps"}
_TITLES = (
    "Scaling {t} in production",
    "{t}: lessons learned",
    "The future of {t}",
    "Hands-on {t}",
    "{t} for beginners",
    "{t} at the edge",
    "Pitfalls of {t}",
    "{t} in practice",
)


def _layout() -> list[ZoneSpec]:
    zones = [
        ZoneSpec("entrance-a", "Entrance A", "entrance", Rect(10, 72, 14, 8)),
        ZoneSpec("entrance-b", "Entrance B", "entrance", Rect(96, 72, 14, 8)),
        ZoneSpec("room-keynote", "Keynote Hall", "room", Rect(0, 0, 36, 26), capacity=400),
    ]
    for i, (letter, cap) in enumerate(zip("abcd", (120, 120, 60, 60), strict=True)):
        zones.append(ZoneSpec(f"room-{letter}", f"Room {letter.upper()}", "room", Rect(38 + 21 * i, 0, 19, 22), cap))
    zones.append(ZoneSpec("lounge", "Lounge & Catering", "lounge", Rect(86, 34, 32, 30), capacity=300))
    return zones


def _booths(exhibitors: list[ExhibitorSpec]) -> list[ZoneSpec]:
    # Two rows of six open stands, 9 x 7 m, with 4 m aisles between them.
    out = []
    for i, exh in enumerate(exhibitors):
        row, col = divmod(i, 6)
        rect = Rect(4 + 13 * col, 32 + 18 * row, 9, 7)
        out.append(ZoneSpec(f"booth-{i + 1:02d}", f"Booth {i + 1}: {exh.name}", "booth", rect, 20, exh.id))
    return out


def _agenda(rng: random.Random, start: float, rooms: list[ZoneSpec]) -> list[SessionSpec]:
    """Opening keynote, six slots of parallel talks (lunch after the third), closing keynote."""
    minute = 60.0
    sessions: list[SessionSpec] = []

    def add(zone_id: str, begin: float, end: float, tags: tuple[str, ...], title: str) -> None:
        sessions.append(
            SessionSpec(
                f"s{len(sessions) + 1:02d}",
                zone_id,
                title,
                start + begin * minute,
                start + end * minute,
                tags,
            )
        )

    add("room-keynote", 30, 75, ("keynote", rng.choice(TOPICS[:4])), "Opening keynote")
    for begin in (90, 150, 210, 330, 390, 450):
        for room in rooms:
            tags = tuple(sorted(set(rng.choices(TOPICS, TOPIC_WEIGHTS, k=rng.choice((1, 2))))))
            template = rng.choice(_TITLES)
            title = template.format(t=_LABELS.get(tags[0], tags[0].title()))
            add(room.id, begin, begin + 45, tags, title)
    add("room-keynote", 510, 540, ("keynote", rng.choice(TOPICS)), "Closing keynote")
    return sessions


def _devices(rng: random.Random, zones: list[ZoneSpec]) -> list[DeviceSpec]:
    """One NFC+BLE unit per entrance and booth, one BLE scanner per room (two in the keynote hall)."""
    out = []

    def bias() -> float:
        value = max(-DEVICE_BIAS_MAX_DB, min(DEVICE_BIAS_MAX_DB, rng.gauss(0, DEVICE_BIAS_SIGMA_DB)))
        return round(value, 1) + 0.0  # + 0.0 turns -0.0 into 0.0

    for z in zones:
        r = z.rect
        if z.kind == "entrance":
            out.append(DeviceSpec(f"dev-{z.id}", f"{z.name} check-in", z.id, *r.center, bias(), nfc=True))
        elif z.kind == "booth":
            # The reader sits on the front counter, 1 m in from the aisle.
            out.append(
                DeviceSpec(f"dev-{z.id}", f"{z.name} reader", z.id, r.center[0], r.y + r.height - 1, bias(), True)
            )
        elif z.id == "room-keynote":
            for n, fy in ((1, 0.25), (2, 0.75)):
                pos = (r.center[0], r.y + r.height * fy)
                out.append(DeviceSpec(f"dev-{z.id}-{n}", f"{z.name} scanner {n}", z.id, *pos, bias(), nfc=False))
        else:
            out.append(DeviceSpec(f"dev-{z.id}", f"{z.name} scanner", z.id, *r.center, bias(), nfc=False))
    return out


def _interests(rng: random.Random, k: int) -> tuple[str, ...]:
    chosen: set[str] = set()
    while len(chosen) < k:
        chosen.add(rng.choices(TOPICS, TOPIC_WEIGHTS)[0])
    return tuple(sorted(chosen))


def _attendees(
    seed: int, count: int, start: float, beacon_uuid: str, exhibitors: list[ExhibitorSpec]
) -> list[AttendeeSpec]:
    n_staff = round(count * STAFF_SHARE)
    n_booth = min(round(count * EXHIBITOR_STAFF_SHARE), 2 * len(exhibitors))
    uids: set[str] = set()
    out = []
    for i in range(count):
        number = i + 1
        # Each badge draws from its own stream: badge N is the same person whatever the attendee count,
        # so scenarios of different sizes (and the rows they seed) never disagree about a badge.
        rng = random.Random(f"{seed}:attendee:{number}")
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        exhibitor: ExhibitorSpec | None = None
        if i < n_staff:
            role, company = "staff", "Touchpoints Events"
        elif i < n_staff + n_booth:
            exhibitor = exhibitors[(i - n_staff) % len(exhibitors)]
            role, company = "exhibitor", exhibitor.name
        else:
            role, company = "attendee", rng.choice(_COMPANIES)
        domain = company.lower().replace(" ", "") + ".example"
        uid = "04" + rng.randbytes(6).hex()  # 0x04: NXP, the usual maker of 7-byte NTAG badge chips
        while uid in uids:
            uid = "04" + rng.randbytes(6).hex()
        uids.add(uid)
        interests = exhibitor.interests if exhibitor else _interests(rng, rng.choice((2, 3, 3, 4)))
        tracked = rng.random() < CONSENT_TRACKING_P
        out.append(
            AttendeeSpec(
                id=f"att-{number:06d}",
                name=f"{first} {last}",
                email=f"{first.lower()}.{last.lower()}.{number}@{domain}",
                company=company,
                role=role,
                interests=interests,
                badge_uid=uid,
                badge_id=f"B{number:06d}",
                beacon_uuid=beacon_uuid,
                beacon_major=BEACON_MAJOR,
                beacon_minor=number,
                consent_tracking=tracked,
                consent_push=rng.random() < CONSENT_PUSH_P,
                consent_crm=rng.random() < CONSENT_CRM_P,
                registered_at=round(start - rng.uniform(1, 60) * 86400, 0),
                exhibitor_id=exhibitor.id if exhibitor else None,
            )
        )
    return out


def build_scenario(seed: int = 7, attendees: int = 200, start: float | None = None, event_id: str = "demo") -> Scenario:
    """The conference for ``seed``: same arguments, same conference, down to every badge UID."""
    if not 1 <= attendees <= MAX_ATTENDEES:
        raise ValueError(f"attendees must be 1..{MAX_ATTENDEES}, got {attendees}")
    rng = random.Random(seed)
    begin = float(DEFAULT_START if start is None else start)
    event = EventSpec(event_id, f"Touchpoints Conference (seed {seed})", begin, begin + DAY_LENGTH_S)
    beacon_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    exhibitors = []
    for i, name in enumerate(rng.sample(_EXHIBITORS, 12)):
        exhibitors.append(ExhibitorSpec(f"exh-{i + 1:02d}", name, _interests(rng, rng.choice((2, 3)))))
    zones = _layout()
    rooms = [z for z in zones if z.kind == "room"]
    zones += _booths(exhibitors)
    return Scenario(
        seed=seed,
        event=event,
        width=HALL_WIDTH_M,
        height=HALL_HEIGHT_M,
        beacon_uuid=beacon_uuid,
        exhibitors=tuple(exhibitors),
        zones=tuple(zones),
        sessions=tuple(_agenda(rng, begin, rooms)),
        devices=tuple(_devices(rng, zones)),
        attendees=tuple(_attendees(seed, attendees, begin, beacon_uuid, exhibitors)),
    )
