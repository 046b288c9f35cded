"""The 60 x 40 m show: equipped as installers do, and a day that uses every kind of zone."""

from __future__ import annotations

import pytest

from server.simulator.movement import plan_itineraries
from server.simulator.scenario import DEFAULT_MOUNT_HEIGHT_M, build_scenario
from server.simulator.venues import BACK_WALL_M, COUNTER_M, POLE_M, build_venue


def test_the_hall_has_the_documented_floor_plan_and_28_scanners() -> None:
    s = build_venue("hall", seed=7, attendees=20)
    assert (s.width, s.height, s.venue) == (60.0, 40.0, "hall")
    booths = s.zones_of_kind("booth")
    assert len(booths) == 12 and all((b.rect.width, b.rect.height) == (6, 6) for b in booths)
    assert [z.walled for z in s.zones_of_kind("room")] == [True, True]
    assert len(s.zones_of_kind("lounge")) == 1 and len(s.zones_of_kind("entrance")) == 1
    assert len(s.devices) == 28
    for a in s.zones:  # zones do not overlap
        for b in s.zones:
            if a is not b:
                r, q = a.rect, b.rect
                assert r.x + r.width <= q.x or q.x + q.width <= r.x or r.y + r.height <= q.y or q.y + q.height <= r.y


def test_scanners_sit_where_installers_put_them_not_where_the_engine_would() -> None:
    s = build_venue("hall", seed=7, attendees=20)
    for d in s.devices:
        assert 0 <= d.x <= s.width and 0 <= d.y <= s.height
        zone = s.zone_at(d.x, d.y)
        assert (zone.id if zone else None) == d.zone_id  # each scanner is where its zone says
    for booth in s.zones_of_kind("booth"):
        [d] = s.devices_by_zone[booth.id]
        assert d.nfc  # exhibitors badge-scan visitors on it
        cx, cy = booth.rect.center
        assert max(abs(d.x - cx), abs(d.y - cy)) >= 2.0  # never in the middle of the stand
    heights = {d.height_m for d in s.devices}
    assert {COUNTER_M, BACK_WALL_M, POLE_M} <= heights
    poles = s.devices_by_zone[None]
    assert len(poles) == 9 and all(p.height_m == POLE_M and not p.nfc for p in poles)
    assert all(d.height_m == DEFAULT_MOUNT_HEIGHT_M for d in build_scenario(attendees=5).devices)


def test_a_day_in_the_hall_visits_every_kind_of_zone_and_repeats_exactly() -> None:
    s = build_venue("hall", seed=3, attendees=40)
    days = plan_itineraries(s)
    assert days == plan_itineraries(build_venue("hall", seed=3, attendees=40))
    kinds = {s.zone(iv.zone_id).kind for it in days for iv in it.intervals if iv.zone_id is not None}
    assert kinds == {"booth", "room", "lounge", "entrance"}
    corridor = [iv for it in days for iv in it.intervals if iv.zone_id is None and iv.x == iv.to_x]
    assert corridor and all(0 <= iv.x <= 60 and 0 <= iv.y <= 40 for iv in corridor)  # chats stay in the hall


def test_an_unknown_venue_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown venue 'arena'"):
        build_venue("arena")
    assert build_venue("default", seed=7, attendees=5) == build_scenario(7, 5)
