"""The simulated survey walk: every zone, a few corridor spots, ~15 minutes, before doors open."""

from __future__ import annotations

import json

import pytest

from server.domain.survey import SurveyLeg
from server.simulator.scenario import Scenario
from server.simulator.survey import CORRIDOR_SPOTS, DONE_BEFORE_DOORS_S, ZONE_S, survey_walk
from server.simulator.venues import build_venue


@pytest.fixture(scope="module")
def hall() -> Scenario:
    return build_venue("hall", seed=7, attendees=10)


def test_the_walk_covers_every_zone_once_and_marks_corridor_spots(hall: Scenario) -> None:
    walk = survey_walk(hall, "lognormal", seed=7)
    zones = [leg.zone_id for leg in walk.legs if leg.zone_id is not None]
    assert sorted(zones) == sorted(z.id for z in hall.zones)
    assert all(isinstance(leg, SurveyLeg) and leg.ended_at - leg.started_at == pytest.approx(ZONE_S)
               for leg in walk.legs if leg.zone_id)  # fmt: skip
    spots = [leg for leg in walk.legs if leg.zone_id is None]
    assert len(spots) == CORRIDOR_SPOTS
    assert all(leg.x is not None and leg.y is not None and hall.zone_at(leg.x, leg.y) is None for leg in spots)
    assert all(a.ended_at <= b.started_at for a, b in zip(walk.legs, walk.legs[1:], strict=False))
    assert 10 * 60 <= walk.ended_at - walk.started_at <= 20 * 60
    assert walk.ended_at == pytest.approx(hall.event.starts_at - DONE_BEFORE_DOORS_S)


def test_the_badge_is_really_in_each_legs_zone_and_heard_there(hall: Scenario) -> None:
    walk = survey_walk(hall, "crowd", seed=7)
    for leg in walk.legs:
        t = leg.started_at + 1.0
        while t < leg.ended_at:
            iv = walk.itinerary.at(t)
            assert iv is not None and iv.zone_id == leg.zone_id
            t += 5.0
    heard_by = {s.device_id for s in walk.sightings}
    assert len(heard_by) >= 25  # nearly every scanner hears the walk (no outage during it)
    assert {s.attendee_id for s in walk.sightings} == {walk.beacon_id}
    assert all(walk.started_at - 0.5 <= s.first_seen <= s.last_seen <= walk.ended_at + 2.5 for s in walk.sightings)
    assert walk.beacon_id not in {a.beacon_id for a in hall.attendees}  # the venue's spare, nobody's badge


def test_the_legs_file_is_what_venue_calibrate_reads_and_walks_repeat(hall: Scenario) -> None:
    walk = survey_walk(hall, "lognormal", seed=7)
    data = json.loads(json.dumps(walk.legs_json()))
    assert data["badge"] == walk.beacon_id
    assert [SurveyLeg(**leg) for leg in data["legs"]] == list(walk.legs)
    assert survey_walk(hall, "lognormal", seed=7) == walk
