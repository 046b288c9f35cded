"""The independent radio models: their statistics are what they claim, and runs repeat exactly."""

from __future__ import annotations

import itertools
import math
import statistics

import pytest

from edge.protocol import ibeacon_id
from server.simulator.radio import BadgeState
from server.simulator.radios import NO_FAULTS, FaultSpec, make_radio, parse_loss, plan_faults
from server.simulator.radios.crowd import BODY_LOSS_DB, CrowdRadio
from server.simulator.radios.engine import EngineRadio
from server.simulator.radios.lognormal import (
    BADGE_HEIGHT_M,
    EXPONENT_RANGE,
    GAIN_ERROR_DB,
    WALL_LOSS_DB,
    LogNormalRadio,
    crossings,
)
from server.simulator.scenario import BEACON_TX_POWER_DBM, Rect, Scenario
from server.simulator.stream import generate_messages
from server.simulator.venues import build_venue

T0 = 1_781_083_800.0
POLE = "dev-aisle-3"  # on a 3 m pole at (33, 10), open aisle all round: no walls within 10 m


def badge(n: int) -> str:
    return ibeacon_id("00000000-0000-4000-8000-000000000000", 1, n)


@pytest.fixture(scope="module")
def hall() -> Scenario:
    return build_venue("hall", seed=7, attendees=30)


def _lognormal(hall: Scenario, faults: FaultSpec = NO_FAULTS) -> LogNormalRadio:
    radio = make_radio("lognormal", hall, seed=7, span=(T0, T0 + 3600), faults=faults)
    assert isinstance(radio, LogNormalRadio)
    return radio


def test_each_scanner_draws_its_own_exponent_and_gain_within_the_documented_ranges(hall: Scenario) -> None:
    radio = _lognormal(hall)
    assert len(radio.scanners) == 28
    assert all(EXPONENT_RANGE[0] <= s.exponent <= EXPONENT_RANGE[1] for s in radio.scanners)
    assert all(abs(s.gain_db) <= GAIN_ERROR_DB for s in radio.scanners)
    assert statistics.pstdev(s.exponent for s in radio.scanners) > 0.15  # each its own, not one hall-wide value
    assert statistics.pstdev(s.gain_db for s in radio.scanners) > 2.0


def test_exponent_and_gain_are_recoverable_from_the_models_own_reports(hall: Scenario) -> None:
    """Least squares on mean reported RSSI vs 10 log10(d) near one scanner gives back its n and gain."""
    radio = _lognormal(hall)
    truth = radio.by_id(POLE)
    xs, ys = [], []
    for k, distance in enumerate((1.5, 3.0, 5.0, 8.0)):
        b = [BadgeState(badge(k), truth.device.x + distance, truth.device.y, None, 0.25)]
        heard = [
            s.rssi for w in range(300) for s in radio.window(T0 + 2 * w, T0 + 2 * w + 2, b).get(POLE, [])
        ]  # ten minutes per spot
        d3 = math.hypot(distance, truth.height_m - BADGE_HEIGHT_M)
        xs.append(10 * math.log10(d3))
        ys.append(statistics.fmean(heard))
    slope, intercept = statistics.linear_regression(xs, ys)
    assert abs(-slope - truth.exponent) < 0.35, (slope, truth.exponent)
    assert abs(intercept - (BEACON_TX_POWER_DBM + truth.gain_db)) < 2.5, (intercept, truth.gain_db)


def test_a_room_wall_costs_ten_db_by_geometry(hall: Scenario) -> None:
    radio = _lognormal(hall)
    i = next(k for k, s in enumerate(radio.scanners) if s.device.id == "dev-room-a-1")  # inside room A
    inside, outside = radio.mean_rssi(i, 7.0, 8.0), radio.mean_rssi(i, 7.0, 16.0)
    s = radio.scanners[i]
    spread = 10 * s.exponent * math.log10(math.dist((7.0, 16.0), (s.device.x, s.device.y)) / 1.0)
    assert radio.walls(i, 7.0, 8.0) == 0 and radio.walls(i, 7.0, 16.0) == 1
    assert outside < inside - WALL_LOSS_DB + 1 and spread > 0
    room = Rect(0, 0, 10, 10)
    assert (crossings(-5, 5, 15, 5, room), crossings(5, 5, 15, 5, room), crossings(-5, -5, 15, -5, room)) == (2, 1, 0)


def test_packet_loss_share_is_the_scanners_own(hall: Scenario) -> None:
    radio = _lognormal(hall, FaultSpec(loss_min=0.3, loss_max=0.3, skew_ms=0, outages=0))
    d = radio.by_id(POLE).device
    badges = [BadgeState(badge(i), d.x + 1.0, d.y + 0.5, None, i / 100) for i in range(100)]
    received = sum(s.count for w in range(5) for s in radio.window(T0 + 2 * w, T0 + 2 * w + 2, badges)[POLE])
    assert abs(received / 1000 - 0.7) < 0.05  # 1,000 adverts sent, 30 % lost, none below sensitivity at 1 m


