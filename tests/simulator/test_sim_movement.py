"""Ground truth: every badge has exactly one place at every instant of its day."""

from __future__ import annotations

from collections import Counter

from server.simulator.movement import Interval, Itinerary, plan_itineraries
from server.simulator.scenario import Scenario, build_scenario


def test_same_scenario_plans_the_same_day(scenario: Scenario, itineraries: tuple[Itinerary, ...]) -> None:
    assert plan_itineraries(scenario) == itineraries


def test_different_seed_plans_a_different_day() -> None:
    a = plan_itineraries(build_scenario(seed=1, attendees=10))
    b = plan_itineraries(build_scenario(seed=2, attendees=10))
    assert a != b


def test_intervals_are_contiguous_non_overlapping_and_within_the_event(
    scenario: Scenario, itineraries: tuple[Itinerary, ...]
) -> None:
    ev = scenario.event
    assert [it.attendee_id for it in itineraries] == [a.id for a in scenario.attendees]
    for it in itineraries:
        assert it.intervals, it.attendee_id
        for prev, cur in zip(it.intervals, it.intervals[1:], strict=False):
            assert cur.start == prev.end, (prev, cur)  # no gap, no overlap
            assert (cur.x, cur.y) == (prev.to_x, prev.to_y)  # nobody teleports
        for iv in it.intervals:
            assert ev.starts_at <= iv.start < iv.end <= ev.ends_at, iv


def test_zone_of_an_interval_is_the_zone_containing_it(scenario: Scenario, itineraries: tuple[Itinerary, ...]) -> None:
    for it in itineraries:
        for iv in it.intervals:
            at_start, at_end = scenario.zone_at(iv.x, iv.y), scenario.zone_at(iv.to_x, iv.to_y)
            if iv.zone_id is None:  # a corridor, or a walk that does not stay inside one zone
                assert at_start is None or at_start is not at_end
            else:
                assert at_start is not None and at_start.id == iv.zone_id
                assert at_end is not None and at_end.id == iv.zone_id


def test_everyone_checks_in_with_a_tap_at_an_entrance_right_after_arriving(
    scenario: Scenario, itineraries: tuple[Itinerary, ...]
) -> None:
    entrance_readers = {d.id for d in scenario.devices if d.nfc and d.zone_id.startswith("entrance")}
    for it in itineraries:
        first = it.taps[0]
        assert first.reason == "check_in" and first.device_id in entrance_readers
        assert it.arrived_at < first.at < it.arrived_at + 300
        where = it.at(first.at)
        assert where is not None and where.zone_id is not None and where.zone_id.startswith("entrance")
        assert [t.reason for t in it.taps].count("check_in") == 1


def test_booth_taps_happen_at_the_booth_reader_while_standing_at_it(
    scenario: Scenario, itineraries: tuple[Itinerary, ...]
) -> None:
    readers = {d.id: d for d in scenario.devices}
    booth_taps = [t for it in itineraries for t in it.taps if t.reason == "booth"]
    assert len(booth_taps) >= 20  # exhibitors scan a good share of interested visitors
    by_id = {it.attendee_id: it for it in itineraries}
    for tap in booth_taps:
        device = readers[tap.device_id]
        where = by_id[tap.attendee_id].at(tap.at)
        assert where is not None and where.zone_id == device.zone_id
        assert abs(where.x - device.x) <= 0.5 and abs(where.y - device.y) <= 0.5


def test_the_day_looks_like_a_conference(scenario: Scenario, itineraries: tuple[Itinerary, ...]) -> None:
    hours: Counter[str] = Counter()
    for it in itineraries:
        for iv in it.intervals:
            kind = scenario.zone(iv.zone_id).kind if iv.zone_id else "corridor"
            hours[kind] += (iv.end - iv.start) / 3600
    total = sum(hours.values())
    assert hours["room"] / total > 0.3  # talks are the main thing
    assert hours["booth"] / total > 0.1  # the expo is busy
    assert hours["lounge"] > 0 and hours["entrance"] > 0
    assert hours["corridor"] / total < 0.2  # walking is a small part of the day
    arrivals = sorted(it.arrived_at - scenario.event.starts_at for it in itineraries)
    assert arrivals[len(arrivals) // 2] < 3600  # most arrive in the first hour...
    assert arrivals[-1] > 1800  # ...but not all of them


def test_itinerary_at_finds_the_covering_interval() -> None:
    ivs = (Interval("a", "z1", 10, 20, 0, 0, 0, 0), Interval("a", None, 20, 30, 0, 0, 10, 0))
    it = Itinerary("a", ivs, ())
    assert it.at(9.9) is None and it.at(30) is None
    assert it.at(10) is ivs[0] and it.at(19.99) is ivs[0] and it.at(20) is ivs[1]
    assert ivs[1].position_at(25) == (5.0, 0.0)  # halfway along the walk
