"""Live presence notices a new active calibration without a restart: at once when told, else within the poll."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from server.domain.survey import Calibration, ScannerCalibration
from server.live.calibration_watch import CALIBRATION_POLL_S, CalibrationWatch
from server.store.calibration import WalkInfo, save_calibration

WALK = WalkInfo(badge="ibeacon:ref", started_at=0.0, ended_at=900.0)


def cal(fitted_at: float) -> Calibration:
    return Calibration(fitted_at, {"door-1": ScannerCalibration("door-1", -60.0, 2.2, 15.0, 2.5, 80)})


def store(engine: Engine, calibration: Calibration, *, usable: bool = True) -> None:
    with Session(engine) as session:
        save_calibration(session, "demo", calibration, WALK, usable=usable)
        session.commit()


def test_the_active_calibration_is_loaded_on_start_and_a_new_one_noticed_within_the_poll(engine: Engine):
    watch = CalibrationWatch("demo")
    with Session(engine) as session:
        assert watch.load(session) is None  # never calibrated: the defaults
    store(engine, cal(1000.0))
    with Session(engine) as session:
        assert watch.check(session, now=0.0) == (True, cal(1000.0))
        assert watch.check(session, now=1.0) == (False, None)  # nothing new
    store(engine, cal(2000.0))
    with Session(engine) as session:
        assert watch.check(session, now=CALIBRATION_POLL_S - 1) == (False, None)  # not asked yet
        assert watch.check(session, now=CALIBRATION_POLL_S) == (True, cal(2000.0))


def test_an_unusable_fit_changes_nothing_and_a_forced_check_is_immediate(engine: Engine):
    store(engine, cal(1000.0))
    watch = CalibrationWatch("demo")
    with Session(engine) as session:
        assert watch.load(session) == cal(1000.0)
    store(engine, cal(2000.0), usable=False)
    with Session(engine) as session:
        assert watch.check(session, now=100.0, force=True) == (False, None)
    store(engine, cal(3000.0))
    with Session(engine) as session:
        assert watch.check(session, now=101.0, force=True) == (True, cal(3000.0))


def test_live_presence_starts_with_the_active_calibration_and_takes_a_new_one_when_the_venue_changes(
    engine: Engine,
):
    from support import seed_small_venue

    from server.live.presence import LivePresence

    seed_small_venue(engine)
    store(engine, cal(1000.0))
    presence = LivePresence(engine, "demo")
    first = presence.calibration_id
    assert first is not None
    given: list[Calibration | None] = []
    update = presence.engine.update_calibration
    presence.engine.update_calibration = lambda c: (given.append(c), update(c))  # type: ignore[method-assign]
    presence._step([])  # nothing new: the engine is left alone
    assert given == [] and presence.calibration_id == first
    store(engine, cal(2000.0))
    presence.venue_changed()  # what the API does after a fit is put in force
    presence._step([])
    assert given == [cal(2000.0)] and presence.calibration_id == first + 1
