"""The radio model: log-distance path loss with bias, walls, noise, drops and the edge's smoothing."""

from __future__ import annotations

import random
import statistics

from edge.protocol import ibeacon_id
from edge.smoothing import estimate_distance_m
from server.simulator.radio import (
    DROP_RATE,
    MAX_RANGE_M,
    NOISE_SIGMA_DB,
    SENSITIVITY_DBM,
    WALL_LOSS_DB,
    BadgeState,
    RadioModel,
    advert_times,
    expected_rssi,
)
from server.simulator.scenario import BEACON_TX_POWER_DBM, Scenario

T0 = 1_781_083_800.0


def badge(n: int) -> str:
    """A canonical beacon id for test badge ``n``."""
    return ibeacon_id("00000000-0000-4000-8000-000000000000", 1, n)


def _lounge_scanner(scenario: Scenario) -> tuple[RadioModel, str, float, float]:
    radio = RadioModel(scenario, random.Random(1))
    device = scenario.devices_by_zone["lounge"][0]
    return radio, device.id, device.x, device.y


def test_mean_rssi_falls_with_distance_and_walls() -> None:
    values = [expected_rssi(d) for d in (1, 2, 5, 10, 20, 40)]
    assert values == sorted(values, reverse=True)
    assert expected_rssi(0) == expected_rssi(0.0) > BEACON_TX_POWER_DBM - 3  # the scanner is above the badge
    assert expected_rssi(10, walls=1) == expected_rssi(10) - WALL_LOSS_DB
    assert expected_rssi(10, bias_db=3) == expected_rssi(10) + 3


def test_badges_advertise_once_a_second_at_their_own_phase() -> None:
    assert advert_times(0.25, T0, T0 + 2) == [T0 + 0.25, T0 + 1.25]
    assert advert_times(0.0, T0, T0 + 2) == [T0, T0 + 1]  # a window includes its start, excludes its end


def test_heard_rssi_decreases_with_distance_on_average(scenario: Scenario) -> None:
    radio, device_id, x, y = _lounge_scanner(scenario)
    means = []
    for distance in (1.0, 4.0, 8.0, 14.0):
        badges = [BadgeState(badge(i), x - distance, y, "lounge", 0.1) for i in range(1)]
        rssi = []
        for w in range(300):  # ten minutes of windows; the smoother carries across them as on the edge
            heard = radio.window(T0 + 2 * w, T0 + 2 * w + 2, badges)
            rssi += [s.rssi for s in heard.get(device_id, [])]
        means.append(statistics.fmean(rssi))
    assert means == sorted(means, reverse=True), means
    assert means[0] - means[-1] > 15  # ~25 dB apart by the model, minus the noise


def test_sightings_look_like_the_edge_reports_them(scenario: Scenario) -> None:
    radio, device_id, x, y = _lounge_scanner(scenario)
    badges = [BadgeState(badge(i), x + i * 0.5, y + 1, "lounge", i / 20) for i in range(20)]
    heard = radio.window(T0, T0 + 2, badges)[device_id]
    assert [s.beacon_id for s in heard] == sorted(s.beacon_id for s in heard)
    for s in heard:
        assert 1 <= s.count <= 2 and T0 <= s.first_seen <= s.last_seen < T0 + 2
        assert s.format == "ibeacon" and s.tx_power == BEACON_TX_POWER_DBM
        assert s.distance_m == round(estimate_distance_m(s.rssi, BEACON_TX_POWER_DBM), 2)


def test_about_one_advert_in_ten_is_dropped(scenario: Scenario) -> None:
    radio, device_id, x, y = _lounge_scanner(scenario)
    badges = [BadgeState(badge(i), x + 1, y, "lounge", 0.5) for i in range(200)]
    received = sum(s.count for s in radio.window(T0, T0 + 2, badges)[device_id])
    assert abs(received / 400 - (1 - DROP_RATE)) < 0.05


def test_far_badges_are_not_heard(scenario: Scenario) -> None:
    radio, device_id, x, y = _lounge_scanner(scenario)
    far = [BadgeState(badge(9001), x - MAX_RANGE_M - 1, y, None, 0.0)]
    assert device_id not in radio.window(T0, T0 + 2, far)
    # Almost nothing is lost by the cut-off: at the limit a sample beats the sensitivity with p < 4 %.
    assert expected_rssi(MAX_RANGE_M) < SENSITIVITY_DBM - 1.75 * NOISE_SIGMA_DB


def test_walls_make_a_room_scanner_hear_its_own_room_louder(scenario: Scenario) -> None:
    radio = RadioModel(scenario, random.Random(2))
    device = scenario.devices_by_zone["room-a"][0]
    inside = BadgeState(badge(9002), device.x, device.y + 8, "room-a", 0.3)  # 8 m away, same room
    outside = BadgeState(badge(9003), device.x, device.y + 14, None, 0.6)  # 14 m, behind the wall
    heard: dict[str, list[float]] = {badge(9002): [], badge(9003): []}
    for w in range(200):
        for s in radio.window(T0 + 2 * w, T0 + 2 * w + 2, [inside, outside]).get(device.id, []):
            heard[s.beacon_id].append(s.rssi)
    assert statistics.fmean(heard[badge(9002)]) - statistics.fmean(heard[badge(9003)]) > 8
