"""The ``engine`` radio model: the simulator's original model, the one the presence engine assumes.

It is :class:`server.simulator.radio.RadioModel` unchanged (exponent 2.5 everywhere, scanners 1.2 m above
the badge, 8 dB walls, 4 dB noise per advert, 10 % adverts lost, a bias per device that the venue's
calibration offset cancels exactly). Accuracy measured on it is accuracy on the engine's own assumptions:
an upper bound, not a forecast. With no faults asked for, it draws exactly the same random numbers as
before, so ``touchpoints simulate`` and ``demo`` publish the same stream as they always did.

Faults (:class:`FaultSpec`) apply on top: a dark scanner's windows are dropped and a skewed scanner's
timestamps shifted. Its own 10 % loss stays; the fault spec's loss range is not used by this model.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from edge.protocol import Sighting
from server.simulator.radio import BadgeState, RadioModel
from server.simulator.radios.base import Faults
from server.simulator.scenario import Scenario


class EngineRadio:
    """:class:`RadioModel` behind the :class:`~server.simulator.radios.base.Radio` interface."""

    name = "engine"

    def __init__(self, scenario: Scenario, rng: random.Random, faults: Faults | None = None) -> None:
        self.scenario = scenario
        self.model = RadioModel(scenario, rng)
        self.faults = faults or Faults()
        self._bias = {d.id: d.rssi_bias_db for d in scenario.devices}

    def window(self, w0: float, w1: float, badges: Sequence[BadgeState]) -> dict[str, list[Sighting]]:
        heard = self.model.window(w0, w1, badges)
        faults = self.faults
        if not faults.down and not faults.skew_s:
            return heard
        out: dict[str, list[Sighting]] = {}
        for device_id, sightings in heard.items():
            if faults.is_down(device_id, w0, w1):
                continue
            skew = faults.skew_s.get(device_id, 0.0)
            out[device_id] = [
                s.model_copy(
                    update={"first_seen": round(s.first_seen + skew, 3), "last_seen": round(s.last_seen + skew, 3)}
                )
                for s in sightings
            ]
        return out

    def clock_skew_s(self, device_id: str) -> float:
        return self.faults.skew_s.get(device_id, 0.0)

    def calibrated_offset_db(self, device_id: str) -> float:
        """Exactly the correction of the device's bias: this model's calibration is perfect (as it always was)."""
        return 0.0 - self._bias[device_id]
