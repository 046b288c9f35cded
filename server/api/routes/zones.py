"""Zones of the floor plan: rooms, booths, entrances, lounges, staff areas.

A zone is written through the venue importer (a one-zone document), so the rules are those of a venue
file: a booth's exhibitor must exist, a zone holding sessions stays a room. Deleting a zone that devices,
sessions, live enrolment codes or recorded visits still use is refused (409): move or delete those first,
as silently orphaning a device would stop its data from meaning anything.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import ConfigDict
from sqlmodel import Session, col, select

from edge.protocol import ID_PATTERN
from server.api.routes.venue import apply_and_commit, detached, venue_changed
from server.domain.model import ZoneKind
from server.store.models import AgendaSession, Device, EnrolmentCode, Visit, Zone
from server.venue.schema import Venue, ZoneFields, ZoneSpec
from server.web.deps import Organizer, OrganizerOrStaff, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/v1/zones", tags=["venue"])

ZoneId = Annotated[str, Path(pattern=ID_PATTERN, description="1-64 of A-Z a-z 0-9 _ . : -")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such zone"}}


class ZoneOut(ZoneSpec):
    """A stored zone (its kind read back as the enum: the store keeps plain strings)."""

    model_config = ConfigDict(from_attributes=True, extra="ignore")
    event_id: str


def _out(zone: Zone) -> ZoneOut:
    return ZoneOut.model_validate(zone)


def _get(session: Session, zone_id: str, event_id: str) -> Zone:
    zone = session.get(Zone, zone_id)
    if zone is None or zone.event_id != event_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"zone {zone_id!r} not found")
    return zone


@router.get("", response_model=list[ZoneOut], summary="Every zone of the event, by id")
def list_zones(
    session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff, kind: ZoneKind | None = None
) -> list[ZoneOut]:
    query = select(Zone).where(Zone.event_id == runtime.settings.event_id)
    if kind is not None:
        query = query.where(Zone.kind == kind)
    return [_out(zone) for zone in session.exec(query.order_by(col(Zone.id)))]


@router.get("/{zone_id}", response_model=ZoneOut, responses=NOT_FOUND)
def get_zone(zone_id: str, session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff) -> ZoneOut:
    return _out(_get(session, zone_id, runtime.settings.event_id))


@router.put("/{zone_id}", response_model=ZoneOut, summary="Create or change a zone (idempotent)")
def put_zone(zone_id: ZoneId, body: ZoneFields, runtime: RuntimeDep, _caller: Organizer) -> ZoneOut:
    venue = Venue(zones=[ZoneSpec(id=zone_id, **body.model_dump())])
    _report, zone = apply_and_commit(runtime, venue, lambda s: _out(detached(s.get(Zone, zone_id))), strip=2)
    return zone


@router.delete(
    "/{zone_id}",
    status_code=204,
    summary="Delete an unused zone",
    responses={**NOT_FOUND, 409: {"description": "devices, sessions, enrolment codes or visits use the zone"}},
)
def delete_zone(zone_id: str, session: SessionDep, runtime: RuntimeDep, _caller: Organizer) -> None:
    zone = _get(session, zone_id, runtime.settings.event_id)
    now = time.time()
    users = [
        ("devices", list(session.exec(select(col(Device.id)).where(Device.zone_id == zone_id).limit(5)))),
        (
            "sessions",
            list(session.exec(select(col(AgendaSession.id)).where(AgendaSession.zone_id == zone_id).limit(5))),
        ),
    ]
    live_codes = select(col(EnrolmentCode.code_hash)).where(
        EnrolmentCode.zone_id == zone_id, col(EnrolmentCode.used_at).is_(None), EnrolmentCode.expires_at > now
    )
    if session.exec(live_codes.limit(1)).first() is not None:
        users.append(("enrolment codes", ["an unused code"]))
    if session.exec(
        select(col(Visit.id)).where(Visit.event_id == zone.event_id, Visit.zone_id == zone_id).limit(1)
    ).first():
        users.append(("visits", ["recorded visits"]))
    in_use = [f"{what} {', '.join(ids)}" for what, ids in users if ids]
    if in_use:
        raise HTTPException(status.HTTP_409_CONFLICT, f"zone {zone_id!r} is in use by " + "; ".join(in_use))
    # Spent codes only remember the zone they were issued for: let go of it.
    for code in session.exec(select(EnrolmentCode).where(EnrolmentCode.zone_id == zone_id)):
        code.zone_id = None
        session.add(code)
    session.flush()
    session.delete(zone)
    session.commit()
    venue_changed(runtime)
