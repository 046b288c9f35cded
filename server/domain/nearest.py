"""The common baseline: each badge is in the zone of the scanner with the strongest recent reading.

This is what room-assistant and Home Assistant's ``mqtt_room`` do: a new reading moves the badge when it
comes from the scanner it is already at, when it is stronger than the current one, or when the current one
is older than ``RECENT_S``; a badge unseen for ``AWAY_AFTER_S`` is away. No geometry, no corridors, no
hysteresis, no minimum dwell. It exists so that ``touchpoints bench presence`` can measure the
:class:`server.domain.presence.PresenceEngine` against it on the same data in the same run; it speaks the
same ``observe`` / ``tap`` / ``advance`` language so the bench drives both identically. Calibration offsets
are applied, so the comparison is about the method, not about a handicap.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from server.domain.model import Scanner, Sighting, Tap, Visit, VisitEnded, VisitEvent, VisitStarted

RECENT_S = 5.0  # mqtt_room's timeout: a reading older than this no longer defends its room
AWAY_AFTER_S = 5.0  # ... and the badge is dropped after this long unseen (the "dropped after 5 s")


class NearestScannerTracker:
    """Strongest-recent-reading zone per badge; visits are the runs of one zone (first to last reading)."""

    def __init__(self, scanners: Iterable[Scanner]) -> None:
        self._scanners = {s.id: s for s in scanners if s.zone_id is not None}
        # attendee -> [zone, scanner, calibrated rssi, reading time, visit start, last reading in zone]
        self._state: dict[str, list[Any]] = {}

    def observe(self, sightings: Iterable[Sighting]) -> list[VisitEvent]:
        events: list[VisitEvent] = []
        scanners, state = self._scanners, self._state
        for s in sightings:
            scanner = scanners.get(s.device_id)
            if scanner is None:
                continue
            rssi = s.rssi + scanner.rssi_offset_db
            known = state.get(s.attendee_id)
            if known is None:
                state[s.attendee_id] = [scanner.zone_id, s.device_id, rssi, s.last_seen, s.first_seen, s.last_seen]
                events.append(VisitStarted(Visit(s.attendee_id, str(scanner.zone_id), s.first_seen)))
                continue
            zone, device, best, seen, start, last = known
            if device == s.device_id or rssi > best or s.last_seen - seen > RECENT_S:
                if scanner.zone_id != zone:
                    events.append(VisitEnded(Visit(s.attendee_id, zone, start, last)))
                    events.append(VisitStarted(Visit(s.attendee_id, str(scanner.zone_id), s.first_seen)))
                    start = s.first_seen
                state[s.attendee_id] = [scanner.zone_id, s.device_id, rssi, s.last_seen, start, s.last_seen]
            elif zone == scanner.zone_id:
                known[5] = max(last, s.last_seen)
        return events

    def tap(self, tap: Tap) -> list[VisitEvent]:
        """Taps say nothing to this method (room-assistant only listens to BLE)."""
        return []

    def advance(self, now: float) -> list[VisitEvent]:
        events: list[VisitEvent] = []
        gone = [a for a, known in self._state.items() if now - known[3] > AWAY_AFTER_S]
        for attendee_id in gone:
            zone, _, _, _, start, last = self._state.pop(attendee_id)
            events.append(VisitEnded(Visit(attendee_id, zone, start, last)))
        return events

    def open_visits(self) -> list[Visit]:
        return [Visit(a, k[0], k[4]) for a, k in self._state.items()]

    def zone_of(self, attendee_id: str) -> str | None:
        known = self._state.get(attendee_id)
        return known[0] if known is not None else None