def test_faults_draw_loss_skew_and_one_ten_minute_outage_within_bounds(hall: Scenario) -> None:
    faults = plan_faults(hall, FaultSpec(seed=3), T0, T0 + 7200)
    assert all(0.2 <= v <= 0.4 for v in faults.loss.values()) and len(faults.loss) == 28
    assert all(abs(v) <= 0.3 for v in faults.skew_s.values()) and max(map(abs, faults.skew_s.values())) > 0.1
    [(device, [(start, end)])] = [(k, list(v)) for k, v in faults.down.items()]
    assert end - start == 600 and start >= T0 and end <= T0 + 7200
    assert faults.is_down(device, start + 10, start + 12) and not faults.is_down(device, end, end + 2)
    assert plan_faults(hall, FaultSpec(seed=3), T0, T0 + 7200) == faults  # seeded: the same every run


def test_a_skewed_scanner_stamps_its_own_clock_and_a_dark_one_says_nothing(hall: Scenario) -> None:
    spec = FaultSpec(skew_ms=300, outages=1, outage_s=30, seed=1)
    start = hall.event.starts_at + 1800
    messages = list(
        generate_messages(hall, seed=1, start_offset_s=1800, duration_s=120, radio="lognormal", faults=spec)
    )
    faults = plan_faults(hall, spec, start, start + 120)
    [(down, [(a, b)])] = [(k, list(v)) for k, v in faults.down.items()]
    batches = [m for _, m in messages if m.type == "sightings"]
    mine = [m for m in batches if m.device_id == down]
    assert mine and not [m for m in mine if m.window_end > a and m.window_start < b]
    for m in batches:
        skew = faults.skew_s[m.device_id]
        assert abs((m.window_start - skew) / 2 - round((m.window_start - skew) / 2)) < 1e-3  # aligned, then skewed
        assert all(m.window_start <= s.first_seen <= s.last_seen <= m.window_end for s in m.sightings)


def test_crowd_body_blocks_scanners_behind_the_wearer_and_faces_one_way_for_minutes(hall: Scenario) -> None:
    radio = make_radio("crowd", hall, seed=7, span=(T0, T0 + 3600), faults=NO_FAULTS)
    assert isinstance(radio, CrowdRadio)
    assert radio.body_loss_db(0.0, 10, 10, 5, 10) == BODY_LOSS_DB  # facing east, scanner due west
    assert radio.body_loss_db(0.0, 10, 10, 15, 10) == 0.0 and radio.body_loss_db(0.0, 10, 10, 10, 15) == 0.0
    facings = [radio.facing(badge(1), T0 + 10 * k) for k in range(360)]  # an hour
    changes = sum(a != b for a, b in itertools.pairwise(facings))
    assert 8 <= changes <= 32  # spells of 2-6 minutes


def test_crowd_people_on_the_line_of_sight_cost_signal(hall: Scenario) -> None:
    radio = make_radio("crowd", hall, seed=7, span=(T0, T0 + 3600), faults=NO_FAULTS)
    assert isinstance(radio, CrowdRadio)
    i = next(k for k, s in enumerate(radio.scanners) if s.device.id == POLE)
    me = BadgeState(badge(0), 45.0, 10.0, None, 0.1)
    crowd = [BadgeState(badge(n), 39.0 + (n % 4), 9.0 + (n % 3), None, 0.1) for n in range(1, 40)]
    radio._prepare(T0, T0 + 2, [me])
    alone = radio._extra_losses(me)
    radio._prepare(T0, T0 + 2, [me, *crowd])
    crowded = radio._extra_losses(me)
    assert alone is not None and crowded is not None
    assert crowded[0][i] - alone[0][i] >= 8.0  # ~40 people between the badge and the pole


def test_runs_repeat_exactly_and_calibration_leaves_a_residual(hall: Scenario) -> None:
    b = [BadgeState(badge(i), 10.0 + i, 14.0, None, i / 10) for i in range(10)]
    for name in ("lognormal", "crowd"):
        one, two = (make_radio(name, hall, seed=5, span=(T0, T0 + 600)) for _ in range(2))
        assert [one.window(T0 + 2 * w, T0 + 2 * w + 2, b) for w in range(5)] == [
            two.window(T0 + 2 * w, T0 + 2 * w + 2, b) for w in range(5)
        ]
    radio = _lognormal(hall)
    residuals = [radio.calibrated_offset_db(s.device.id) + s.gain_db for s in radio.scanners]
    assert all(abs(r) < 5.0 for r in residuals) and 0.5 < statistics.pstdev(residuals) < 3.0


def test_the_engine_model_without_faults_is_the_original_radio(hall: Scenario) -> None:
    radio = make_radio("engine", hall, seed=7, span=(T0, T0 + 600))
    assert isinstance(radio, EngineRadio) and radio.clock_skew_s("dev-entrance") == 0.0
    assert radio.calibrated_offset_db("dev-entrance") == -hall.devices[0].rssi_bias_db


def test_bad_options_are_refused_clearly(hall: Scenario) -> None:
    assert parse_loss("0.2-0.4") == (0.2, 0.4) and parse_loss("0.1") == (0.1, 0.1)
    with pytest.raises(ValueError, match="LOW-HIGH"):
        parse_loss("lots")
    with pytest.raises(ValueError, match="LOW <= HIGH"):
        parse_loss("0.5-0.2")
    with pytest.raises(ValueError, match="unknown radio model 'fm'"):
        make_radio("fm", hall, seed=1, span=(T0, T0 + 1))
