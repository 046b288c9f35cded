"""A calibration is stored with the venue per event, read back exactly, and history is kept: a usable fit
becomes the active one, an unusable one is kept for reading but the previous stays in force."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from server.domain.survey import Calibration, ScannerCalibration, ScannerStatus, ZoneFingerprint
from server.store.calibration import (
    CalibrationFormatError,
    WalkInfo,
    active_calibration,
    calibration_from_json,
    calibration_history,
    calibration_to_json,
    save_calibration,
)

WALK = WalkInfo(badge="ibeacon:survey", started_at=1000.0, ended_at=1900.0, created_by="staff phone")


def a_calibration(fitted_at: float = 2000.0, gain: float = -59.0) -> Calibration:
    return Calibration(
        fitted_at=fitted_at,
        scanners={
            "door-1": ScannerCalibration("door-1", gain, 2.4, 14.5, 3.1, 240),
            "booth-1-scanner": ScannerCalibration(
                "booth-1-scanner", -65.0, 2.0, 0.0, 0.0, 0, ScannerStatus.DEAD, "never heard the badge"
            ),
        },
        fingerprints={
            "booth-1": ZoneFingerprint("booth-1", {"door-1": -81.5}, {"door-1": 4.0}, {"door-1": 0.4}, 15),
            None: ZoneFingerprint(None, {"door-1": -70.0}, {"door-1": 5.5}, {"door-1": 0.9}, 8),
        },
        problems=("booth-1-scanner never heard the reference badge",),
        wall_loss_db=7.5,
    )


def test_a_calibration_survives_the_json_round_trip_with_the_corridor_fingerprint():
    calibration = a_calibration()
    assert calibration_from_json(calibration_to_json(calibration)) == calibration


def test_json_of_another_format_version_is_refused_with_a_clear_error():
    data = calibration_to_json(a_calibration()) | {"version": 99}
    with pytest.raises(CalibrationFormatError, match="version 99"):
        calibration_from_json(data)
    broken = calibration_to_json(a_calibration())
    del broken["scanners"][0]["gain_db"]
    with pytest.raises(CalibrationFormatError, match="damaged"):
        calibration_from_json(broken)


def test_the_newest_usable_fit_is_active_and_the_older_ones_stay_in_history(engine: Engine):
    with Session(engine) as session:
        first = save_calibration(session, "conf", a_calibration(2000.0, -59.0), WALK, usable=True, now=2001.0)
        second = save_calibration(session, "conf", a_calibration(3000.0, -61.0), WALK, usable=True, now=3001.0)
        session.commit()
        first_id, second_id = first.id, second.id
    with Session(engine) as session:
        active = active_calibration(session, "conf")
        assert active is not None and active.scanners["door-1"].gain_db == -61.0
        history = calibration_history(session, "conf")
        assert [(row.id, row.active) for row in history] == [(second_id, True), (first_id, False)]
        assert history[0].created_by == "staff phone" and history[0].badge == "ibeacon:survey"


def test_an_unusable_fit_is_kept_but_the_previous_calibration_stays_in_force(engine: Engine):
    with Session(engine) as session:
        save_calibration(session, "conf", a_calibration(2000.0, -59.0), WALK, usable=True)
        save_calibration(session, "conf", a_calibration(3000.0, -90.0), WALK, usable=False)
        session.commit()
    with Session(engine) as session:
        active = active_calibration(session, "conf")
        assert active is not None and active.fitted_at == 2000.0
        assert [(row.fitted_at, row.usable, row.active) for row in calibration_history(session, "conf")] == [
            (3000.0, False, False),
            (2000.0, True, True),
        ]


def test_calibrations_are_per_event(engine: Engine):
    with Session(engine) as session:
        save_calibration(session, "conf", a_calibration(2000.0), WALK, usable=True)
        save_calibration(session, "other", a_calibration(3000.0), WALK, usable=True)
        session.commit()
    with Session(engine) as session:
        conf, other = active_calibration(session, "conf"), active_calibration(session, "other")
        assert conf is not None and conf.fitted_at == 2000.0
        assert other is not None and other.fitted_at == 3000.0
        assert active_calibration(session, "never-calibrated") is None
