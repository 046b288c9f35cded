"""RSSI smoothing, distance and scan windows, with time driven explicitly."""

from __future__ import annotations

import pytest
from edge_support import T0

from edge.beacons import BeaconFrame, TelemetryFrame, parse_eddystone, parse_ibeacon
from edge.protocol import BeaconFormat, Sighting
from edge.smoothing import RssiSmoother, estimate_distance_m
from edge.windows import ClosedWindow, WindowAggregator

UUID = "b9407f30-f5f8-466e-aff9-25556b57fe6d"
BADGE_7 = parse_ibeacon(bytes.fromhex("0215" + UUID.replace("-", "") + "00010007c5"))
BADGE_8 = parse_ibeacon(bytes.fromhex("0215" + "11" * 16 + "00010008b0"))
EDDY = parse_eddystone(bytes.fromhex("00e78b0ca750e7a74e14bd99000000000001"))
TLM_3000MV = TelemetryFrame(battery_mv=3000, temperature_c=23.5, adv_count=1, uptime_s=1.0)
assert isinstance(BADGE_7, BeaconFrame) and isinstance(BADGE_8, BeaconFrame) and isinstance(EDDY, BeaconFrame)


def test_median_ignores_a_single_deep_fade() -> None:
    smoother = RssiSmoother()
    assert [smoother.add(rssi, T0 + i) for i, rssi in enumerate([-60, -61, -95, -62, -60])] == [
        -60.0, -60.5, -61.0, -61.5, -61.0,
    ]  # fmt: skip


def test_median_keeps_only_the_last_five_samples() -> None:
    smoother = RssiSmoother()
    for i, rssi in enumerate([-90, -90, -90, -60, -60, -60, -60, -60]):
        smoothed = smoother.add(rssi, T0 + i * 0.1)
    assert smoothed == -60.0


def test_samples_older_than_ten_seconds_are_forgotten() -> None:
    smoother = RssiSmoother()
    smoother.add(-90, T0)
    smoother.add(-90, T0 + 1)
    assert smoother.add(-60, T0 + 10.5) == -75.0  # T0 is out, T0 + 1 is still in
    assert smoother.add(-60, T0 + 11.5) == -60.0


@pytest.mark.parametrize(
    ("rssi", "rssi_1m", "metres"),
    [
        (-59, -59, 1.0),
        (-84, -59, 10.0),
        (-71.5, -59, 10**0.5),
        (-66, -66, 1.0),
        (-59, None, 1.0),
        (-200, -59, 1000.0),
    ],
)
def test_distance_follows_the_log_distance_model(rssi: float, rssi_1m: int | None, metres: float) -> None:
    assert estimate_distance_m(rssi, rssi_1m) == pytest.approx(metres)


def test_one_window_summarises_each_beacon() -> None:
    windows = WindowAggregator(window_s=2.0)
    assert windows.observe([BADGE_7], -70, "C3:00:00:00:00:07", T0 + 0.2) == []
    assert windows.observe([BADGE_7], -60, "C3:00:00:00:00:07", T0 + 0.7) == []
    assert windows.observe([BADGE_7], -62, "C3:00:00:00:00:07", T0 + 1.9) == []
    closed = windows.observe([BADGE_8], -80, "C3:00:00:00:00:08", T0 + 2.0)
    assert closed == [
        ClosedWindow(
            window_start=T0,
            window_end=T0 + 2.0,
            sightings=[
                Sighting(
                    beacon_id=f"ibeacon:{UUID}:1:7",
                    format=BeaconFormat.IBEACON,
                    rssi=-62.0,  # median of -70, -60, -62
                    distance_m=1.32,  # 10 ** (3 / 25)
                    count=3,
                    first_seen=T0 + 0.2,
                    last_seen=T0 + 1.9,
                    tx_power=-59,
                )
            ],
        )
    ]


def test_windows_are_aligned_to_the_clock_and_sorted_by_beacon() -> None:
    windows = WindowAggregator(window_s=2.0)
    windows.observe([BADGE_8], -80, "a", T0 + 3.1)
    windows.observe([BADGE_7], -70, "b", T0 + 3.2)
    [closed] = windows.tick(T0 + 4.0)
    assert (closed.window_start, closed.window_end) == (T0 + 2.0, T0 + 4.0)
    assert [s.beacon_id for s in closed.sightings] == [
        "ibeacon:11111111-1111-1111-1111-111111111111:1:8",
        f"ibeacon:{UUID}:1:7",
    ]


def test_tick_before_the_end_closes_nothing_and_silence_yields_no_window() -> None:
    windows = WindowAggregator(window_s=2.0)
    windows.observe([BADGE_7], -70, "a", T0 + 0.5)
    assert windows.tick(T0 + 1.99) == []
    assert len(windows.tick(T0 + 2.0)) == 1
    assert windows.tick(T0 + 60) == []
    assert windows.flush() is None


def test_smoothing_carries_across_windows() -> None:
    windows = WindowAggregator(window_s=1.0)
    windows.observe([BADGE_7], -60, "a", T0 + 0.1)
    windows.observe([BADGE_7], -60, "a", T0 + 0.2)
    windows.observe([BADGE_7], -90, "a", T0 + 1.1)  # a fade right after the window boundary
    [closed] = windows.tick(T0 + 2.0)
    assert closed.sightings[0].rssi == -60.0


def test_battery_comes_from_the_tlm_of_the_same_address() -> None:
    windows = WindowAggregator(window_s=2.0)
    windows.observe([EDDY], -70, "C3:00:00:00:00:01", T0 + 0.1)
    windows.observe([TLM_3000MV], -70, "C3:00:00:00:00:01", T0 + 0.5)
    windows.observe([BADGE_7], -70, "C3:00:00:00:00:02", T0 + 0.6)
    [closed] = windows.tick(T0 + 2.0)
    battery = {s.beacon_id: s.battery_mv for s in closed.sightings}
    assert battery == {"eddystone:8b0ca750e7a74e14bd99:000000000001": 3000, f"ibeacon:{UUID}:1:7": None}
    assert {s.beacon_id: s.count for s in closed.sightings}["eddystone:8b0ca750e7a74e14bd99:000000000001"] == 1


def test_allow_list_keeps_only_listed_beacons() -> None:
    windows = WindowAggregator(window_s=2.0, allowed=frozenset({UUID}))
    windows.observe([BADGE_7], -70, "a", T0)
    windows.observe([BADGE_8], -70, "b", T0)
    windows.observe([EDDY], -70, "c", T0)
    [closed] = windows.tick(T0 + 2.0)
    assert [s.beacon_id for s in closed.sightings] == [f"ibeacon:{UUID}:1:7"]


def test_reconfigure_changes_the_filter_now_and_the_window_length_from_the_next_window() -> None:
    windows = WindowAggregator(window_s=2.0)
    windows.observe([BADGE_7], -70, "a", T0 + 0.5)
    windows.reconfigure(5.0, [UUID])
    windows.observe([BADGE_8], -70, "b", T0 + 1.0)  # filtered out at once
    [first] = windows.observe([BADGE_7], -70, "a", T0 + 2.5)
    assert (first.window_start, first.window_end, len(first.sightings)) == (T0, T0 + 2.0, 1)
    assert windows.tick(T0 + 4.9) == []
    [second] = windows.tick(T0 + 5.0)
    assert (second.window_start, second.window_end) == (T0 + 2.0, T0 + 5.0)
