"""Presence specifications: plain zones, scanners and sightings with explicit time, exact outcomes.

Two zones side by side, A (x 0-10) and B (x 10-20), each with a scanner in its middle, and two booths with a
4 m aisle between them. Sightings carry the distance the edge estimated; a 2 s scan window each, as on the edge.
"""

from __future__ import annotations

import math
import time

from server.domain.model import Scanner, Sighting, Tap, Visit, VisitEnded, VisitEvent, VisitStarted, Zone, ZoneKind
from server.domain.nearest import NearestScannerTracker
from server.domain.presence import PresenceEngine, PresenceParams, expected_reading

WINDOW_S = 2.0
A = Zone("zone-a", ZoneKind.LOUNGE, 0, 0, 10, 10)
B = Zone("zone-b", ZoneKind.LOUNGE, 10, 0, 10, 10)
SCANNER_A = Scanner("scan-a", "zone-a", 5, 5)
SCANNER_B = Scanner("scan-b", "zone-b", 15, 5)
BOOTH_1 = Zone("booth-1", ZoneKind.BOOTH, 0, 0, 9, 7)
BOOTH_2 = Zone("booth-2", ZoneKind.BOOTH, 13, 0, 9, 7)
READER_1 = Scanner("reader-1", "booth-1", 4.5, 6)
READER_2 = Scanner("reader-2", "booth-2", 17.5, 6)


def engine(*scanners: Scanner, zones: tuple[Zone, ...] = (A, B)) -> PresenceEngine:
    return PresenceEngine(zones, scanners or (SCANNER_A, SCANNER_B))


def window(attendee: str, t: float, **distances: float) -> list[Sighting]:
    """One window [t, t + 2) of readings: scanner id -> estimated distance (rssi consistent with it)."""
    return [
        Sighting(attendee, scanner.replace("_", "-"), -59 - 25 * math.log10(d), t, t + 1.5, 2, d)
        for scanner, d in distances.items()
    ]


def stay(e: PresenceEngine, attendee: str, start: float, end: float, **distances: float) -> list[VisitEvent]:
    """Windows from ``start`` to ``end`` with the same readings, advancing after each."""
    events: list[VisitEvent] = []
    t = start
    while t < end:
        events += e.observe(window(attendee, t, **distances))
        events += e.advance(t + WINDOW_S)
        t += WINDOW_S
    return events


def test_a_stay_becomes_a_visit_back_dated_to_the_first_evidence() -> None:
    e = engine()
    events = stay(e, "att-1", 0, 60, scan_a=1.5, scan_b=10.5)
    assert events == [VisitStarted(Visit("att-1", "zone-a", 0))]
    assert e.zone_of("att-1") == "zone-a"
    assert e.open_visits() == [Visit("att-1", "zone-a", 0)]


def test_a_walk_by_under_the_minimum_dwell_is_no_visit() -> None:
    e = engine()
    events = stay(e, "att-1", 0, 30, scan_a=1.5, scan_b=10.5)
    events += e.advance(100)
    assert events == []
    assert e.zone_of("att-1") is None
    assert e.open_visits() == []


def test_unseen_badge_is_checked_out_at_its_last_evidence_without_new_messages() -> None:
    e = engine()
    stay(e, "att-1", 0, 60, scan_a=1.5, scan_b=10.5)  # last window [58, 60): last seen 59.5
    assert e.advance(70) == []  # 10.5 s of silence: adverts get lost, not yet gone
    assert e.advance(80) == [VisitEnded(Visit("att-1", "zone-a", 0, 59.5))]
    assert e.zone_of("att-1") is None
    assert e.occupancy() == {}


def test_a_slightly_stronger_neighbour_does_not_steal_the_badge() -> None:
    e = engine()
    stay(e, "att-1", 0, 60, scan_a=1.5, scan_b=10.5)
    events = stay(e, "att-1", 60, 180, scan_a=5.5, scan_b=5.0)  # near the boundary, B a little louder
    assert events == []
    assert e.zone_of("att-1") == "zone-a"


def test_a_clearly_stronger_neighbour_takes_over_after_the_confirmation_time() -> None:
    e = engine()
    stay(e, "att-1", 0, 60, scan_a=1.5, scan_b=10.5)
    events = stay(e, "att-1", 60, 70, scan_a=10.5, scan_b=1.5)
    assert events == [] and e.zone_of("att-1") == "zone-a"  # 10 s: not yet confirmed
    events = stay(e, "att-1", 70, 74, scan_a=10.5, scan_b=1.5)
    assert events == [VisitEnded(Visit("att-1", "zone-a", 0, 59.5))]  # ends at A's last evidence
    assert e.zone_of("att-1") == "zone-b"
    events = stay(e, "att-1", 74, 110, scan_a=10.5, scan_b=1.5)
    assert events == [VisitStarted(Visit("att-1", "zone-b", 60))]  # B from its first evidence


