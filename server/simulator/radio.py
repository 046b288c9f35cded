"""What each scanner hears: a log-distance path-loss model with the imperfections real BLE has.

Per scan window every badge in the venue advertises about once a second. For each scanner within
``MAX_RANGE_M`` each advertisement is dropped with ``DROP_RATE`` (collisions, channel hopping, scanner duty
cycle); a received one has

    rssi = TX_POWER_1M - 10 * n * log10(d) + device bias - WALL_LOSS_DB * walls + N(0, NOISE_SIGMA_DB)

and is lost below ``SENSITIVITY_DBM``. Radios report whole dBm. The scanner then does exactly what the edge
agent does (it reuses :mod:`edge.smoothing`): a running median per beacon over its last samples, and per
window one :class:`Sighting` per beacon with the count, first/last time, the smoothed RSSI at the last
sample and the distance the edge estimates from it. The scanner cannot know its own bias or the walls, so
its distance estimate carries both errors, as real ones do.

Cheapness: a grid of ``GRID_CELL_M`` cells lists, once, the scanners that can possibly hear a badge in each
cell, so a window costs (badges x scanners nearby), not (badges x all scanners).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass

from edge.protocol import BeaconFormat, Sighting
from edge.smoothing import RSSI_MAX_AGE_S, RssiSmoother, estimate_distance_m
from server.simulator.scenario import BEACON_TX_POWER_DBM, DeviceSpec, Scenario

ADVERT_INTERVAL_S = 1.0  # badge beacons advertise at 1 Hz: a year on a coin cell
PATH_LOSS_EXPONENT = 2.5  # open exhibition hall with people in it (free space is 2.0, offices 3+)
NOISE_SIGMA_DB = 4.0  # per-advertisement RSSI jitter from multipath and body shadowing
DROP_RATE = 0.10  # share of advertisements a scanner misses even in range
SENSITIVITY_DBM = -95.0  # weakest advertisement a typical USB/onboard BLE radio still decodes
WALL_LOSS_DB = 8.0  # one drywall partition plus the door frame between a room and the hall
HEIGHT_DIFF_M = 1.2  # scanner on a 2.4 m stand, badge on the chest at 1.2 m: distance is never below this
# Beyond 55 m the mean RSSI is under -102.5 dBm, ~1.9 sigma below the sensitivity: under 4 % of samples
# would be heard, so ignoring those pairs changes little and keeps the cost proportional to the crowd nearby.
MAX_RANGE_M = 55.0
GRID_CELL_M = 10.0
FORGET_EVERY_S = 30.0  # how often stale smoothers are dropped (sim seconds)
ADVERT_JITTER_S = 0.01  # BLE adds 0-10 ms of random delay to every advertising event


@dataclass(frozen=True, slots=True)
class BadgeState:
    """Where one badge is during a window: its beacon id, position, zone (None = corridor) and phase."""

    beacon_id: str
    x: float
    y: float
    zone_id: str | None
    phase: float  # offset of its advertising clock within one interval, 0 <= phase < ADVERT_INTERVAL_S


def expected_rssi(distance_m: float, walls: int = 0, bias_db: float = 0.0) -> float:
    """The mean RSSI at a horizontal distance, before noise (what "on average" means in tests)."""
    d = math.hypot(distance_m, HEIGHT_DIFF_M)
    return BEACON_TX_POWER_DBM - 10 * PATH_LOSS_EXPONENT * math.log10(d) + bias_db - WALL_LOSS_DB * walls


def estimate_distance(rssi: float, tx_power: int = BEACON_TX_POWER_DBM) -> float:
    """The edge's estimate, rounded as the edge reports it (the edge inverts the same log-distance model)."""
    return round(estimate_distance_m(rssi, tx_power), 2)


def advert_times(phase: float, w0: float, w1: float) -> list[float]:
    """Times in [w0, w1) at which a badge with this clock phase advertises."""
    k = math.ceil((w0 - phase) / ADVERT_INTERVAL_S)
    out = []
    t = phase + k * ADVERT_INTERVAL_S
    while t < w1:
        out.append(t)
        t += ADVERT_INTERVAL_S
    return out


