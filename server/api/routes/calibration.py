"""Presence calibration for organizers and staff: the survey walk from a phone, the active calibration with
the per-scanner signs and unsure zones the dashboard shows, and the history of fits (docs/presence.md).

Calibration is about the radios, not about people: staff (who look after the devices) may do all of it. A
new calibration in force is announced like a venue change, so the live presence engine (here or on the live
worker of a scaled deployment) reloads it at once; see server/live/presence.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from server.domain.presence_confidence import scanner_signs, unsure_zones
from server.store.calibration import active_calibration_row, calibration_from_json, calibration_history
from server.store.models import Device, DeviceState
from server.store.survey_models import SurveyWalk, VenueCalibration
from server.store.venue import load_venue
from server.venue import survey_walk as walks
from server.venue.calibrate import CalibrationOutcome, SurveyInputError
from server.web.deps import OrganizerOrStaff, Principal, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/v1/calibration", tags=["calibration"])

# A stop of this long gives a zone enough windows for its fingerprint (15 two-second scan windows; the fit
# asks for 8 and loses some to walking in and out): the page shows progress toward it.
TARGET_STOP_S = 30.0


def wall_clock() -> float:
    """The server's clock for legs (a dependency, so that tests can drive time)."""
    return time.time()


def get_clock() -> Callable[[], float]:
    return wall_clock


ClockDep = Annotated[Callable[[], float], Depends(get_clock)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such walk"}}


class StartWalk(BaseModel):
    badge: str = Field(min_length=1, max_length=64, description="Attendee id, badge id or beacon id")


class EnterZone(BaseModel):
    zone_id: str | None = Field(description="The zone staff stand in now; null for an aisle spot")
    x: float | None = None
    y: float | None = None


class WalkOut(BaseModel):
    id: int
    badge: str
    started_at: float
    finished_at: float | None
    now: float = Field(description="The server's clock: legs are stamped with it")
    legs: list[dict[str, Any]]
    open_leg: dict[str, Any] | None
    surveyed_s: dict[str, float] = Field(description='Seconds stood per zone so far (aisle spots under "")')
    target_s: float = TARGET_STOP_S
    readings_here: int = Field(description="The reference badge's sightings since the current stop began")
    heard_now_by: int = Field(description=f"Scanners that heard the badge in the last {walks.RECENT_S:g} s")
    last_heard_at: float | None = Field(description=f"Its latest sighting in the last {walks.LOOKBACK_S:g} s")
    calibration_id: int | None


class ScannerOut(BaseModel):
    scanner_id: str
    zone_id: str | None
    sign: str
    online: bool
    note: str
    gain_db: float | None = None
    exponent: float | None = None
    reach_m: float | None = None
    residual_db: float | None = None
    readings: int | None = None


class UnsureZoneOut(BaseModel):
    zone_id: str
    reasons: list[str]


class CalibrationSummary(BaseModel):
    id: int
    fitted_at: float
    created_at: float
    created_by: str
    badge: str
    walk_started_at: float
    walk_ended_at: float
    usable: bool
    active: bool
    problems: list[str]
    wall_loss_db: float | None


class CalibrationStatus(BaseModel):
    calibrated: bool = Field(description="False: the venue was never calibrated; documented defaults everywhere")
    calibration: CalibrationSummary | None
    scanners: list[ScannerOut]
    unsure_zones: list[UnsureZoneOut]


class FitResult(BaseModel):
    in_force: bool = Field(description="True: this fit is now the active calibration")
    message: str
    calibration: CalibrationSummary | None
    scanners: list[ScannerOut]
    problems: list[str]
    sightings: int


def _summary(row: VenueCalibration) -> CalibrationSummary:
    data = row.calibration
    return CalibrationSummary(
        id=row.id or 0, fitted_at=row.fitted_at, created_at=row.created_at, created_by=row.created_by,
        badge=row.badge, walk_started_at=row.walk_started_at, walk_ended_at=row.walk_ended_at, usable=row.usable,
        active=row.active, problems=list(data.get("problems", [])), wall_loss_db=data.get("wall_loss_db"),
    )  # fmt: skip


def _scanners(session: Session, event_id: str, row: VenueCalibration | None) -> list[ScannerOut]:
    venue = load_venue(session, event_id)
    calibration = calibration_from_json(row.calibration) if row is not None else None
    fitted = calibration.scanners if calibration is not None else {}
    out = []
    for s in scanner_signs(venue.scanners, calibration, _offline(session, event_id)):
        cal = fitted.get(s.scanner_id)
        scanner = ScannerOut(scanner_id=s.scanner_id, zone_id=s.zone_id, sign=s.sign.value, online=s.online,
                             note=s.note)  # fmt: skip
        if cal is not None:
            scanner.gain_db, scanner.exponent, scanner.reach_m = cal.gain_db, cal.exponent, cal.reach_m
            scanner.residual_db, scanner.readings = cal.residual_db, cal.readings
        out.append(scanner)
    return out


def _offline(session: Session, event_id: str) -> set[str]:
    """Devices that said they went offline (retained status or missed heartbeats) or were revoked."""
    rows = session.exec(select(Device.id, Device.state, Device.revoked_at).where(col(Device.event_id) == event_id))
    return {d for d, state, revoked in rows if state == DeviceState.OFFLINE.value or revoked is not None}


def _walk(session: Session, walk_id: int, event_id: str) -> SurveyWalk:
    walk = session.get(SurveyWalk, walk_id)
    if walk is None or walk.event_id != event_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"survey walk {walk_id} not found")
    return walk


