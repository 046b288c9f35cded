"""The event (conference) this server runs."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field, field_validator, model_validator

from server.store.models import Event
from server.venue.schema import EARLIEST_S, LATEST_S, known_time_zone, ordered_times
from server.web.deps import Organizer, OrganizerOrStaff, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/v1/event", tags=["event"])


class EventIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(default="UTC", max_length=64, description="IANA zone, e.g. Europe/Berlin")
    # The venue document accepts the same range and zones: what is stored here must export (GET /api/v1/venue).
    starts_at: float = Field(ge=EARLIEST_S, le=LATEST_S, description="Unix seconds (2020-2100)")
    ends_at: float = Field(ge=EARLIEST_S, le=LATEST_S, description="Unix seconds (2020-2100)")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_time_zone(value)

    @model_validator(mode="after")
    def _ordered(self) -> EventIn:
        ordered_times(self.starts_at, self.ends_at)
        return self


@router.get("", response_model=Event)
def get_event(session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff) -> Event:
    event = session.get(Event, runtime.settings.event_id)
    if event is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"event {runtime.settings.event_id!r} is not set up yet")
    return event


@router.put("", response_model=Event, summary="Create or update the event (idempotent)")
def put_event(body: EventIn, session: SessionDep, runtime: RuntimeDep, _caller: Organizer) -> Event:
    event = session.get(Event, runtime.settings.event_id) or Event(id=runtime.settings.event_id, **body.model_dump())
    for key, value in body.model_dump().items():
        setattr(event, key, value)
    session.add(event)
    session.commit()
    session.refresh(event)
    return event
