"""The domain's plain values: what presence, journeys, scoring and analytics compute with.

Pure: frozen dataclasses, no database, no clock. Adapters translate store rows into these and back.
Times are Unix seconds (floats), as everywhere in Touchpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ZoneKind(StrEnum):
    ROOM = "room"
    BOOTH = "booth"
    ENTRANCE = "entrance"
    LOUNGE = "lounge"
    STAFF_AREA = "staff_area"


@dataclass(frozen=True, slots=True)
class Zone:
    """A place on the floor plan; coordinates in metres from the plan's top-left corner."""

    id: str
    kind: ZoneKind
    x: float
    y: float
    width: float
    height: float
    capacity: int | None = None
    exhibitor_id: str | None = None

    def contains(self, px: float, py: float) -> bool:
        return self.x <= px <= self.x + self.width and self.y <= py <= self.y + self.height


@dataclass(frozen=True, slots=True)
class Scanner:
    """An edge device as presence sees it: where it is, and its RSSI calibration."""

    id: str
    zone_id: str | None
    x: float | None = None
    y: float | None = None
    rssi_offset_db: float = 0.0  # added to every RSSI it reports


@dataclass(frozen=True, slots=True)
class Sighting:
    """One scanner's smoothed reading of one attendee's badge over one scan window."""

    attendee_id: str
    device_id: str
    rssi: float  # as reported (the engine applies the scanner's calibration offset)
    first_seen: float
    last_seen: float
    count: int = 1
    distance_m: float | None = None


@dataclass(frozen=True, slots=True)
class Tap:
    """An NFC badge tap: definitive presence at the reader's zone at that instant."""

    attendee_id: str
    device_id: str
    at: float


@dataclass(frozen=True, slots=True)
class Visit:
    """An attendee's stay in one zone. ``ended_at`` is None while the visit is open."""

    attendee_id: str
    zone_id: str
    started_at: float
    ended_at: float | None = None

    def dwell_s(self, now: float | None = None) -> float:
        end = self.ended_at if self.ended_at is not None else now
        if end is None:
            raise ValueError("an open visit's dwell needs `now`")
        return max(0.0, end - self.started_at)


@dataclass(frozen=True, slots=True)
class VisitStarted:
    visit: Visit


@dataclass(frozen=True, slots=True)
class VisitEnded:
    visit: Visit  # ended_at set


VisitEvent = VisitStarted | VisitEnded


@dataclass(frozen=True, slots=True)
class AgendaSession:
    id: str
    zone_id: str
    title: str
    starts_at: float
    ends_at: float
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Attendance:
    """An attendee at a session: how much of it they were there for."""

    attendee_id: str
    session_id: str
    present_s: float
    share: float  # present_s / session length, 0..1
    checked_in_by_tap: bool = False


class JourneyKind(StrEnum):
    """Every kind of entry on an attendee's timeline."""

    REGISTRATION = "registration"
    CHECK_IN = "check_in"
    TAP = "tap"
    SESSION_ATTENDED = "session_attended"
    BOOTH_VISIT = "booth_visit"
    ZONE_VISIT = "zone_visit"
    LEAD_SCAN = "lead_scan"
    MEETING = "meeting"
    APP_ACTION = "app_action"
    NOTIFICATION_SENT = "notification_sent"
    NOTIFICATION_OPENED = "notification_opened"


@dataclass(frozen=True, slots=True)
class JourneyEntry:
    """One item of an attendee's journey timeline."""

    at: float
    kind: JourneyKind
    zone_id: str | None = None
    dwell_s: float | None = None
    ref: str | None = None  # session id, exhibitor id, notification id ...
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AttendeeProfile:
    """What scoring and segments may look at (never contact details)."""

    id: str
    role: str = "attendee"
    company: str | None = None
    tags: tuple[str, ...] = ()
    interests: tuple[str, ...] = ()
    job_title: str | None = None
    country: str | None = None
