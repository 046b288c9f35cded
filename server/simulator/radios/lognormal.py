"""The ``lognormal`` radio model: a hall that is not the engine's model, and that the engine is never told.

Each scanner draws, once per run, its own path-loss exponent, receiver gain error and noise level; its
mounting height comes from the venue (a booth counter, a back wall, a pole). An advert from a badge at
3-D distance ``d`` arrives at

    rssi = TX_POWER_1M + gain - 10 * n * log10(d) - WALL_LOSS_DB * walls + shadow + N(0, noise)

where ``walls`` are the walls of session rooms the straight line crosses (geometry, not zone labels),
``shadow`` is log-normal shadowing (6 dB) correlated over ~2 s per badge-scanner pair (an AR(1) / Ornstein-
Uhlenbeck process: people and doors move, the badge turns), and adverts are lost at the scanner's own rate
(:class:`~server.simulator.radios.base.Faults`) or below the radio's sensitivity. The engine gets none of
this: only positions, zones, and what a 1 m calibration per the docs gives (true gain error plus a
residual, :meth:`LogNormalRadio.calibrated_offset_db`).

:class:`server.simulator.radios.crowd.CrowdRadio` adds people on top through :meth:`LogNormalRadio._prepare`
and :meth:`LogNormalRadio._extra_losses`.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edge.protocol import Sighting
from server.simulator.radio import ADVERT_INTERVAL_S, ADVERT_JITTER_S, BadgeState
from server.simulator.radios.base import SENSITIVITY_DBM, EdgeReport, Faults, advert_phase_times
from server.simulator.scenario import BEACON_TX_POWER_DBM, DeviceSpec, Rect, Scenario

EXPONENT_RANGE = (2.2, 3.0)  # open hall (2.2) to a corner full of stands and people (3.0), per scanner
GAIN_ERROR_DB = 6.0  # receiver gain differs by up to +-6 dB: dongles, enclosures, antennas, a metal shelf
NOISE_RANGE_DB = (1.5, 4.0)  # per-advert jitter differs by radio and by how busy the channel is near it
SHADOW_SIGMA_DB = 6.0  # log-normal shadowing indoors is 4-8 dB; 6 dB is the middle of published surveys
SHADOW_TAU_S = 2.0  # ... and decorrelates within about two seconds as people and the badge move
WALL_LOSS_DB = 10.0  # a session room's partition wall plus its door frame (the engine assumes 8)
BADGE_HEIGHT_M = 1.2  # badges hang on the chest
CALIBRATION_RESIDUAL_DB = 1.5  # a 1 m calibration per the docs still leaves ~1.5 dB (holding, body, median)
# A pair whose mean is this far below the sensitivity is heard in under 0.03 % of adverts (3.5 sigmas of
# shadowing and the noisiest radio together): skip it. Fading can add up to ~5 dB on top of that.
HEAR_MARGIN_DB = 3.5 * math.hypot(SHADOW_SIGMA_DB, NOISE_RANGE_DB[1])
FADING_HEADROOM_DB = 5.0
WALL_CELL_M = 1.0  # walls between a scanner and a badge are cached per 1 m cell of the badge


@dataclass(frozen=True, slots=True)
class ScannerRadio:
    """One scanner's true radio, as drawn for this run (the engine never sees it)."""

    device: DeviceSpec
    exponent: float
    gain_db: float  # added to every RSSI it measures
    noise_db: float
    height_m: float


def crossings(x0: float, y0: float, x1: float, y1: float, rect: Rect) -> int:
    """How many walls of ``rect`` the segment crosses: 0, 1 (one end inside) or 2 (passes through)."""
    a_in, b_in = rect.contains(x0, y0), rect.contains(x1, y1)
    if a_in != b_in:
        return 1
    if a_in:
        return 0
    # Liang-Barsky: clip the segment to the rectangle; a non-empty piece means it passes through.
    dx, dy = x1 - x0, y1 - y0
    lo, hi = 0.0, 1.0
    for p, q in (
        (-dx, x0 - rect.x),
        (dx, rect.x + rect.width - x0),
        (-dy, y0 - rect.y),
        (dy, rect.y + rect.height - y0),
    ):
        if p == 0:
            if q < 0:
                return 0
            continue
        r = q / p
        if p < 0:
            lo = max(lo, r)
        else:
            hi = min(hi, r)
        if lo > hi:
            return 0
    return 2


