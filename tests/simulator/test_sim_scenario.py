"""The scenario: a deterministic, plausible conference built from a seed."""

from __future__ import annotations

import itertools
from collections import Counter

from edge.protocol import ibeacon_id
from server.simulator.scenario import DEFAULT_START, Scenario, build_scenario


def test_same_seed_builds_the_same_conference() -> None:
    assert build_scenario(seed=3, attendees=50) == build_scenario(seed=3, attendees=50)


def test_different_seed_builds_a_different_conference() -> None:
    a, b = build_scenario(seed=3, attendees=50), build_scenario(seed=4, attendees=50)
    assert [x.badge_uid for x in a.attendees] != [x.badge_uid for x in b.attendees]
    assert a.beacon_uuid != b.beacon_uuid


def test_default_day_is_fixed_and_start_is_honoured() -> None:
    default = build_scenario(attendees=5)
    assert default.event.starts_at == DEFAULT_START  # 2026-06-10T08:30:00Z, never the clock
    assert default.event.ends_at - default.event.starts_at == 9.5 * 3600
    moved = build_scenario(attendees=5, start=DEFAULT_START + 86400, event_id="day2")
    assert moved.event.id == "day2"
    assert [s.starts_at - 86400 for s in moved.sessions] == [s.starts_at for s in default.sessions]


def test_default_venue_has_entrances_rooms_lounge_and_booths() -> None:
    s = build_scenario()
    kinds = Counter(z.kind for z in s.zones)
    assert kinds == {"entrance": 2, "room": 5, "lounge": 1, "booth": 12}
    assert len(s.exhibitors) == 12
    assert {z.exhibitor_id for z in s.zones if z.kind == "booth"} == {e.id for e in s.exhibitors}
    assert all(z.rect.x + z.rect.width <= s.width and z.rect.y + z.rect.height <= s.height for z in s.zones)


def test_every_device_stands_inside_its_zone_and_readers_are_where_badges_are_tapped(
    scenario: Scenario,
) -> None:
    for device in scenario.devices:
        assert scenario.zone(device.zone_id).rect.contains(device.x, device.y), device
        assert abs(device.rssi_bias_db) <= 5
    readers = {d.zone_id for d in scenario.devices if d.nfc}
    assert readers == {z.id for z in scenario.zones if z.kind in ("entrance", "booth")}
    assert set(scenario.devices_by_zone) == {z.id for z in scenario.zones}  # every zone is covered


def test_agenda_runs_in_rooms_within_the_day_with_topic_tags(scenario: Scenario) -> None:
    rooms = {z.id for z in scenario.zones if z.kind == "room"}
    for talk in scenario.sessions:
        assert talk.zone_id in rooms
        assert scenario.event.starts_at <= talk.starts_at < talk.ends_at <= scenario.event.ends_at
        assert talk.tags
    by_room: dict[str, list[tuple[float, float]]] = {}
    for talk in scenario.sessions:
        by_room.setdefault(talk.zone_id, []).append((talk.starts_at, talk.ends_at))
    for slots in by_room.values():  # a room hosts one talk at a time
        slots.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(slots))


def test_badges_are_unique_and_canonical() -> None:
    s = build_scenario(attendees=500)
    for key in ("id", "badge_uid", "badge_id", "beacon_id", "email"):
        assert len({getattr(a, key) for a in s.attendees}) == 500, key
    first = s.attendees[0]
    assert first.badge_id == "B000001"
    assert len(first.badge_uid) == 14 and int(first.badge_uid, 16) >= 0  # 7 bytes of hex
    assert first.beacon_id == ibeacon_id(s.beacon_uuid, 1, 1)


def test_roles_and_consent_are_realistic() -> None:
    s = build_scenario(attendees=1000)
    roles = Counter(a.role for a in s.attendees)
    assert roles["attendee"] > 850 and 0 < roles["staff"] < 50 and 0 < roles["exhibitor"] <= 24
    booth_staff = [a for a in s.attendees if a.role == "exhibitor"]
    assert all(a.exhibitor_id and a.company for a in booth_staff)
    tracked = sum(a.consent_tracking for a in s.attendees) / len(s.attendees)
    assert 0.85 < tracked < 0.95
    assert all(2 <= len(a.interests) <= 4 for a in s.attendees if a.role == "attendee")
