"""The forward filter over places, calibration in the engine, and accuracy on small scenes of each radio model.

Hand-made sequences first (a body in the way for minutes, a scanner that goes dark, a survey-fitted gain),
then two short scenes from ``presence_scenes`` scored as the bench scores, with thresholds well under the
benchmark's so they hold for any seed.
"""

from __future__ import annotations

import math
import random

from presence_scenes import MODELS, hall, itinerary, score, spans, survey, windows
from test_presence_dense_hall import hall as booth_grid
from test_presence_dense_hall import likely_readings

from server.domain.calibration import fit_calibration
from server.domain.model import Scanner, Sighting, VisitEvent, Zone, ZoneKind
from server.domain.nearest import NearestScannerTracker
from server.domain.presence import PresenceEngine, PresenceParams
from server.domain.survey import Calibration, ScannerCalibration
from server.domain.zone_filter import CORRIDOR, most_likely, predict, update, with_loudest

WINDOW_S = 2.0


def run(e: PresenceEngine, scanners: list[Scanner], readings: dict[str, float], start: float, end: float,
        dark: frozenset[str] = frozenset()) -> tuple[list[str | None], list[VisitEvent]]:  # fmt: skip
    """Windows of att-1's readings (scanner -> distance) and each scanner's host; att-1's zone after each."""
    zones: list[str | None] = []
    events: list[VisitEvent] = []
    t = start
    while t < end:
        e.observe([Sighting("att-1", k, -59 - 25 * math.log10(d), t, t + 1.5, 2, d)
                   for k, d in readings.items() if k not in dark])  # fmt: skip
        e.observe([Sighting(f"host-{s.id}", s.id, -59.0, t, t + 1.5, 2, 1.0) for s in scanners if s.id not in dark])
        events += [v for v in e.advance(t + WINDOW_S) if v.visit.attendee_id == "att-1"]
        zones.append(e.zone_of("att-1"))
        t += WINDOW_S
    return zones, events


def test_a_scanner_reading_10_db_low_for_three_minutes_does_not_end_a_booth_visit() -> None:
    zones, scanners = booth_grid(3)
    readings = likely_readings(scanners, 14.0, 16.0)  # in booth-4 (12-18 x 12-18), 1.4 m from its scanner
    e = PresenceEngine(zones, scanners)
    before, _ = run(e, scanners, readings, 0, 60)
    assert before[-1] == "booth-4"
    blocked = dict(readings, **{"scan-4": readings["scan-4"] * 10 ** (10 / 25)})  # a body: 10 dB weaker
    during, events = run(e, scanners, blocked, 60, 240)
    assert set(during) == {"booth-4"} and events == []


def test_a_badge_that_arrives_behind_a_body_is_placed_in_the_booth_whose_scanner_hears_it_loudest() -> None:
    """Its booth's scanner reads 10 dB low from the start (no visit to defend): the map's best spot is then
    in the aisle, further from every scanner, but the booth's scanner is still the loudest. That relative
    signal is evidence of the booth (loudest_zone_db); without it the badge is left in the aisle."""
    zones, scanners = booth_grid(3)
    readings = likely_readings(scanners, 14.0, 16.0)  # in booth-4 (12-18 x 12-18), 1.4 m from its scanner
    blocked = dict(readings, **{"scan-4": readings["scan-4"] * 10 ** (10 / 25)})  # a body: 10 dB weaker
    assert min(blocked, key=blocked.__getitem__) == "scan-4"
    with_term, _ = run(PresenceEngine(zones, scanners), scanners, blocked, 0, 120)
    assert with_term[-1] == "booth-4"
    without = PresenceParams(loudest_zone_db=0.0, loudest_aisle_db=0.0)
    without_term, _ = run(PresenceEngine(zones, scanners, without), scanners, blocked, 0, 120)
    assert without_term[-1] is None


def test_the_loudest_scanners_zone_weighs_against_the_aisle_and_the_other_zones_by_fixed_amounts() -> None:
    costs = {"booth-4": 60.0, CORRIDOR: 20.0, "booth-5": 90.0}
    assert with_loudest(costs, "booth-4", 64.0, 196.0) == {"booth-4": -136.0, CORRIDOR: 20.0, "booth-5": -42.0}
    # a zone the map ruled out joins at the worst cost; no weight changes nothing
    assert with_loudest({CORRIDOR: 20.0, "booth-5": 90.0}, "booth-4", 64.0, 196.0)["booth-4"] == 90.0 - 196.0
    assert with_loudest(costs, "booth-4", 0.0, 0.0) == costs


def test_a_scanner_going_dark_does_not_move_the_badge() -> None:
    zones, scanners = booth_grid(3)
    readings = likely_readings(scanners, 14.0, 16.0)
    e = PresenceEngine(zones, scanners)
    run(e, scanners, readings, 0, 60)
    during, events = run(e, scanners, readings, 60, 240, dark=frozenset({"scan-4"}))  # booth-4's own scanner
    assert set(during) == {"booth-4"} and events == []


