"""What every radio model shares: the interface, the hall's faults, and the edge's way of reporting.

A radio model answers one question per scan window: which scanner heard which badge, and what did the edge
report (:meth:`Radio.window`). It also says what a 1 m calibration per docs/presence.md would have given
for each scanner (:meth:`Radio.calibrated_offset_db`), because that, and nothing else about the radio, is
what a real venue hands the presence engine.

The faults of a real hall are drawn once per run from a seed (:func:`plan_faults`) and are the same for
every model: each scanner misses its own share of adverts, runs its clock a little off, and some scanners
go dark for a while (a BlueZ stall, a pulled plug). :class:`EdgeReport` turns heard adverts into what the
edge agent sends: it reuses :mod:`edge.smoothing` unchanged (a running median per beacon, kept across
windows), stamps times with the scanner's own clock, and says nothing while the scanner is down.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from edge.protocol import BeaconFormat, Sighting
from edge.smoothing import RSSI_MAX_AGE_S, RssiSmoother
from server.simulator.radio import BadgeState, estimate_distance
from server.simulator.scenario import BEACON_TX_POWER_DBM, DeviceSpec, Scenario

SENSITIVITY_DBM = -95.0  # weakest advert a typical USB/onboard BLE radio still decodes
FORGET_EVERY_S = 30.0  # how often stale smoothers are dropped (sim seconds), as the edge does
RSSI_FLOOR, RSSI_CEILING = -127, 20  # what the contract lets an RSSI be


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """The hall's imperfections for one run; every draw comes from ``seed``, so runs repeat exactly.

    The independent models default to what the issue's hall had: 20-40 % of adverts lost per scanner
    (busy 2.4 GHz band, Wi-Fi on the same channels, scanner duty cycle), clocks within +-300 ms (NTP on a
    venue network that is busy at opening), and one scanner dark for 10 minutes.
    """

    loss_min: float = 0.20
    loss_max: float = 0.40
    skew_ms: float = 300.0
    outages: int = 1
    outage_s: float = 600.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss_min <= self.loss_max < 1.0:
            raise ValueError(f"packet loss must satisfy 0 <= min <= max < 1, got {self.loss_min}..{self.loss_max}")
        if self.skew_ms < 0 or self.outages < 0 or self.outage_s < 0:
            raise ValueError("skew_ms, outages and outage_s cannot be negative")


NO_FAULTS = FaultSpec(loss_min=0.0, loss_max=0.0, skew_ms=0.0, outages=0, outage_s=0.0)


@dataclass(frozen=True, slots=True)
class Faults:
    """Per scanner: share of adverts lost, clock skew (s, added to its timestamps), dark intervals."""

    loss: dict[str, float] = field(default_factory=dict)
    skew_s: dict[str, float] = field(default_factory=dict)
    down: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)

    def is_down(self, device_id: str, w0: float, w1: float) -> bool:
        """True when the scanner is dark for any part of [w0, w1): a stalled scanner reports no window."""
        return any(a < w1 and w0 < b for a, b in self.down.get(device_id, ()))


def plan_faults(scenario: Scenario, spec: FaultSpec, begin: float, end: float) -> Faults:
    """Draw each BLE scanner's loss and skew, and which scanners go dark when within [begin, end).

    Outages start at least a tenth of the span in (the hall has been running a while) and, when the span
    allows, end before it does, so that the whole dark spell is inside the measured run.
    """
    rng = random.Random(f"faults:{spec.seed}:{scenario.seed}:{scenario.venue}")
    scanners = sorted(d.id for d in scenario.devices if d.ble)
    loss = {d: rng.uniform(spec.loss_min, spec.loss_max) for d in scanners}
    skew = {d: rng.uniform(-spec.skew_ms, spec.skew_ms) / 1000.0 for d in scanners} if spec.skew_ms else {}
    down: dict[str, tuple[tuple[float, float], ...]] = {}
    if spec.outages and spec.outage_s > 0 and scanners:
        for device_id in rng.sample(scanners, min(spec.outages, len(scanners))):
            latest = max(begin, end - spec.outage_s - 0.1 * (end - begin))
            start = rng.uniform(min(latest, begin + 0.1 * (end - begin)), latest)
            down[device_id] = ((start, start + spec.outage_s),)
    return Faults(loss, skew, down)


class Radio(Protocol):
    """One radio model for one run (see the module docstring)."""

    name: str

    def window(self, w0: float, w1: float, badges: Sequence[BadgeState]) -> dict[str, list[Sighting]]:
        """Sightings per scanner id for [w0, w1), in beacon id order; silent scanners are omitted."""
        ...

    def clock_skew_s(self, device_id: str) -> float:
        """How far this scanner's clock is ahead of true time (its window bounds carry it too)."""
        ...

    def calibrated_offset_db(self, device_id: str) -> float:
        """The ``rssi_offset_db`` a 1 m calibration per docs/presence.md would give this scanner."""
        ...


def advert_phase_times(phase: float, w0: float, w1: float, interval: float = 1.0) -> list[float]:
    """Times in [w0, w1) at which a badge with this clock phase advertises (every ``interval`` s)."""
    k = math.ceil((w0 - phase) / interval)
    out = []
    t = phase + k * interval
    while t < w1:
        out.append(t)
        t += interval
    return out


class EdgeReport:
    """The edge agent's side: per (scanner, beacon) a running median, one :class:`Sighting` per window."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._smoothers: dict[tuple[str, str], tuple[RssiSmoother, float]] = {}
        self._next_forget = -math.inf

    def smoother(self, key: tuple[str, str], at: float) -> RssiSmoother:
        """The edge keeps a beacon's median across windows, until unheard for ``RSSI_MAX_AGE_S``."""
        known = self._smoothers.get(key)
        if known is not None and at - known[1] <= RSSI_MAX_AGE_S:
            return known[0]
        return RssiSmoother()

    def sighting(
        self, device: DeviceSpec, beacon_id: str, heard: Sequence[tuple[float, float]], w1: float
    ) -> Sighting | None:
        """Feed ``(time, rssi dBm)`` adverts, in time order, to the edge's median; None when none was heard."""
        if not heard:
            return None
        key = (device.id, beacon_id)
        smoother = self.smoother(key, heard[0][0])
        smoothed = 0.0
        for at, rssi in heard:
            smoothed = smoother.add(max(RSSI_FLOOR, min(RSSI_CEILING, round(rssi))), at)  # radios report whole dBm
        first, last = heard[0][0], heard[-1][0]
        self._smoothers[key] = (smoother, last)
        skew = self.faults.skew_s.get(device.id, 0.0)
        return Sighting(
            beacon_id=beacon_id,
            format=BeaconFormat.IBEACON,
            rssi=round(smoothed, 1),
            distance_m=estimate_distance(smoothed),
            count=len(heard),
            first_seen=round(first + skew, 3),
            last_seen=round(last + skew, 3),
            tx_power=BEACON_TX_POWER_DBM,
        )

    def forget(self, w1: float) -> None:
        """Bounded memory, as on the edge: drop beacons gone for a while."""
        if w1 >= self._next_forget:
            self._smoothers = {k: v for k, v in self._smoothers.items() if w1 - v[1] <= RSSI_MAX_AGE_S}
            self._next_forget = w1 + FORGET_EVERY_S
