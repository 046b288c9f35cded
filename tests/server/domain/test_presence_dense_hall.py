"""Presence in a dense hall: 6 x 6 m booths on a 12 m pitch, a scanner in the middle of each.

A badge there is in earshot of ~40 scanners. Its cost is a sum over every scanner (each reading's misfit, each
silence, the chance of hearing a far scanner at all), so even where the badge truly stands it grows with the
scanners around it and with the hall (every scanner beyond ``map_range_m`` adds its far silence): ~250 dB^2
in a 9 x 9 hall, ~1,500 in a 21 x 21 one. The engine compares places with each other (a forward filter over
places), and its one absolute gate, against readings no spot explains, is on the cost beyond what a badge truly
there scores on average (``RadioMap.expected_costs``), so a booth is entered the same in any hall.

Readings are what each scanner reports on average of a badge at a spot (``expected_reading``), from every
scanner more likely to hear it than not within a reading's age. Every scanner is up: each also hears a host
standing at it, as at a real show.
"""

from __future__ import annotations

import math

import pytest

from server.domain.model import Scanner, Sighting, Visit, VisitStarted, Zone, ZoneKind
from server.domain.presence import PresenceEngine, PresenceParams, expected_reading

WINDOW_S = 2.0
P = PresenceParams()


def hall(side: int) -> tuple[list[Zone], list[Scanner]]:
    """``side`` x ``side`` booths 12 m apart, ``booth-<n>`` row by row, its scanner ``scan-<n>`` in the middle."""
    zones = [Zone(f"booth-{n}", ZoneKind.BOOTH, (n % side) * 12.0, (n // side) * 12.0, 6, 6) for n in range(side**2)]
    return zones, [Scanner(f"scan-{n}", z.id, z.x + 3, z.y + 3) for n, z in enumerate(zones)]


def likely_readings(scanners: list[Scanner], x: float, y: float) -> dict[str, float]:
    """Scanner id -> distance the edge reports, for every scanner that more likely hears (x, y) than not."""
    out = {}
    for s in scanners:
        assert s.x is not None and s.y is not None
        loss = 10 * P.path_loss_exponent * math.log10(math.hypot(x - s.x, y - s.y, P.height_diff_m))
        heard, heard_cost, silent_cost = expected_reading(loss, 0.0, P)
        if heard_cost < silent_cost:
            out[s.id] = 10 ** (heard / (10 * P.path_loss_exponent))
    return out


def stand(e: PresenceEngine, scanners: list[Scanner], readings: dict[str, float], windows: int) -> list[str | None]:
    """``windows`` scan windows of the same readings of att-1 (and each scanner's host); att-1's zone after each."""
    zones: list[str | None] = []
    for w in range(windows):
        t = w * WINDOW_S
        e.observe([Sighting("att-1", k, -59 - 25 * math.log10(d), t, t + 1.5, 2, d) for k, d in readings.items()])
        e.observe([Sighting(f"host-{s.id}", s.id, -59.0, t, t + 1.5, 2, 1.0) for s in scanners])
        e.advance(t + WINDOW_S)
        zones.append(e.zone_of("att-1"))
    return zones


@pytest.mark.parametrize(("side", "booth"), [(3, "booth-4"), (9, "booth-40"), (21, "booth-220")])
def test_a_badge_standing_in_a_booth_enters_it_after_the_confirmation_time_whatever_the_halls_size(
    side: int, booth: str
) -> None:
    zones, scanners = hall(side)
    spot = next((z.x + 2, z.y + 4) for z in zones if z.id == booth)  # 1.4 m from the booth's scanner
    readings = likely_readings(scanners, *spot)
    assert len(readings) == {3: 9, 9: 37, 21: 37}[side]
    e = PresenceEngine(zones, scanners)
    zones_after = stand(e, scanners, readings, 30)
    assert zones_after[:6] == [None] * 6  # a challenger wins every decision for confirm_s (12 s) first
    assert zones_after[6:] == [booth] * 24  # then the booth, from the 7th window on
    # announced after min_visit_s, back-dated (the hosts, 1 m from their own scanner, are in its booth)
    assert [v for v in e.open_visits() if v.attendee_id == "att-1"] == [Visit("att-1", booth, 0)]


def test_the_visit_is_announced_once_back_dated_to_the_first_window() -> None:
    zones, scanners = hall(9)
    e = PresenceEngine(zones, scanners)
    events = []
    readings = likely_readings(scanners, 50.0, 52.0)  # in booth-40 (48-54 x 48-54)
    for w in range(30):
        t = w * WINDOW_S
        e.observe([Sighting("att-1", k, -59 - 25 * math.log10(d), t, t + 1.5, 2, d) for k, d in readings.items()])
        e.observe([Sighting(f"host-{s.id}", s.id, -59.0, t, t + 1.5, 2, 1.0) for s in scanners])
        events += [v for v in e.advance(t + WINDOW_S) if v.visit.attendee_id == "att-1"]
    assert events == [VisitStarted(Visit("att-1", "booth-40", 0))]


def test_readings_that_fit_no_spot_enter_no_booth_in_a_dense_hall_either() -> None:
    # Two scanners 24 m apart both read the badge at 2 m, the rest of the hall hears nothing: no spot explains it.
    zones, scanners = hall(9)
    e = PresenceEngine(zones, scanners)
    assert stand(e, scanners, {"scan-40": 2.0, "scan-42": 2.0}, 30) == [None] * 30


def test_a_badge_in_the_aisle_between_booths_stays_in_no_zone() -> None:
    zones, scanners = hall(9)
    e = PresenceEngine(zones, scanners)
    aisle = likely_readings(scanners, 57.0, 51.0)  # between booth-40 (x 48-54) and booth-41 (x 60-66)
    assert stand(e, scanners, aisle, 30) == [None] * 30
