"""What the rule engine knows about the venue and about one attendee: plain values the adapter builds.

Pure: frozen dataclasses, no store, no clock. The adapter builds a :class:`VenueContext` once per event (and
again when the floor plan or agenda changes) and an :class:`AttendeeContext` per evaluation from the
attendee row, their consents, score/stage (from scoring), session registrations and live presence.

Why a separate context instead of handing the engine the store: the engine must be deterministic given the
same stream and time, so everything it may look at is passed in as a value. Example::

    venue = VenueContext(
        zones={"b1": Zone("b1", ZoneKind.BOOTH, 0, 0, 3, 3, exhibitor_id="acme")},
        exhibitors={"acme": Exhibitor("acme", "ACME Robotics", interests=("robotics",))},
        event_start=1_717_000_000.0, event_end=1_717_200_000.0, utc_offset_s=7200,
    )
    anna = AttendeeContext(AttendeeProfile("a1", interests=("robotics",)), name="Anna",
                           consents=Consents(tracking=True, push=True))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from server.domain.model import AgendaSession, AttendeeProfile, Zone


@dataclass(frozen=True, slots=True)
class Consents:
    """An attendee's consent per purpose (all off by default: nothing is assumed).

    ``tracking`` gates every rule whose trigger or conditions come from presence (zones, dwell, visits);
    ``push`` and ``email`` gate their channels (a transactional email needs no ``email`` consent);
    ``share`` is consent to share contact details with exhibitors and the CRM (store: ``consent_crm``).
    """

    tracking: bool = False
    push: bool = False
    email: bool = False
    share: bool = False


@dataclass(frozen=True, slots=True)
class Exhibitor:
    """An exhibitor as rules see it: name for templates, interests for matching, content for thank-yous."""

    id: str
    name: str
    interests: tuple[str, ...] = ()
    content_url: str | None = None


@dataclass(frozen=True, slots=True)
class VenueContext:
    """The event's places, exhibitors, agenda and clock settings.

    ``utc_offset_s`` turns Unix time into the venue's local time for quiet hours and time conditions
    (a fixed offset: an event does not span a daylight-saving switch in practice). ``neighbours`` lists the
    zones "near" each zone (for "a session is starting in a room near you"); a zone is always near itself.
    """

    zones: Mapping[str, Zone] = field(default_factory=dict)
    exhibitors: Mapping[str, Exhibitor] = field(default_factory=dict)
    sessions: Mapping[str, AgendaSession] = field(default_factory=dict)
    zone_names: Mapping[str, str] = field(default_factory=dict)
    neighbours: Mapping[str, frozenset[str]] = field(default_factory=dict)
    event_name: str = ""
    event_start: float | None = None
    event_end: float | None = None
    utc_offset_s: int = 0

    def zone_name(self, zone_id: str) -> str:
        return self.zone_names.get(zone_id, zone_id)

    def exhibitor_of_zone(self, zone_id: str | None) -> Exhibitor | None:
        zone = self.zones.get(zone_id) if zone_id is not None else None
        if zone is None or zone.exhibitor_id is None:
            return None
        return self.exhibitors.get(zone.exhibitor_id)

    def is_near(self, zone_id: str | None, target_zone_id: str) -> bool:
        if zone_id is None:
            return False
        return zone_id == target_zone_id or zone_id in self.neighbours.get(target_zone_id, frozenset())

    def session_running_in(self, zone_id: str | None, now: float) -> AgendaSession | None:
        """The session running in ``zone_id`` at ``now`` (the first by id when the agenda overlaps)."""
        if zone_id is None:
            return None
        running = [s for s in self.sessions.values() if s.zone_id == zone_id and s.starts_at <= now < s.ends_at]
        return min(running, key=lambda s: s.id) if running else None


@dataclass(frozen=True, slots=True)
class AttendeeContext:
    """One attendee at the moment of evaluation.

    ``score``/``grade``/``stage`` are plain values from scoring (None when unknown: a segment that asks for
    them then does not match). ``current_zone_id`` is live presence (None when unknown or not tracked).
    ``attending_session_id`` is the session presence says they are in; when None the engine also treats
    "in the room of a running session" as attending. ``journey_summary`` is the text a rep alert carries.
    """

    profile: AttendeeProfile
    name: str | None = None
    consents: Consents = Consents()
    score: float | None = None
    grade: str | None = None
    stage: str | None = None
    registered_sessions: frozenset[str] = frozenset()
    checked_in: bool = False
    current_zone_id: str | None = None
    attending_session_id: str | None = None
    journey_summary: str | None = None

    @property
    def id(self) -> str:
        return self.profile.id

    def in_session(self, venue: VenueContext, now: float) -> bool:
        if self.attending_session_id is not None:
            return True
        return venue.session_running_in(self.current_zone_id, now) is not None
