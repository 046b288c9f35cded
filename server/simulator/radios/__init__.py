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

import random

from server.simulator.radios.base import NO_FAULTS, Faults, FaultSpec, Radio, plan_faults
from server.simulator.radios.crowd import CrowdRadio
from server.simulator.radios.engine import EngineRadio
from server.simulator.radios.lognormal import LogNormalRadio
from server.simulator.scenario import Scenario

RADIO_NAMES = ("engine", "lognormal", "crowd")
DEFAULT_RADIO = "engine"

__all__ = ["DEFAULT_RADIO", "NO_FAULTS", "RADIO_NAMES", "FaultSpec", "Faults", "Radio", "default_faults", "make_radio"]


def default_faults(name: str, seed: int = 0) -> FaultSpec:
    """The faults a model runs with unless told otherwise: none for ``engine`` (its stream stays as it always
    was), the issue's hall for the independent models (20-40 % loss, +-300 ms skew, one scanner dark 10 min).
    """
    return NO_FAULTS if name == "engine" else FaultSpec(seed=seed)


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
