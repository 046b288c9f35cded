"""Scenarios and plans shared by the simulator tests: built once per session, they are pure and immutable."""

from __future__ import annotations

import pytest

from server.simulator.movement import Itinerary, plan_itineraries
from server.simulator.scenario import Scenario, build_scenario

SMALL = 60  # attendees: enough for crowds in every zone, small enough to keep each test well under a second


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    return build_scenario(seed=7, attendees=SMALL)


@pytest.fixture(scope="session")
def itineraries(scenario: Scenario) -> tuple[Itinerary, ...]:
    return plan_itineraries(scenario)
