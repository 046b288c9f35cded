"""Radio models for the simulator, chosen per run: ``engine``, ``lognormal`` and ``crowd``.

The presence engine was tuned on a simulator whose radio is the engine's own model: measured there, it is
measured against its own assumptions. The independent models are halls the engine has never seen (see each
module); one interface (:class:`~server.simulator.radios.base.Radio`) lets the stream, the survey walk and
the bench use any of them.

    >>> from server.simulator.scenario import build_scenario
    >>> radio = make_radio("crowd", build_scenario(attendees=5), seed=7, span=(0.0, 3600.0))
    >>> radio.name
    'crowd'
"""

from __future__ import annotations

import dataclasses
import random

from server.simulator.radios.base import NO_FAULTS, Faults, FaultSpec, Radio, plan_faults
from server.simulator.radios.crowd import CrowdRadio
from server.simulator.radios.engine import EngineRadio
from server.simulator.radios.lognormal import LogNormalRadio
from server.simulator.scenario import Scenario

RADIO_NAMES = ("engine", "lognormal", "crowd")
DEFAULT_RADIO = "engine"

__all__ = [
    "DEFAULT_RADIO",
    "NO_FAULTS",
    "RADIO_NAMES",
    "FaultSpec",
    "Faults",
    "Radio",
    "default_faults",
    "fault_options",
    "make_radio",
    "parse_loss",
    "plan_faults",
]


def default_faults(name: str, seed: int = 0) -> FaultSpec:
    """The faults a model runs with unless told otherwise: none for ``engine`` (its stream stays as it always
    was), the issue's hall for the independent models (20-40 % loss, +-300 ms skew, one scanner dark 10 min).
    """
    return NO_FAULTS if name == "engine" else FaultSpec(seed=seed)


def parse_loss(text: str) -> tuple[float, float]:
    """``"0.2-0.4"`` -> (0.2, 0.4); a single value is a fixed loss for every scanner."""
    low, sep, high = text.partition("-")
    try:
        pair = (float(low), float(high if sep else low))
    except ValueError:
        raise ValueError(f"packet loss: expected LOW-HIGH shares such as 0.2-0.4, got {text!r}") from None
    if not 0.0 <= pair[0] <= pair[1] < 1.0:
        raise ValueError(f"packet loss: need 0 <= LOW <= HIGH < 1, got {text!r}")
    return pair


def fault_options(
    name: str,
    seed: int,
    *,
    loss: str | None = None,
    skew_ms: float | None = None,
    outages: int | None = None,
    outage_s: float | None = None,
) -> FaultSpec:
    """The model's default faults (:func:`default_faults`) with the options a user gave replacing them."""
    spec = default_faults(name, seed)
    changes: dict[str, float | int] = {}
    if loss is not None:
        changes["loss_min"], changes["loss_max"] = parse_loss(loss)
    if skew_ms is not None:
        changes["skew_ms"] = skew_ms
    if outages is not None:
        changes["outages"] = outages
        if outages and outage_s is None and spec.outage_s == 0:
            changes["outage_s"] = FaultSpec().outage_s
    if outage_s is not None:
        changes["outage_s"] = outage_s
    return dataclasses.replace(spec, seed=seed, **changes)  # type: ignore[arg-type]


def make_radio(
    name: str, scenario: Scenario, *, seed: int, span: tuple[float, float], faults: FaultSpec | None = None
) -> Radio:
    """The radio model ``name`` for one run over ``span`` (the faults are placed within it)."""
    if name not in RADIO_NAMES:
        raise ValueError(f"unknown radio model {name!r}: choose one of {', '.join(RADIO_NAMES)}")
    spec = default_faults(name, seed) if faults is None else faults
    planned = plan_faults(scenario, spec, *span)
    if name == "engine":
        # The same generator as before radio models were pluggable: the default stream is unchanged.
        return EngineRadio(scenario, random.Random(f"{seed}:{scenario.seed}:radio"), planned)
    if name == "lognormal":
        return LogNormalRadio(scenario, seed, planned)
    return CrowdRadio(scenario, seed, planned)
