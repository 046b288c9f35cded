"""A stronger baseline: "incumbent/challenger", as open room-presence projects pick a room.

room-assistant and ESPresense (with its companion) keep a badge in the room of its current scanner, the
*incumbent*, and move it only when another scanner, the *challenger*, has beaten the incumbent by a margin
for some seconds: one lucky reading never moves a badge, a real move does after a short wait. Every scanner
is a "room": a scanner on an aisle pole (no zone) wins the badge for the aisle, i.e. for no zone, which
gives this method a corridor too. It speaks the bench's ``observe`` / ``tap`` / ``advance`` language, like
:class:`server.domain.nearest.NearestScannerTracker`, applies calibration offsets, and knows no geometry.

Example: a badge at booth 1's reader (-60) walks toward booth 2: booth 2 reads -58 (no move: within the
margin), then -55 for 6 s while booth 1 reads -60 (moves; the new visit starts when the challenge began).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from server.domain.model import Scanner, Sighting, Tap, Visit, VisitEnded, VisitEvent, VisitStarted

MARGIN_DB = 4.0  # a challenger must be this much stronger: above the ~2-3 dB jitter of a smoothed reading
HOLD_S = 6.0  # ... for this long (three 2 s scan windows): room-assistant's and ESPresense's few seconds
RECENT_S = 6.0  # a scanner's reading counts this long (three windows); an incumbent gone quiet loses at once
AWAY_AFTER_S = 20.0  # unseen by every scanner this long: the badge left (the same timeout as our engine)


@dataclass(slots=True)
class _Badge:
    scanner: str  # the incumbent
    zone: str | None
    started_at: float  # when the current zone's stay began
    last_in_zone: float  # the last reading of a scanner of the current zone
    last_seen: float
    readings: dict[str, tuple[float, float]] = field(default_factory=dict)  # scanner -> (calibrated rssi, at)
    challenger: str | None = None
    challenge_since: float = 0.0


class IncumbentChallengerTracker:
    """Per badge: keep the incumbent scanner's zone until a challenger wins by ``MARGIN_DB`` for ``HOLD_S``."""

    def __init__(self, scanners: Iterable[Scanner]) -> None:
        self._scanners = {s.id: s for s in scanners}
        self._badges: dict[str, _Badge] = {}

    def observe(self, sightings: Iterable[Sighting]) -> list[VisitEvent]:
        events: list[VisitEvent] = []
        for s in sightings:
            scanner = self._scanners.get(s.device_id)
            if scanner is None:
                continue
            rssi, now = s.rssi + scanner.rssi_offset_db, s.last_seen
            badge = self._badges.get(s.attendee_id)
            if badge is None:
                badge = _Badge(s.device_id, scanner.zone_id, s.first_seen, now, now)
                self._badges[s.attendee_id] = badge
                if scanner.zone_id is not None:
                    events.append(VisitStarted(Visit(s.attendee_id, scanner.zone_id, s.first_seen)))
            badge.readings[s.device_id] = (rssi, now)
            badge.last_seen = max(badge.last_seen, now)
            if scanner.zone_id == badge.zone:
                badge.last_in_zone = max(badge.last_in_zone, now)
            events += self._decide(s.attendee_id, badge, now)
        return events

    def _decide(self, attendee_id: str, badge: _Badge, now: float) -> list[VisitEvent]:
        fresh = {k: r for k, (r, at) in badge.readings.items() if now - at <= RECENT_S}
        best = max(fresh, key=lambda k: (fresh[k], k))
        if badge.scanner not in fresh:  # the incumbent went quiet: the strongest takes over at once
            return self._switch(attendee_id, badge, best, now, now)
        if best == badge.scanner or fresh[best] < fresh[badge.scanner] + MARGIN_DB:
            badge.challenger = None
            return []
        if badge.challenger != best:
            badge.challenger, badge.challenge_since = best, now
            return []
        if now - badge.challenge_since < HOLD_S:
            return []
        return self._switch(attendee_id, badge, best, badge.challenge_since, now)

    def _switch(self, attendee_id: str, badge: _Badge, scanner_id: str, since: float, now: float) -> list[VisitEvent]:
        zone = self._scanners[scanner_id].zone_id
        badge.scanner, badge.challenger = scanner_id, None
        if zone == badge.zone:
            return []
        events: list[VisitEvent] = []
        if badge.zone is not None:
            end = max(badge.started_at, min(badge.last_in_zone, since))
            events.append(VisitEnded(Visit(attendee_id, badge.zone, badge.started_at, end)))
        badge.zone, badge.started_at, badge.last_in_zone = zone, since, now
        if zone is not None:
            events.append(VisitStarted(Visit(attendee_id, zone, since)))
        return events

    def tap(self, tap: Tap) -> list[VisitEvent]:
        """Taps say nothing to this method (these projects only listen to BLE)."""
        return []

    def advance(self, now: float) -> list[VisitEvent]:
        events: list[VisitEvent] = []
        gone = [a for a, b in self._badges.items() if now - b.last_seen > AWAY_AFTER_S]
        for attendee_id in gone:
            badge = self._badges.pop(attendee_id)
            if badge.zone is not None:
                events.append(VisitEnded(Visit(attendee_id, badge.zone, badge.started_at, badge.last_in_zone)))
        return events

    def open_visits(self) -> list[Visit]:
        return [Visit(a, b.zone, b.started_at) for a, b in self._badges.items() if b.zone is not None]

    def zone_of(self, attendee_id: str) -> str | None:
        badge = self._badges.get(attendee_id)
        return badge.zone if badge is not None else None
