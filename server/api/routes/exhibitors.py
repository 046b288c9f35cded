"""Exhibitors: the companies owning booths (a booth names its exhibitor, see the zones routes).

No delete yet: leads, scores and tokens will refer to exhibitors, and removing one is a decision about all
of those, made when lead capture arrives.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from sqlmodel import col, select

from edge.protocol import ID_PATTERN
from server.api.routes.venue import apply_and_commit, detached
from server.store.models import Exhibitor
from server.venue.schema import ExhibitorFields, ExhibitorSpec, Venue
from server.web.deps import Organizer, OrganizerOrStaff, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/v1/exhibitors", tags=["venue"])

ExhibitorId = Annotated[str, Path(pattern=ID_PATTERN, description="1-64 of A-Z a-z 0-9 _ . : -")]


@router.get("", response_model=list[Exhibitor], summary="Every exhibitor of the event, by id")
def list_exhibitors(session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff) -> list[Exhibitor]:
    query = select(Exhibitor).where(Exhibitor.event_id == runtime.settings.event_id).order_by(col(Exhibitor.id))
    return list(session.exec(query))


@router.get("/{exhibitor_id}", response_model=Exhibitor, responses={404: {"description": "no such exhibitor"}})
def get_exhibitor(exhibitor_id: str, session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff) -> Exhibitor:
    exhibitor = session.get(Exhibitor, exhibitor_id)
    if exhibitor is None or exhibitor.event_id != runtime.settings.event_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"exhibitor {exhibitor_id!r} not found")
    return exhibitor


@router.put("/{exhibitor_id}", response_model=Exhibitor, summary="Create or change an exhibitor (idempotent)")
def put_exhibitor(
    exhibitor_id: ExhibitorId, body: ExhibitorFields, runtime: RuntimeDep, _caller: Organizer
) -> Exhibitor:
    venue = Venue(exhibitors=[ExhibitorSpec(id=exhibitor_id, **body.model_dump())])
    _report, exhibitor = apply_and_commit(runtime, venue, lambda s: detached(s.get(Exhibitor, exhibitor_id)), strip=2)
    return exhibitor