class RadioModel:
    """Turns badge positions into per-scanner sightings for one window. Randomness comes from ``rng``."""

    def __init__(self, scenario: Scenario, rng: random.Random):
        self.scenario = scenario
        self.rng = rng
        self.scanners = [d for d in scenario.devices if d.ble]
        # Per (scanner, beacon): the edge's running median and when the beacon was last heard.
        self._smoothers: dict[tuple[str, str], tuple[RssiSmoother, float]] = {}
        self._next_forget = -math.inf
        self._cols = math.ceil(scenario.width / GRID_CELL_M)
        self._rows = math.ceil(scenario.height / GRID_CELL_M)
        reach = MAX_RANGE_M + GRID_CELL_M * math.sqrt(2)  # any point of the cell may be the badge
        self._grid: list[list[DeviceSpec]] = []
        for row in range(self._rows):
            for col in range(self._cols):
                cx, cy = (col + 0.5) * GRID_CELL_M, (row + 0.5) * GRID_CELL_M
                self._grid.append([d for d in self.scanners if math.dist((cx, cy), (d.x, d.y)) <= reach])

    def candidates(self, x: float, y: float) -> list[DeviceSpec]:
        col = min(self._cols - 1, max(0, int(x // GRID_CELL_M)))
        row = min(self._rows - 1, max(0, int(y // GRID_CELL_M)))
        return self._grid[row * self._cols + col]

    def _walls(self, device: DeviceSpec, badge_zone: str | None) -> int:
        if badge_zone == device.zone_id:
            return 0
        zones = self.scenario.zones_by_id
        walls = 1 if device.zone_id is not None and zones[device.zone_id].walled else 0
        if badge_zone is not None and zones[badge_zone].walled:
            walls += 1
        return walls

    def _smoother(self, key: tuple[str, str], at: float) -> RssiSmoother:
        """The edge keeps a beacon's median across windows, until unheard for ``RSSI_MAX_AGE_S``."""
        known = self._smoothers.get(key)
        if known is not None and at - known[1] <= RSSI_MAX_AGE_S:
            return known[0]
        return RssiSmoother()

    def window(self, w0: float, w1: float, badges: Iterable[BadgeState]) -> dict[str, list[Sighting]]:
        """Sightings per scanner id for [w0, w1), by beacon id; scanners that heard nothing are omitted."""
        heard: dict[str, list[Sighting]] = {}
        rng = self.rng
        for badge in sorted(badges, key=lambda b: b.beacon_id):
            times = advert_times(badge.phase, w0, w1)
            if not times:
                continue
            for device in self.candidates(badge.x, badge.y):
                dist = math.hypot(badge.x - device.x, badge.y - device.y)
                if dist > MAX_RANGE_M:
                    continue
                mean = expected_rssi(dist, self._walls(device, badge.zone_id), device.rssi_bias_db)
                key = (device.id, badge.beacon_id)
                smoother: RssiSmoother | None = None
                count, first, last, smoothed = 0, 0.0, 0.0, 0.0
                for t in times:
                    if rng.random() < DROP_RATE:
                        continue
                    rssi = round(mean + rng.gauss(0.0, NOISE_SIGMA_DB))  # radios report whole dBm
                    if rssi < SENSITIVITY_DBM:
                        continue
                    at = min(w1 - 0.001, t + rng.uniform(0, ADVERT_JITTER_S))  # stays in its window
                    if smoother is None:
                        smoother = self._smoother(key, at)
                    smoothed = smoother.add(max(-127, min(20, rssi)), at)
                    first, last = (at, at) if count == 0 else (first, at)
                    count += 1
                if smoother is None:
                    continue
                self._smoothers[key] = (smoother, last)
                heard.setdefault(device.id, []).append(
                    Sighting(
                        beacon_id=badge.beacon_id,
                        format=BeaconFormat.IBEACON,
                        rssi=round(smoothed, 1),
                        distance_m=estimate_distance(smoothed),
                        count=count,
                        first_seen=round(first, 3),
                        last_seen=round(last, 3),
                        tx_power=BEACON_TX_POWER_DBM,
                    )
                )
        if w1 >= self._next_forget:  # bounded memory, as on the edge: forget beacons gone for a while
            self._smoothers = {k: v for k, v in self._smoothers.items() if w1 - v[1] <= RSSI_MAX_AGE_S}
            self._next_forget = w1 + FORGET_EVERY_S
        return heard
