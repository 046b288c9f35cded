"""Recent touchpoints and counts per type, for organizers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import col, select

from server.store.models import NOT_A_SIGHTING, Touchpoint, TouchpointType
from server.web.deps import Organizer, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/v1/touchpoints", tags=["touchpoints"])

MAX_PAGE = 1000


class TouchpointOut(BaseModel):
    id: int
    type: str
    occurred_at: float
    received_at: float
    attendee_id: str | None
    device_id: str | None
    zone_id: str | None
    seq: int | None
    beacon_id: str | None
    rssi: float | None
    distance_m: float | None
    count: int | None
    ended_at: float | None
    data: dict[str, Any] | None


class TouchpointCounts(BaseModel):
    total: int
    by_type: dict[str, int]


@router.get("", response_model=list[TouchpointOut], summary="Most recent touchpoints first")
def list_touchpoints(
    session: SessionDep,
    runtime: RuntimeDep,
    _caller: Organizer,
    type: TouchpointType | None = None,
    attendee_id: str | None = None,
    device_id: str | None = None,
    zone_id: str | None = None,
    since: Annotated[float | None, Query(description="Only touchpoints that occurred at or after (Unix s)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> list[Touchpoint]:
    query = select(Touchpoint).where(Touchpoint.event_id == runtime.settings.event_id)
    if type is not None:
        query = query.where(Touchpoint.type == type.value)
        if type is not TouchpointType.SIGHTING:
            query = query.where(NOT_A_SIGHTING)  # through ix_touchpoint_type_event, not past every sighting
    if attendee_id is not None:
        query = query.where(Touchpoint.attendee_id == attendee_id)
    if device_id is not None:
        query = query.where(Touchpoint.device_id == device_id)
    if zone_id is not None:
        query = query.where(Touchpoint.zone_id == zone_id)
    if since is not None:
        query = query.where(Touchpoint.occurred_at >= since)
    return list(session.exec(query.order_by(col(Touchpoint.id).desc()).limit(limit)))


@router.get("/counts", response_model=TouchpointCounts, summary="How many touchpoints of each type")
def count_touchpoints(
    session: SessionDep, runtime: RuntimeDep, _caller: Organizer, since: float | None = None
) -> TouchpointCounts:
    query = select(Touchpoint.type, func.count()).where(Touchpoint.event_id == runtime.settings.event_id)
    if since is not None:
        query = query.where(Touchpoint.occurred_at >= since)
    by_type = {str(t): int(n) for t, n in session.exec(query.group_by(Touchpoint.type))}
    return TouchpointCounts(total=sum(by_type.values()), by_type=by_type)
