"""What counts as a check-in: a tap at a reader in an entrance, or a visit to an entrance; nothing else."""

from __future__ import annotations

from server.domain.checkin import CheckInPlaces, check_in_places, is_check_in_zone
from server.domain.model import Zone, ZoneKind

ZONES = [
    Zone("e1", ZoneKind.ENTRANCE, 0, 0, 5, 5),
    Zone("b1", ZoneKind.BOOTH, 10, 0, 3, 3, exhibitor_id="acme"),
    Zone("r1", ZoneKind.ROOM, 20, 0, 10, 10),
]


def test_the_entrances_and_their_readers_are_the_check_in_places() -> None:
    readers = {"door-1": "e1", "b1-reader": "b1", "r1-reader": "r1", "unplaced": None}
    assert check_in_places(ZONES, readers) == CheckInPlaces(frozenset({"e1"}), frozenset({"door-1"}))


def test_only_an_entrance_is_a_check_in_zone() -> None:
    assert [kind for kind in ZoneKind if is_check_in_zone(kind)] == [ZoneKind.ENTRANCE]
    assert not is_check_in_zone(None)  # a reader in no zone
