"""Phone beacon reports (attendees) and the fixed venue beacons they refer to (organizers)."""

from __future__ import annotations

import re
import time

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field, model_validator
from sqlmodel import col, select

from edge.protocol import BEACON_ID_PATTERN, ID_PATTERN
from mobile_api.deps import Me, MobileDep, limited
from server.store.app_models import VenueBeacon
from server.store.models import Zone
from server.usecases.beacon_reports import (
    MAX_AGE_S,
    MAX_AHEAD_S,
    MAX_REPORTS,
    Report,
    apply_reports,
    delete_beacon,
    upsert_beacon,
)
from server.web.deps import Organizer, RuntimeDep, SessionDep

router = APIRouter(prefix="/app/v1", tags=["app: beacons"])


class BeaconReport(BaseModel):
    beacon_id: str = Field(pattern=BEACON_ID_PATTERN, max_length=128, description="Canonical id (docs/mqtt.md)")
    rssi: float = Field(ge=-127, le=20, description="Smoothed RSSI, dBm")
    first_seen: float = Field(description="Unix seconds")
    last_seen: float = Field(description="Unix seconds, >= first_seen")
    count: int = Field(default=1, ge=1, le=10_000, description="Adverts heard")

    @model_validator(mode="after")
    def _ordered(self) -> BeaconReport:
        if self.last_seen < self.first_seen:
            raise ValueError("last_seen is before first_seen")
        return self


class BeaconReports(BaseModel):
    reports: list[BeaconReport] = Field(min_length=1, max_length=MAX_REPORTS)


class ReportResult(BaseModel):
    accepted: int
    unknown_beacons: int
    tracked: bool = Field(description="false: no tracking consent, the reports were dropped")


@router.post("/me/beacons", response_model=ReportResult, status_code=202,
             summary="Report fixed venue beacons my phone hears (rate-limited)")  # fmt: skip
def report_beacons(body: BeaconReports, me: Me, session: SessionDep, runtime: RuntimeDep,
                   mobile: MobileDep) -> ReportResult:  # fmt: skip
    limited(mobile.beacons, me.id, "beacon reports")
    now = time.time()
    for r in body.reports:
        if not (now - MAX_AGE_S <= r.first_seen and r.last_seen <= now + MAX_AHEAD_S):
            raise HTTPException(
                422,
                f"report of {r.beacon_id} is not from the last {int(MAX_AGE_S)} s (check the phone's clock)",
            )
    reports = [Report(r.beacon_id, r.rssi, r.first_seen, r.last_seen, r.count) for r in body.reports]
    outcome = apply_reports(session, me, reports, now)
    runtime.pipeline.publish(outcome.changes)  # presence hears them here, or on the live worker
    return ReportResult(accepted=outcome.accepted, unknown_beacons=outcome.unknown_beacons,
                        tracked=not outcome.not_tracked)  # fmt: skip


class VenueBeaconIn(BaseModel):
    beacon_id: str = Field(pattern=BEACON_ID_PATTERN, max_length=128)
    zone_id: str = Field(pattern=ID_PATTERN)
    x: float | None = Field(default=None, ge=0, le=10_000, description="Metres from the plan's top-left")
    y: float | None = Field(default=None, ge=0, le=10_000)
    name: str = Field(default="", max_length=200)


class VenueBeaconOut(VenueBeaconIn):
    id: str
    device_id: str


def _out(b: VenueBeacon) -> VenueBeaconOut:
    return VenueBeaconOut(id=b.id, beacon_id=b.beacon_id, zone_id=b.zone_id, x=b.x, y=b.y, name=b.name,
                          device_id=f"vbeacon:{b.id}")  # fmt: skip


@router.get("/admin/beacons", response_model=list[VenueBeaconOut], tags=["app: admin"],
            summary="Fixed venue beacons phones may report")  # fmt: skip
def list_beacons(session: SessionDep, runtime: RuntimeDep, _caller: Organizer) -> list[VenueBeaconOut]:
    rows = session.exec(
        select(VenueBeacon).where(col(VenueBeacon.event_id) == runtime.settings.event_id).order_by(col(VenueBeacon.id))
    )
    return [_out(b) for b in rows]


@router.put("/admin/beacons/{beacon_key}", response_model=VenueBeaconOut, tags=["app: admin"],
            summary="Place (or move) a fixed beacon in a zone")  # fmt: skip
def put_beacon(beacon_key: str, body: VenueBeaconIn, session: SessionDep, runtime: RuntimeDep,
               _caller: Organizer) -> VenueBeaconOut:  # fmt: skip
    if len(beacon_key) > 48 or not re.match(ID_PATTERN, beacon_key):
        raise HTTPException(422, "beacon key: 1-48 of A-Z a-z 0-9 _ . : -")
    zone = session.get(Zone, body.zone_id)
    if zone is None or zone.event_id != runtime.settings.event_id:
        raise HTTPException(422, f"zone {body.zone_id!r} does not exist")
    clash = session.exec(select(VenueBeacon).where(col(VenueBeacon.beacon_id) == body.beacon_id)).first()
    if clash is not None and clash.id != beacon_key:
        raise HTTPException(status.HTTP_409_CONFLICT, f"beacon {body.beacon_id} is already placed as {clash.id!r}")
    beacon = VenueBeacon(id=beacon_key, event_id=runtime.settings.event_id, created_at=time.time(),
                         **body.model_dump())  # fmt: skip
    beacon = upsert_beacon(session, beacon, time.time())
    runtime.pipeline.venue_changed()  # presence learns the new "scanner"
    return _out(beacon)


@router.delete("/admin/beacons/{beacon_key}", status_code=204, tags=["app: admin"], summary="Remove a fixed beacon")
def remove_beacon(beacon_key: str, session: SessionDep, runtime: RuntimeDep, _caller: Organizer) -> None:
    beacon = session.get(VenueBeacon, beacon_key)
    if beacon is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"beacon {beacon_key!r} not found")
    delete_beacon(session, beacon, time.time())
    runtime.pipeline.venue_changed()