def test_overlapping_scanners_in_one_zone_keep_one_visit() -> None:
    hall = Zone("hall", ZoneKind.ROOM, 0, 0, 30, 20)
    e = PresenceEngine([hall], [Scanner("hall-1", "hall", 7.5, 10), Scanner("hall-2", "hall", 22.5, 10)])
    events = stay(e, "att-1", 0, 40, hall_1=3.0, hall_2=12.0)
    events += stay(e, "att-1", 40, 80, hall_1=12.0, hall_2=3.0)  # walked across the hall
    assert events == [VisitStarted(Visit("att-1", "hall", 0))]
    assert e.zone_of("att-1") == "hall"


def test_the_scanner_calibration_offset_is_applied() -> None:
    # scan-b's radio reads 10 dB too strong: a badge in the middle of A (10 m from B) looks 4 m from B.
    too_close = 10 * 10 ** (-10 / 25)
    uncalibrated = engine(SCANNER_A, SCANNER_B)
    stay(uncalibrated, "att-1", 0, 60, scan_a=5.0, scan_b=too_close)
    calibrated = engine(SCANNER_A, Scanner("scan-b", "zone-b", 15, 5, rssi_offset_db=-10.0))
    stay(calibrated, "att-1", 0, 60, scan_a=5.0, scan_b=too_close)
    assert uncalibrated.zone_of("att-1") != "zone-a"
    assert calibrated.zone_of("att-1") == "zone-a"


def test_a_tap_overrides_ble_at_once() -> None:
    e = engine()
    stay(e, "att-1", 0, 60, scan_a=1.5, scan_b=10.5)
    events = e.tap(Tap("att-1", "scan-b", 61.0))
    assert events == [VisitEnded(Visit("att-1", "zone-a", 0, 59.5)), VisitStarted(Visit("att-1", "zone-b", 61.0))]
    assert e.zone_of("att-1") == "zone-b"
    assert stay(e, "att-1", 60, 70, scan_a=1.5, scan_b=10.5) == []  # BLE cannot contradict the tap at once
    assert e.zone_of("att-1") == "zone-b"


def test_the_same_tap_twice_is_one_visit() -> None:
    e = engine()
    first = e.tap(Tap("att-1", "scan-a", 10.0))
    assert first == [VisitStarted(Visit("att-1", "zone-a", 10.0))]
    assert e.tap(Tap("att-1", "scan-a", 10.0)) == []


def test_between_two_booths_is_the_aisle_not_a_booth() -> None:
    e = PresenceEngine([BOOTH_1, BOOTH_2], [READER_1, READER_2])
    events = stay(e, "att-1", 0, 120, reader_1=7.2, reader_2=7.2)  # equidistant: the 4 m aisle at x = 11
    assert events == []
    assert e.zone_of("att-1") is None
    inside = stay(e, "att-2", 0, 120, reader_1=2.0, reader_2=13.5)
    assert inside == [VisitStarted(Visit("att-2", "booth-1", 0))]


def test_a_reader_across_the_aisle_tells_the_aisle_from_the_stand() -> None:
    # Booth 3 faces booth 1 across a 4 m aisle (y 7-11); its reader sits on its front counter at y = 12.
    booth_3 = Zone("booth-3", ZoneKind.BOOTH, 0, 11, 9, 7)
    reader_3 = Scanner("reader-3", "booth-3", 4.5, 12)
    e = PresenceEngine([BOOTH_1, booth_3], [READER_1, reader_3])
    in_aisle = stay(e, "att-1", 0, 120, reader_1=3.0, reader_3=3.0)  # 3 m in front of both counters
    in_stand = stay(e, "att-2", 0, 120, reader_1=3.0, reader_3=9.0)  # 3 m behind booth 1's counter
    assert in_aisle == [] and e.zone_of("att-1") is None
    assert in_stand == [VisitStarted(Visit("att-2", "booth-1", 0))]


