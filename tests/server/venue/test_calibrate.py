"""Calibrating the venue from a survey walk: the legs file is read strictly, the reference badge's stored
sightings are found by its beacon, the real fit runs, and only a usable fit replaces the active calibration."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from survey_support import REF_BEACON, SCANNERS, T0, ZONES, seed_hall, store_walk, walk_legs

from server.domain.survey import ScannerStatus, SurveyLeg
from server.store.calibration import active_calibration, calibration_history
from server.store.models import Attendee
from server.venue.calibrate import SurveyInputError, calibrate, parse_legs, resolve_badge

ZONE_IDS = {z[0] for z in ZONES}


def legs_of(raw: list[dict]) -> list[SurveyLeg]:
    return parse_legs(json.dumps({"legs": raw}), ZONE_IDS)[1]


def test_a_legs_file_takes_unix_seconds_or_iso_times_and_corridor_spots():
    text = json.dumps({
        "badge": "surveyor",
        "legs": [
            {"zone_id": "booth-1", "started_at": "2026-05-28T20:26:40Z", "ended_at": 1780000030, "x": 11, "y": 3},
            {"zone_id": None, "started_at": 1780000034.5, "ended_at": "2026-05-28T20:27:44+00:00"},
        ],
    })  # fmt: skip
    badge, legs = parse_legs(text, ZONE_IDS)
    assert badge == "surveyor"
    assert legs == [SurveyLeg("booth-1", 1780000000.0, 1780000030.0, 11.0, 3.0),
                    SurveyLeg(None, 1780000034.5, 1780000064.0)]  # fmt: skip


def test_every_problem_of_a_legs_file_is_named_at_once():
    text = json.dumps({"legs": [
        {"zone_id": "booth-9", "started_at": 0, "ended_at": 30},
        {"zone_id": "booth-1", "started_at": 30, "ended_at": 10},
        {"zone_id": "booth-1", "started_at": "yesterday", "ended_at": 10, "x": "left"},
    ]})  # fmt: skip
    with pytest.raises(SurveyInputError) as error:
        parse_legs(text, ZONE_IDS)
    assert str(error.value) == (
        "legs[0].zone_id: no zone 'booth-9' in this event; legs[1]: ended_at is not after started_at; "
        "legs[2].started_at: not an ISO 8601 time: 'yesterday'"
    )
    for bad, message in [("[]", "expected an object"), ("{", "not valid JSON"), ('{"legs": []}', "no legs")]:
        with pytest.raises(SurveyInputError, match=message):
            parse_legs(bad, ZONE_IDS)


def test_the_reference_badge_is_a_spare_beacon_or_a_staff_record_with_tracking_consent(engine: Engine):
    seed_hall(engine, staff_badge=True)
    with Session(engine) as session:
        assert resolve_badge(session, "demo", "surveyor") == REF_BEACON
        assert resolve_badge(session, "demo", "S0001") == REF_BEACON
        assert resolve_badge(session, "demo", "ibeacon:spare") == "ibeacon:spare"
        surveyor = session.get(Attendee, "surveyor")
        assert surveyor is not None
        surveyor.consent_tracking = False
        session.add(surveyor)
        session.commit()
        with pytest.raises(SurveyInputError, match="no tracking consent, so ingest drops its sightings"):
            resolve_badge(session, "demo", "surveyor")


def test_a_walk_is_fitted_from_the_stored_sightings_and_becomes_the_active_calibration(engine: Engine):
    seed_hall(engine)
    raw = walk_legs()
    assert store_walk(engine, raw, seed=3) > 300
    with Session(engine) as session:
        outcome = calibrate(session, "demo", REF_BEACON, legs_of(raw), created_by="cli", now=T0 + 1000)
        session.commit()
        assert outcome.usable and outcome.row is not None and outcome.row.active
    assert outcome.calibration is not None
    assert set(outcome.calibration.scanners) == set(SCANNERS)
    fitted = outcome.calibration.scanners["s-booth-2"]
    assert fitted.status is ScannerStatus.OK and abs(fitted.gain_db - SCANNERS["s-booth-2"][3]) <= 4
    with Session(engine) as session:
        assert active_calibration(session, "demo") == outcome.calibration
        assert calibration_history(session, "demo")[0].walk_started_at == T0


def test_a_walk_whose_badge_was_never_heard_keeps_the_previous_calibration(engine: Engine):
    seed_hall(engine)
    raw = walk_legs()
    store_walk(engine, raw, seed=3)
    with Session(engine) as session:
        first = calibrate(session, "demo", REF_BEACON, legs_of(raw), created_by="cli", now=T0 + 1000)
        session.commit()
        later = walk_legs(start=T0 + 5000)  # nobody walked then: no sighting in any leg
        outcome = calibrate(session, "demo", REF_BEACON, legs_of(later), created_by="cli", now=T0 + 6000)
        session.commit()
    assert not outcome.usable and outcome.row is None and outcome.calibration is None
    assert outcome.problems and outcome.sightings == 0
    with Session(engine) as session:
        assert active_calibration(session, "demo") == first.calibration
        assert len(calibration_history(session, "demo")) == 1


def test_a_walk_that_heard_too_few_scanners_is_stored_but_not_put_in_force(engine: Engine):
    seed_hall(engine)
    raw = walk_legs()
    store_walk(engine, raw, seed=3, silent=frozenset({"s-entrance", "s-booth-1", "s-lounge"}))
    with Session(engine) as session:
        outcome = calibrate(session, "demo", REF_BEACON, legs_of(raw), created_by="cli", now=T0 + 1000)
        session.commit()
        assert outcome.calibration is not None and not outcome.usable
        assert outcome.row is not None and not outcome.row.active
    assert any("s-entrance" in p for p in outcome.problems)
    with Session(engine) as session:
        assert active_calibration(session, "demo") is None
