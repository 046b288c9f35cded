"""Live presence for organizers and staff: who-is-where counts, never who."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import col, select

from server.store.models import Visit, Zone
from server.web.deps import OrganizerOrStaff, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/v1/presence", tags=["presence"])


class ZoneOccupancy(BaseModel):
    zone_id: str
    name: str
    kind: str
    capacity: int | None
    present: int
    share_of_capacity: float | None
    over_capacity: bool


class ZoneTraffic(BaseModel):
    zone_id: str
    visits: int
    unique_visitors: int
    average_dwell_s: float | None


@router.get("/occupancy", response_model=list[ZoneOccupancy], summary="Attendees in each zone now")
def occupancy(session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff) -> list[ZoneOccupancy]:
    live = runtime.pipeline.occupancy()  # the presence engine's, or on a worker without one the open visits stored
    zones = session.exec(select(Zone).where(col(Zone.event_id) == runtime.settings.event_id).order_by(col(Zone.id)))
    out = []
    for zone in zones:
        present = live.get(zone.id, 0)
        share = present / zone.capacity if zone.capacity else None
        out.append(
            ZoneOccupancy(
                zone_id=zone.id,
                name=zone.name,
                kind=str(zone.kind),
                capacity=zone.capacity,
                present=present,
                share_of_capacity=share,
                over_capacity=share is not None and share > 1.0,
            )
        )
    return out


@router.get("/traffic", response_model=list[ZoneTraffic], summary="Closed visits per zone since a time")
def traffic(
    session: SessionDep,
    runtime: RuntimeDep,
    _caller: OrganizerOrStaff,
    since: Annotated[float | None, Query(description="Visits that started at or after (Unix s)")] = None,
) -> list[ZoneTraffic]:
    query = select(
        Visit.zone_id, func.count(), func.count(func.distinct(Visit.attendee_id)), func.avg(Visit.dwell_s)
    ).where(col(Visit.event_id) == runtime.settings.event_id, col(Visit.ended_at).is_not(None))
    if since is not None:
        query = query.where(col(Visit.started_at) >= since)
    rows = session.exec(query.group_by(col(Visit.zone_id)).order_by(col(Visit.zone_id)))
    return [ZoneTraffic(zone_id=z, visits=n, unique_visitors=u, average_dwell_s=d) for z, n, u, d in rows]