class LogNormalRadio:
    """Log-distance per scanner, walls by geometry, correlated shadowing; see the module docstring."""

    name = "lognormal"

    def __init__(self, scenario: Scenario, seed: int, faults: Faults) -> None:
        self.scenario = scenario
        self.faults = faults
        params = random.Random(f"{self.name}:params:{seed}:{scenario.seed}:{scenario.venue}")
        self.scanners = [
            ScannerRadio(
                d,
                params.uniform(*EXPONENT_RANGE),
                params.uniform(-GAIN_ERROR_DB, GAIN_ERROR_DB),
                params.uniform(*NOISE_RANGE_DB),
                d.height_m,
            )
            for d in sorted((d for d in scenario.devices if d.ble), key=lambda d: d.id)
        ]
        residual = random.Random(f"{self.name}:calibration:{seed}:{scenario.seed}:{scenario.venue}")
        self._calibrated = {
            s.device.id: -s.gain_db + residual.gauss(0.0, CALIBRATION_RESIDUAL_DB) for s in self.scanners
        }
        self.rng = random.Random(f"{self.name}:adverts:{seed}:{scenario.seed}:{scenario.venue}")
        self.report = EdgeReport(faults)
        self._rooms = [z.rect for z in scenario.zones if z.walled]
        self._walls: dict[tuple[int, int, int], int] = {}
        self._shadow: dict[tuple[int, str], tuple[float, float]] = {}  # (scanner, beacon) -> (value, at)

    def by_id(self, device_id: str) -> ScannerRadio:
        return next(s for s in self.scanners if s.device.id == device_id)

    def walls(self, index: int, x: float, y: float) -> int:
        """Room walls between scanner ``index`` and a badge at (x, y), cached per 1 m cell of the badge."""
        cx, cy = int(x // WALL_CELL_M), int(y // WALL_CELL_M)
        key = (index, cx, cy)
        known = self._walls.get(key)
        if known is None:
            d = self.scanners[index].device
            px, py = (cx + 0.5) * WALL_CELL_M, (cy + 0.5) * WALL_CELL_M
            known = sum(crossings(d.x, d.y, px, py, room) for room in self._rooms)
            self._walls[key] = known
        return known

    def mean_rssi(self, index: int, x: float, y: float) -> float:
        """The mean RSSI scanner ``index`` measures from a badge at (x, y), before shadowing and noise."""
        s = self.scanners[index]
        d = math.sqrt((x - s.device.x) ** 2 + (y - s.device.y) ** 2 + (s.height_m - BADGE_HEIGHT_M) ** 2)
        d = max(d, 0.1)
        return (
            BEACON_TX_POWER_DBM + s.gain_db - 10 * s.exponent * math.log10(d) - WALL_LOSS_DB * self.walls(index, x, y)
        )

    # Hooks for the crowd model: per-window preparation, then per badge the extra loss toward each scanner.
    def _prepare(self, w0: float, w1: float, badges: Sequence[BadgeState]) -> None:
        return None

    def _extra_losses(self, badge: BadgeState) -> tuple[list[float], list[float]] | None:
        """Per scanner: extra dB lost this window, and the Rician K of fast fading (None: no people, no fading)."""
        return None

    def window(self, w0: float, w1: float, badges: Sequence[BadgeState]) -> dict[str, list[Sighting]]:
        heard_by: dict[str, list[Sighting]] = {}
        faults, rng, shadow_of = self.faults, self.rng, self._shadow
        random_ = rng.random
        normal = NORMAL_TABLE
        n_table = len(normal)
        log10, sqrt, exp = math.log10, math.sqrt, math.exp
        live = [
            (i, s, faults.loss.get(s.device.id, 0.0), s.device.x, s.device.y, (s.height_m - BADGE_HEIGHT_M) ** 2)
            for i, s in enumerate(self.scanners)
            if not faults.is_down(s.device.id, w0, w1)
        ]
        self._prepare(w0, w1, badges)
        for badge in sorted(badges, key=lambda b: b.beacon_id):
            times = advert_phase_times(badge.phase, w0, w1, ADVERT_INTERVAL_S)
            if not times:
                continue
            extras = self._extra_losses(badge)
            bx, by = badge.x, badge.y
            for i, s, loss, sx, sy, dh2 in live:
                d = max(0.1, sqrt((bx - sx) ** 2 + (by - sy) ** 2 + dh2))
                mean = BEACON_TX_POWER_DBM + s.gain_db - 10 * s.exponent * log10(d)
                mean -= WALL_LOSS_DB * self.walls(i, bx, by)
                fading: tuple[float, ...] | None = None
                if extras is not None:
                    mean -= extras[0][i]
                    fading = RICIAN_TABLES[extras[1][i]]
                if mean + HEAR_MARGIN_DB + (FADING_HEADROOM_DB if fading else 0.0) < SENSITIVITY_DBM:
                    continue
                key = (i, badge.beacon_id)
                noise = s.noise_db
                heard: list[tuple[float, float]] = []
                for t in times:
                    if random_() < loss:
                        continue
                    value, at = shadow_of.get(key, (SHADOW_SIGMA_DB * normal[int(random_() * n_table)], t))
                    rho = exp(-max(0.0, t - at) / SHADOW_TAU_S)
                    value = rho * value + sqrt(1.0 - rho * rho) * SHADOW_SIGMA_DB * normal[int(random_() * n_table)]
                    shadow_of[key] = (value, t)
                    rssi = mean + value + noise * normal[int(random_() * n_table)]
                    if fading is not None:
                        rssi += fading[int(random_() * len(fading))]
                    if rssi < SENSITIVITY_DBM:
                        continue
                    heard.append((min(w1 - 0.001, t + random_() * ADVERT_JITTER_S), rssi))
                if heard:
                    sighting = self.report.sighting(s.device, badge.beacon_id, heard, w1)
                    if sighting is not None:
                        heard_by.setdefault(s.device.id, []).append(sighting)
        self.report.forget(w1)
        if len(shadow_of) > 4 * len(self.scanners) * max(1, len(badges)) + 1000:
            self._shadow = {k: v for k, v in shadow_of.items() if w1 - v[1] <= 10 * SHADOW_TAU_S}
        return heard_by

    def clock_skew_s(self, device_id: str) -> float:
        return self.faults.skew_s.get(device_id, 0.0)

    def calibrated_offset_db(self, device_id: str) -> float:
        return self._calibrated[device_id]


def rician_db(rng: random.Random, k_factor: float) -> float:
    """Fast fading of one advert in dB: Rician with factor ``k_factor`` (0 = Rayleigh), mean power 1."""
    los = math.sqrt(k_factor / (k_factor + 1.0))
    scatter = math.sqrt(1.0 / (2.0 * (k_factor + 1.0)))
    i, q = los + scatter * rng.gauss(0.0, 1.0), scatter * rng.gauss(0.0, 1.0)
    return 10.0 * math.log10(max(i * i + q * q, 1e-6))


def _quantiles(draw: Callable[[random.Random], float]) -> tuple[float, ...]:
    """A sorted table of ``TABLE_SIZE`` draws: picking an entry at random is a draw from the same law, ~5x
    cheaper than computing one (the simulator draws tens of millions per run)."""
    rng = random.Random(f"table:{TABLE_SIZE}")
    return tuple(sorted(draw(rng) for _ in range(TABLE_SIZE)))


TABLE_SIZE = 8192  # enough that the tables' own sampling error (~1 %) is far below what the bench can see
NORMAL_TABLE = _quantiles(lambda r: r.gauss(0.0, 1.0))
RICIAN_TABLES = {k: _quantiles(functools.partial(rician_db, k_factor=k)) for k in (0.0, 4.0)}