def test_far_readings_are_expected_as_they_are_heard_and_silence_is_evidence() -> None:
    p = PresenceParams()
    # 36 dB from an uncalibrated scanner is right at its sensitivity (-59 - 36 = -95 dBm): half the adverts
    # are heard, and those read ~3.2 dB too strong; hearing it is likely (cost 0.41), silence is not (23.91).
    assert [round(v, 2) for v in expected_reading(36.0, 0.0, p)] == [32.81, 0.41, 23.91]
    # 10 dB (2.5 m): read as it is; silence that close costs the most a silence may cost (max_silence_db**2).
    assert [round(v, 2) for v in expected_reading(10.0, 0.0, p)] == [10.0, 0.0, 64.0]
    # 44 dB: rarely heard (18.56 when it is) and then ~9.5 dB too strong; silence there is expected (0.83).
    assert [round(v, 2) for v in expected_reading(44.0, 0.0, p)] == [34.51, 18.56, 0.83]
    # A scanner calibrated +6 dB (its radio reads 6 dB weak) reaches 6 dB less far.
    assert round(expected_reading(36.0, 6.0, p)[0], 2) < 32.81


def test_a_scanner_that_hears_no_badge_at_all_is_down_not_evidence() -> None:
    e = engine()
    stay(e, "att-9", 0, 40, scan_a=2.0, scan_b=2.0)  # both scanners alive
    e.advance(40)
    assert e._down == []
    stay(e, "att-1", 40, 80, scan_a=1.5)  # scan-b hears nobody any more
    assert e._down == ["scan-b"]
    assert e.zone_of("att-1") == "zone-a"


def test_an_idle_tick_on_a_clock_ahead_of_the_data_does_not_leave_every_scanner_down() -> None:
    # Before the first signal the live clock can only say "now" on the wall clock; a replay or a simulator
    # then brings data from earlier. Found by `touchpoints bench ingest`: every scanner stayed "down" and
    # each decision paid for a hundred silent scanners.
    e = engine()
    e.advance(1_000_000.0)  # idle tick, wall time, nothing heard: both scanners are down
    assert sorted(e._down) == ["scan-a", "scan-b"]
    stay(e, "att-1", 0, 40, scan_a=2.0, scan_b=9.0)
    assert e._down == []
    assert e.zone_of("att-1") == "zone-a"


def test_occupancy_counts_badges_per_zone() -> None:
    e = engine()
    for attendee, distances in (("att-1", (1.5, 10.5)), ("att-2", (2.0, 9.0)), ("att-3", (10.5, 1.5))):
        stay(e, attendee, 0, 60, scan_a=distances[0], scan_b=distances[1])
    assert e.occupancy() == {"zone-a": 2, "zone-b": 1}


def test_forget_closes_the_visit_and_drops_all_state() -> None:
    e = engine()
    stay(e, "att-1", 0, 60, scan_a=1.5, scan_b=10.5)
    assert e.forget("att-1", now=61.0) == [VisitEnded(Visit("att-1", "zone-a", 0, 59.5))]
    assert e.zone_of("att-1") is None
    assert e.open_visits() == [] and e.occupancy() == {}
    assert e.advance(200) == []  # nothing left to time out
    assert e.forget("att-1", now=62.0) == []


def test_default_params_are_documented_values() -> None:
    p = PresenceParams()
    assert p.min_visit_s == 45.0 and p.confirm_s == 12.0 and p.away_after_s == 20.0
    assert p.sensitivity_dbm == -95.0 and p.advert_noise_db == 4.0 and p.height_diff_m == 1.2


def test_engine_beats_the_nearest_scanner_baseline_on_a_short_simulated_span() -> None:
    from server.bench.presence import domain_stream, dwell_accuracy, true_visits, venue, visit_spans
    from server.simulator.movement import plan_itineraries
    from server.simulator.scenario import build_scenario

    t0 = time.monotonic()
    scenario = build_scenario(seed=3, attendees=40)
    itineraries = plan_itineraries(scenario)
    zones, scanners = venue(scenario)
    ours, baseline = PresenceEngine(zones, scanners), NearestScannerTracker(scanners)
    got: dict[str, list[VisitEvent]] = {"ours": [], "baseline": []}
    begin = end = scenario.event.starts_at + 5400  # 10:00, talks and booths
    for at, batches, taps in domain_stream(scenario, itineraries, seed=3, start_offset_s=5400, duration_s=1200):
        for name, tracker in (("ours", ours), ("baseline", baseline)):
            for tap in taps:
                got[name] += tracker.tap(tap)
            for batch in batches:
                got[name] += tracker.observe(batch)
            got[name] += tracker.advance(at)
        end = at
    tracked = [it for it, a in zip(itineraries, scenario.attendees, strict=True) if a.role != "staff"]
    assert true_visits(tracked, begin, end)
    accuracy = dwell_accuracy(tracked, visit_spans(got["ours"], ours.open_visits(), end), begin, end)
    base = dwell_accuracy(tracked, visit_spans(got["baseline"], baseline.open_visits(), end), begin, end)
    assert accuracy > base
    assert accuracy > 0.85
    assert time.monotonic() - t0 < 10