def test_the_filter_keeps_the_incumbent_within_the_dead_zone_and_yields_to_clear_evidence() -> None:
    belief = {"booth-a": 1.0}
    for _ in range(60):  # two minutes of readings that fit booth b a little better (within the dead zone)
        predict(belief, 2.0, {"booth-a": 0.0, "booth-b": 0.0}, 180.0, 20.0)
        update(belief, {"booth-a": 10.0, "booth-b": 0.0}, "booth-a", 16.0, 9.0, 49.0)
    assert most_likely(belief)[0] == "booth-a"
    steps = 0
    while most_likely(belief)[0] == "booth-a":  # then readings that fit booth b clearly better
        predict(belief, 2.0, {"booth-a": 0.0, "booth-b": 0.0}, 180.0, 20.0)
        update(belief, {"booth-a": 60.0, "booth-b": 0.0}, "booth-a", 16.0, 9.0, 49.0)
        steps += 1
    assert 1 <= steps <= 4  # a few windows, not one: a single odd window moves nothing


def test_a_place_the_readings_rule_out_loses_its_belief() -> None:
    belief = {"booth-a": 0.5, CORRIDOR: 0.5}
    update(belief, {CORRIDOR: 0.0, "booth-c": 5.0}, CORRIDOR, 16.0, 9.0, 49.0)  # booth-a is not a candidate now
    assert belief["booth-a"] < 0.1 and most_likely(belief)[0] == CORRIDOR
    assert math.isclose(sum(belief.values()), 1.0)


def test_a_survey_fitted_gain_and_exponent_replace_the_defaults_in_the_map() -> None:
    # Zone A's scanner reads 15 dB strong and falls off with exponent 3: uncalibrated it pulls B's badges in.
    a, b = Zone("zone-a", ZoneKind.LOUNGE, 0, 0, 10, 10), Zone("zone-b", ZoneKind.LOUNGE, 10, 0, 10, 10)
    scanners = [Scanner("scan-a", "zone-a", 5, 5), Scanner("scan-b", "zone-b", 15, 5)]

    def reading(k: str, d: float) -> float:
        return -44 - 30 * math.log10(d) if k == "scan-a" else -59 - 25 * math.log10(d)

    at = {"scan-a": math.hypot(7.0, 1.2), "scan-b": math.hypot(3.0, 1.2)}  # badge in B, 2 m past the boundary
    fitted = Calibration(0.0, {"scan-a": ScannerCalibration("scan-a", -44.0, 3.0, 40.0, 2.0, 100),
                               "scan-b": ScannerCalibration("scan-b", -59.0, 2.5, 40.0, 2.0, 100)})  # fmt: skip
    plain, calibrated = PresenceEngine([a, b], scanners), PresenceEngine([a, b], scanners)
    calibrated.update_calibration(fitted)
    for e in (plain, calibrated):
        for t in range(0, 60, 2):
            e.observe([Sighting("att-1", k, reading(k, d), t, t + 1.5, 2) for k, d in at.items()])
            e.advance(t + 2)
    assert plain.zone_of("att-1") == "zone-a"
    assert calibrated.zone_of("att-1") == "zone-b"


def scene(model: str, badges: int, minutes: float, seed: int) -> dict[str, tuple[float, float, float]]:
    zones, scanners = hall()
    rng = random.Random(seed)
    plans = {f"b{i}": itinerary(zones, rng, 0.0, minutes * 60) for i in range(badges)}
    stream = windows(MODELS[model], zones, scanners, plans, 0.0, minutes * 60, seed)
    legs, reference = survey(zones, scanners, MODELS[model], seed)
    cal = fit_calibration(zones, scanners, legs, reference, fitted_at=0.0)
    trackers = {"baseline": NearestScannerTracker(scanners), "engine": PresenceEngine(zones, scanners),
                "calibrated": PresenceEngine(zones, scanners, calibration=cal)}  # fmt: skip
    out = {}
    for name, tracker in trackers.items():
        events: list[VisitEvent] = []
        for at, batch in stream:
            events += tracker.observe(batch)
            events += tracker.advance(at)
        out[name] = score(plans, spans(events, tracker.open_visits(), minutes * 60), 0.0, minutes * 60, 45.0)
    return out


def test_on_the_engines_own_radio_model_it_beats_the_nearest_scanner_with_or_without_a_survey() -> None:
    got = scene("docs", badges=6, minutes=15, seed=2)
    for name in ("engine", "calibrated"):
        dwell, precision, recall = got[name]
        assert dwell >= 0.85 and dwell > got["baseline"][0], (name, got)
        assert precision >= 0.7 and recall >= 0.7, (name, got)


def test_on_an_independent_hall_a_survey_walk_makes_the_engine_precise() -> None:
    # The 'hall' model is harsher than the bench's (6 dB shadowing per scanner, a body on one of the three
    # nearest scanners at all times): the nearest scanner places more dwell right here (see docs/presence.md,
    # "What remains wrong"), but announces many false visits; the calibrated engine's visits are mostly right.
    got = scene("hall", badges=6, minutes=15, seed=2)
    assert got["calibrated"][0] >= 0.4, got
    assert got["calibrated"][1] >= 0.7 and got["calibrated"][1] > got["baseline"][1] + 0.2, got