def _walk_out(session: Session, walk: SurveyWalk, now: float) -> WalkOut:
    heard = walks.badge_heard(session, walk, now)
    return WalkOut(
        id=walk.id or 0, badge=walk.badge, started_at=walk.started_at, finished_at=walk.finished_at, now=now,
        legs=list(walk.legs), open_leg=walk.open_leg, surveyed_s=walks.surveyed_seconds(walk, now),
        readings_here=heard.readings_here, heard_now_by=heard.heard_now_by, last_heard_at=heard.last_heard_at,
        calibration_id=walk.calibration_id,
    )  # fmt: skip


def _who(caller: Principal) -> str:
    return "admin token" if caller.is_admin else f"{caller.role.value} token #{caller.token_id}"


def _unprocessable(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


def _conflict(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))


@router.get("", response_model=CalibrationStatus, summary="The calibration in force, per-scanner signs, unsure zones")
def get_calibration(session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff) -> CalibrationStatus:
    event_id = runtime.settings.event_id
    row = active_calibration_row(session, event_id)
    venue = load_venue(session, event_id)
    calibration = calibration_from_json(row.calibration) if row is not None else None
    unsure = unsure_zones(venue.zones, venue.scanners, calibration, _offline(session, event_id))
    return CalibrationStatus(
        calibrated=row is not None,
        calibration=_summary(row) if row is not None else None,
        scanners=_scanners(session, event_id, row),
        unsure_zones=[UnsureZoneOut(zone_id=z.zone_id, reasons=list(z.reasons)) for z in unsure],
    )


@router.get("/history", response_model=list[CalibrationSummary], summary="Every fit of the event, newest first")
def history(session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff) -> list[CalibrationSummary]:
    return [_summary(row) for row in calibration_history(session, runtime.settings.event_id)]


@router.post("/walks", response_model=WalkOut, status_code=201, summary="Start a survey walk with a reference badge",
             responses={409: {"description": "another walk is open"}})  # fmt: skip
def start_walk(
    body: StartWalk, session: SessionDep, runtime: RuntimeDep, caller: OrganizerOrStaff, clock: ClockDep
) -> WalkOut:
    now = clock()
    try:
        walk = walks.start_walk(session, runtime.settings.event_id, body.badge, started_by=_who(caller), now=now)
    except SurveyInputError as exc:
        raise _unprocessable(exc) from None
    except walks.WalkConflict as exc:
        raise _conflict(exc) from None
    session.commit()
    return _walk_out(session, walk, now)


@router.get("/walks/current", response_model=WalkOut, summary="The open walk (a reloaded phone carries on)",
            responses={404: {"description": "no walk is open"}})  # fmt: skip
def current_walk(session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff, clock: ClockDep) -> WalkOut:
    walk = walks.open_walk(session, runtime.settings.event_id)
    if walk is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no survey walk is open")
    return _walk_out(session, walk, clock())


@router.post("/walks/{walk_id}/enter", response_model=WalkOut, summary="I am in this zone now", responses=NOT_FOUND)
def enter(
    walk_id: int, body: EnterZone, session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff,
    clock: ClockDep,
) -> WalkOut:  # fmt: skip
    now, walk = clock(), _walk(session, walk_id, runtime.settings.event_id)
    try:
        walks.enter_zone(session, walk, body.zone_id, now=now, x=body.x, y=body.y)
    except SurveyInputError as exc:
        raise _unprocessable(exc) from None
    except walks.WalkConflict as exc:
        raise _conflict(exc) from None
    session.commit()
    return _walk_out(session, walk, now)


@router.post("/walks/{walk_id}/leave", response_model=WalkOut, summary="I am leaving this zone", responses=NOT_FOUND)
def leave(
    walk_id: int, session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff, clock: ClockDep
) -> WalkOut:
    now, walk = clock(), _walk(session, walk_id, runtime.settings.event_id)
    try:
        walks.leave_zone(session, walk, now=now)
    except walks.WalkConflict as exc:
        raise _conflict(exc) from None
    session.commit()
    return _walk_out(session, walk, now)


@router.post("/walks/{walk_id}/finish", response_model=FitResult, summary="Finish the walk and fit",
             responses=NOT_FOUND)  # fmt: skip
def finish(
    walk_id: int, session: SessionDep, runtime: RuntimeDep, caller: OrganizerOrStaff, clock: ClockDep
) -> FitResult:
    event_id = runtime.settings.event_id
    now, walk = clock(), _walk(session, walk_id, event_id)
    try:
        outcome = walks.finish_walk(session, walk, created_by=_who(caller), now=now)
    except SurveyInputError as exc:
        raise _unprocessable(exc) from None
    except walks.WalkConflict as exc:
        raise _conflict(exc) from None
    session.commit()
    if outcome.usable:
        runtime.pipeline.venue_changed()  # presence reloads the venue and its calibration (server/live/presence.py)
    return _fit_result(session, event_id, outcome)


def _fit_result(session: Session, event_id: str, outcome: CalibrationOutcome) -> FitResult:
    row = outcome.row
    if outcome.usable:
        message = "The new calibration is in force."
    elif row is not None:
        message = "Too few scanners could be fitted: the previous calibration stays in force."
    else:
        message = "Nothing could be fitted: the previous calibration stays in force."
    return FitResult(
        in_force=outcome.usable, message=message, calibration=_summary(row) if row is not None else None,
        scanners=_scanners(session, event_id, row) if row is not None else [], problems=list(outcome.problems),
        sightings=outcome.sightings,
    )  # fmt: skip


@router.delete("/walks/{walk_id}", status_code=204, summary="Abandon a walk without fitting", responses=NOT_FOUND)
def abandon(walk_id: int, session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff, clock: ClockDep) -> None:
    walk = _walk(session, walk_id, runtime.settings.event_id)
    try:
        walks.abandon_walk(session, walk, now=clock())
    except walks.WalkConflict as exc:
        raise _conflict(exc) from None
    session.commit()
