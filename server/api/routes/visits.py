"""Visits: who stayed in which zone and when, as presence derived them (issue 14, item 6).

A visit belongs to a time range when it overlaps it: it started before the range ends and had not ended
when the range began (an open visit overlaps every range after its start). Pages are keyset pages in
(started_at, id) order: ``next_cursor`` continues exactly after the last row, however many visits are
written meanwhile, and no page ever skips or repeats a row (an offset would, as presence keeps writing).

Staff (no attendee data, docs/api.md) see every zone's visits without who made them; exhibitors only their
own booths', also without who: visitors' identities reach an exhibitor through lead capture, where the
attendee agreed to it. Only organizers see and filter by attendee.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import and_, or_
from sqlmodel import col, select

from server.store.models import Role, Visit, Zone
from server.web.deps import Principal, RuntimeDep, SessionDep, require

router = APIRouter(prefix="/api/v1/visits", tags=["presence"])

MAX_PAGE = 1000
DEFAULT_PAGE = 100
VisitsCaller = Annotated[Principal, Depends(require(Role.ORGANIZER, Role.STAFF, Role.EXHIBITOR))]


class VisitOut(BaseModel):
    id: int
    attendee_id: str | None = Field(description="None for staff and exhibitors (no attendee data)")
    zone_id: str
    started_at: float
    ended_at: float | None = Field(description="None while the visit is open")
    dwell_s: float | None


class VisitPage(BaseModel):
    items: list[VisitOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; None on the last page")


MAX_ID = 2**63 - 1  # ids are BIGINT


def _cursor(visit: Visit) -> str:
    return f"{visit.started_at!r}:{visit.id}"


def _parse_cursor(cursor: str) -> tuple[float, int]:
    started, _, visit_id = cursor.rpartition(":")
    try:
        at, after_id = float(started), int(visit_id)
    except ValueError:
        at, after_id = math.nan, 0
    if not math.isfinite(at) or not 0 <= after_id <= MAX_ID:  # nan/inf or past BIGINT: never from this API
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"not a cursor from this API: {cursor!r}")
    return at, after_id


@router.get("", response_model=VisitPage, summary="Visits by attendee, zone and time (overlapping), paged")
def list_visits(
    session: SessionDep,
    runtime: RuntimeDep,
    caller: VisitsCaller,
    attendee_id: str | None = None,
    zone_id: str | None = None,
    from_: Annotated[float | None, Query(alias="from", description="Visits still going at or after (Unix s)")] = None,
    to: Annotated[float | None, Query(description="Visits that started before (Unix s)")] = None,
    open_only: Annotated[bool, Query(alias="open", description="Only visits still open")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> VisitPage:
    event_id = runtime.settings.event_id
    if from_ is not None and to is not None and to < from_:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "`to` is before `from`")
    query = select(Visit).where(col(Visit.event_id) == event_id)
    anonymous = not caller.is_admin and caller.role != Role.ORGANIZER
    if anonymous and attendee_id is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only organizers look up an attendee's visits")
    if not caller.is_admin and caller.role == Role.EXHIBITOR:
        own = select(Zone.id).where(col(Zone.event_id) == event_id, col(Zone.exhibitor_id) == caller.subject)
        query = query.where(col(Visit.zone_id).in_(own))
    if attendee_id is not None:
        query = query.where(col(Visit.attendee_id) == attendee_id)
    if zone_id is not None:
        query = query.where(col(Visit.zone_id) == zone_id)
    if to is not None:
        query = query.where(col(Visit.started_at) < to)
    if from_ is not None:
        query = query.where(or_(col(Visit.ended_at).is_(None), col(Visit.ended_at) >= from_))
    if open_only:
        query = query.where(col(Visit.ended_at).is_(None))
    if cursor is not None:
        started, last_id = _parse_cursor(cursor)
        query = query.where(
            or_(col(Visit.started_at) > started, and_(col(Visit.started_at) == started, col(Visit.id) > last_id))
        )
    rows = list(session.exec(query.order_by(col(Visit.started_at), col(Visit.id)).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        VisitOut(
            id=v.id or 0,
            attendee_id=None if anonymous else v.attendee_id,
            zone_id=v.zone_id,
            started_at=v.started_at,
            ended_at=v.ended_at,
            dwell_s=v.dwell_s,
        )
        for v in rows
    ]
    return VisitPage(items=items, next_cursor=_cursor(rows[-1]) if more else None)
