"""What counts as a check-in: the one definition the journey and the organizer's analytics share.

An attendee has checked in when they tapped their badge at a reader that stands in a check-in zone, or when
presence saw them in (a visit to) a check-in zone. Check-in zones are the venue's entrances: arriving at
the event means coming through one of its doors, and a tap or a stay anywhere else (a booth, a session room)
says where someone went once inside, not that they arrived.

The journey applies it per touchpoint (:func:`is_check_in_zone`); the store's attendance query filters by
the same places (:func:`check_in_places`) so a number on the dashboard and a ``check_in`` on a timeline can
never disagree. Example: with an entrance ``e1`` read by ``door-1`` and a booth ``b1`` read by ``b1-reader``,
``check_in_places(zones, {"door-1": "e1", "b1-reader": "b1"})`` is ``CheckInPlaces({"e1"}, {"door-1"})``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from server.domain.model import Zone, ZoneKind

# Entrances only: every venue has them, and being there is what "arrived" means (see the module docstring).
CHECK_IN_ZONE_KINDS: frozenset[ZoneKind] = frozenset({ZoneKind.ENTRANCE})


def is_check_in_zone(kind: ZoneKind | None) -> bool:
    """A tap at a reader in, or a visit to, a zone of this kind is a check-in."""
    return kind in CHECK_IN_ZONE_KINDS


@dataclass(frozen=True)
class CheckInPlaces:
    """Where a check-in happens in one venue: visits to ``zone_ids``, taps at ``reader_ids``."""

    zone_ids: frozenset[str]
    reader_ids: frozenset[str]


def check_in_places(zones: Iterable[Zone], tap_zone: Mapping[str, str | None]) -> CheckInPlaces:
    """The check-in zones of a venue and the readers that stand in them (``tap_zone``: reader -> its zone)."""
    zone_ids = frozenset(z.id for z in zones if is_check_in_zone(z.kind))
    readers = frozenset(reader for reader, zone_id in tap_zone.items() if zone_id in zone_ids)
    return CheckInPlaces(zone_ids, readers)
