"""The whole venue as one document: export it, or import one (an idempotent upsert, see docs/venue.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlmodel import Session, SQLModel, col, select

from edge.protocol import MessageKind, topic_for
from server.api.routes.devices import device_config
from server.runtime import Runtime
from server.store.models import Device
from server.venue.importer import apply_venue, export_venue
from server.venue.report import ImportReport
from server.venue.schema import Venue, VenueError, parse_venue
from server.web.deps import Organizer, OrganizerOrStaff, RuntimeDep

router = APIRouter(prefix="/api/v1/venue", tags=["venue"])
T = TypeVar("T")
M = TypeVar("M", bound=SQLModel)

VENUE_EXAMPLE = {
    "event": {
        "id": "demo",
        "name": "DevConf Berlin 2026",
        "timezone": "Europe/Berlin",
        "starts_at": "2026-06-10T08:30:00+02:00",
        "ends_at": "2026-06-10T18:00:00+02:00",
    },
    "exhibitors": [{"id": "exh-cloudnine", "name": "CloudNine", "interests": ["cloud"]}],
    "zones": [
        {"id": "room-a", "name": "Room A", "kind": "room", "x": 38, "y": 0, "width": 19, "height": 22},
        {
            "id": "booth-01",
            "name": "Booth 1",
            "kind": "booth",
            "x": 4,
            "y": 32,
            "width": 9,
            "height": 7,
            "exhibitor_id": "exh-cloudnine",
        },
    ],
    "sessions": [
        {
            "id": "s-a-1030",
            "title": "Scaling cloud",
            "zone_id": "room-a",
            "starts_at": "2026-06-10T10:30:00+02:00",
            "ends_at": "2026-06-10T11:15:00+02:00",
            "tags": ["cloud"],
        },
    ],
    "devices": [{"id": "room-a-1", "name": "Room A", "zone_id": "room-a", "x": 47.5, "y": 11}],
}


def venue_problem(exc: VenueError, strip: int = 0, location: str = "body") -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, one entry per problem, each with its path.

    ``strip`` drops the leading ``("zones", 0)`` when a one-item document stands for a single resource.
    """
    detail = []
    for path, message in exc.problems:
        loc: Sequence[str | int] = path[strip:] if path[:1] != ("event",) else path
        detail.append({"loc": [location, *loc], "msg": message, "type": "value_error"})
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


def apply_and_commit(
    runtime: Runtime, venue: Venue, read: Callable[[Session], T], strip: int = 0
) -> tuple[ImportReport, T]:
    """Import ``venue`` in one transaction, commit, and let ingest (and devices) see the change.

    ``read(session)`` runs after the import and before the commit: what the route returns, detached.
    """
    with Session(runtime.engine) as session:
        try:
            report = apply_venue(session, venue, event_id=runtime.settings.event_id)
        except VenueError as exc:
            raise venue_problem(exc, strip) from None
        result = read(session)
        session.commit()
        publish_device_configs(runtime, session, report.changed_devices)
    venue_changed(runtime)
    return report, result


def venue_changed(runtime: Runtime) -> None:
    """Caches of devices, zones and badges (ingest's directory, live presence) reload after our writes."""
    runtime.pipeline.venue_changed()


def detached(row: M | None) -> M:
    """A copy that outlives the session (the route returns it after the commit expired the original)."""
    assert row is not None  # just written in this transaction
    return type(row).model_validate(row, from_attributes=True)


def publish_device_configs(runtime: Runtime, session: Session, device_ids: Sequence[str]) -> None:
    """A device placed in another zone learns it from its retained config message (when ingest runs here)."""
    if runtime.ingest is None or not device_ids:
        return
    prefix = runtime.settings.mqtt_topic_prefix
    for device in session.exec(select(Device).where(col(Device.id).in_(list(device_ids)))):
        topic = topic_for(MessageKind.CONFIG, device.event_id, device.id, prefix)
        runtime.ingest.publish(topic, device_config(device).to_json(), retain=True)


@router.get(
    "",
    response_model=Venue,
    summary="The venue as one document (times in the event's time zone)",
    responses={404: {"description": "the event is not set up yet"}},
)
def get_venue(runtime: RuntimeDep, _caller: OrganizerOrStaff) -> JSONResponse:
    try:
        venue = export_venue(runtime.engine, runtime.settings.event_id)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return JSONResponse(venue.to_document())


@router.put(
    "",
    response_model=ImportReport,
    summary="Import a venue document (idempotent upsert; nothing is deleted)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Venue"}, "example": VENUE_EXAMPLE}
            },
        }
    },
)
async def put_venue(request: Request, runtime: RuntimeDep, _caller: Organizer) -> ImportReport:
    """Every problem is reported at once (422, each with its path, e.g. `sessions[3].zone_id`); nothing is
    written unless the whole document is valid. Devices whose placement changed get a new retained config."""
    try:
        data = await request.json()
    except ValueError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body is not JSON") from None
    try:
        venue = parse_venue(data)
    except VenueError as exc:
        raise venue_problem(exc) from None

    report, _ = await run_in_threadpool(apply_and_commit, runtime, venue, _nothing)
    return report


def _nothing(_session: Session) -> None:
    return None
