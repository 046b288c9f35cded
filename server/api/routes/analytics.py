"""Analytics for organizers (everything) and exhibitors (their own booths only).

Thin: load plain values from the store, let server/domain/analytics.py and attendance.py compute.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from sqlmodel import Session, col, select

from server.domain import analytics
from server.domain import model as domain
from server.domain.attendance import session_attendance, session_report
from server.domain.checkin import check_in_places
from server.store.journeys import load_journeys
from server.store.models import (
    NOT_A_SIGHTING,
    Attendee,
    AttendeeRole,
    AttendeeScore,
    Role,
    SessionRegistration,
    Touchpoint,
    Visit,
)
from server.store.venue import Venue, load_venue
from server.web.deps import Organizer, OrganizerOrExhibitor, OrganizerOrStaff, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

# Conversion paths build whole journeys: cap how many converted attendees one request examines.
MAX_CONVERSIONS_EXAMINED = 2000
# The replay slider asks for a day in minutes at most; finer steps are a mistake, not a wish.
MIN_OCCUPANCY_STEP_S = 10.0


def _visits(session: Session, event_id: str, zone_ids: set[str] | None = None) -> list[domain.Visit]:
    query = select(Visit).where(col(Visit.event_id) == event_id)
    if zone_ids is not None:
        query = query.where(col(Visit.zone_id).in_(zone_ids))
    return [domain.Visit(v.attendee_id, v.zone_id, v.started_at, v.ended_at) for v in session.exec(query)]


def _attendees(session: Session, event_id: str) -> list[Attendee]:
    query = select(Attendee).where(col(Attendee.event_id) == event_id, col(Attendee.role) != AttendeeRole.STAFF.value)
    return list(session.exec(query))


def _at(readers: list[str]) -> Any:
    """Touchpoints from these readers that belong to a known attendee."""
    return col(Touchpoint.device_id).in_(readers) & col(Touchpoint.attendee_id).is_not(None)


def checked_in(session: Session, venue: Venue, event_id: str) -> set[str]:
    """Attendees with a check-in, as the journey defines it (:mod:`server.domain.checkin`), asked of the store:
    a tap at a reader in a check-in zone, or a visit to one."""
    places = check_in_places(venue.zones, venue.tap_zone)
    tapped = session.exec(
        select(Touchpoint.attendee_id).where(
            col(Touchpoint.event_id) == event_id,
            col(Touchpoint.type) == "tap",
            NOT_A_SIGHTING,
            col(Touchpoint.device_id).in_(places.reader_ids),
            col(Touchpoint.attendee_id).is_not(None),
        )
    )
    visited = session.exec(
        select(Visit.attendee_id).where(col(Visit.event_id) == event_id, col(Visit.zone_id).in_(places.zone_ids))
    )
    return {a for a in tapped if a} | set(visited)


@router.get("/attendance", summary="Registered versus checked in")
def attendance(session: SessionDep, runtime: RuntimeDep, _caller: Organizer) -> dict[str, Any]:
    event_id = runtime.settings.event_id
    venue = load_venue(session, event_id)
    registered = {a.id for a in _attendees(session, event_id)}
    return asdict(analytics.registration_attendance(registered, checked_in(session, venue, event_id) & registered))


@router.get("/sessions", summary="Per session: registered, attended, no-shows, fill, average share and dwell")
def sessions(session: SessionDep, runtime: RuntimeDep, _caller: Organizer) -> list[dict[str, Any]]:
    event_id = runtime.settings.event_id
    venue = load_venue(session, event_id)
    rooms = {s.zone_id for s in venue.sessions}
    readers = [s.id for s in venue.scanners if s.zone_id in rooms]
    taps = [
        domain.Tap(t.attendee_id, t.device_id, t.occurred_at)
        for t in session.exec(
            select(Touchpoint).where(
                col(Touchpoint.type) == "tap", NOT_A_SIGHTING, col(Touchpoint.device_id).in_(readers)
            )
        )
        if t.attendee_id and t.device_id
    ]
    attendances = session_attendance(
        _visits(session, event_id, rooms), venue.sessions, taps, venue.tap_zone, now=runtime.pipeline.now()
    )
    registrations: dict[str, set[str]] = {}
    for reg in session.exec(select(SessionRegistration)):
        registrations.setdefault(reg.session_id, set()).add(reg.attendee_id)
    reports = session_report(venue.sessions, registrations, attendances, zones=venue.zones)
    return [_report(r) for r in analytics.session_fill(reports)]


def _report(report: Any) -> dict[str, Any]:
    values = asdict(report)
    values["no_shows"] = len(report.no_shows)  # counts: who did not come is for the CRM sync, not this view
    values["walk_ins"] = len(report.walk_ins)
    return values


@router.get("/booths", summary="Visits, unique visitors and dwell per booth (exhibitors: their own)")
def booths(
    session: SessionDep,
    runtime: RuntimeDep,
    caller: OrganizerOrExhibitor,
    by: Annotated[str, Query(pattern="^(zone|exhibitor)$")] = "zone",
) -> list[dict[str, Any]]:
    event_id = runtime.settings.event_id
    venue = load_venue(session, event_id)
    zones = [z for z in venue.zones if z.kind == domain.ZoneKind.BOOTH]
    if not caller.is_admin and caller.role == Role.EXHIBITOR:
        zones = [z for z in zones if z.exhibitor_id == caller.subject]
    visits = _visits(session, event_id, {z.id for z in zones})
    if by == "exhibitor":
        rows = analytics.exhibitor_traffic(visits, zones, now=runtime.pipeline.now())
    else:
        rows = analytics.booth_traffic(visits, zones, now=runtime.pipeline.now())
    return [asdict(r) for r in rows]


@router.get("/top-attendees", summary="The most engaged attendees")
def top_attendees(
    session: SessionDep, runtime: RuntimeDep, _caller: Organizer, n: Annotated[int, Query(ge=1, le=500)] = 10
) -> list[dict[str, Any]]:
    scores = {
        s.attendee_id: s.score
        for s in session.exec(select(AttendeeScore).where(col(AttendeeScore.event_id) == runtime.settings.event_id))
    }
    names = {a.id: a.name for a in session.exec(select(Attendee).where(col(Attendee.id).in_(list(scores))))}
    return [
        {"rank": e.rank, "attendee_id": e.attendee_id, "name": names.get(e.attendee_id), "score": float(e.score)}
        for e in analytics.top_engaged(scores, n)
    ]


@router.get("/funnel", summary="Attendees per journey stage and the conversion between stages")
def funnel(session: SessionDep, runtime: RuntimeDep, _caller: Organizer) -> list[dict[str, Any]]:
    event_id = runtime.settings.event_id
    stored = {
        s.attendee_id: s.stage
        for s in session.exec(select(AttendeeScore).where(col(AttendeeScore.event_id) == event_id))
    }
    models = runtime.pipeline.scores.models if runtime.pipeline.scores else None
    stage_model = models.stages if models else _default_stages()
    first = stage_model.names[0]
    stages = {a.id: stored.get(a.id, first) for a in _attendees(session, event_id)}
    return [asdict(step) for step in analytics.funnel(stages, stage_model)]


def _default_stages() -> Any:
    from server.config.load import default_stage_model

    return default_stage_model()


@router.get("/conversion-paths", summary="The most common touchpoint sequences before a lead scan or meeting")
def conversion_paths(
    session: SessionDep, runtime: RuntimeDep, _caller: Organizer, top: Annotated[int, Query(ge=1, le=100)] = 10
) -> list[dict[str, Any]]:
    event_id = runtime.settings.event_id
    converted = session.exec(
        select(Touchpoint.attendee_id)
        .where(col(Touchpoint.event_id) == event_id, col(Touchpoint.type).in_(["lead_scan", "meeting"]), NOT_A_SIGHTING)
        .distinct()
        .limit(MAX_CONVERSIONS_EXAMINED)
    )
    ids = [a for a in converted if a]
    venue = load_venue(session, event_id)
    now = runtime.pipeline.now()
    people = list(session.exec(select(Attendee).where(col(Attendee.id).in_(ids))))
    journeys = [journey.entries for journey in load_journeys(session, people, venue, now)]
    rows = analytics.preceding_sequences(journeys, venue.zones, top=top)
    return [{"sequence": list(r.sequence), "count": r.count, "share": r.share} for r in rows]


@router.get("/occupancy", summary="People per zone over time, for the replay slider")
def occupancy(
    session: SessionDep,
    runtime: RuntimeDep,
    _caller: OrganizerOrStaff,
    t0: float,
    t1: float,
    step_s: Annotated[float, Query(ge=MIN_OCCUPANCY_STEP_S)] = 60.0,
) -> dict[str, Any]:
    if t1 < t0:
        raise HTTPException(422, "t1 must not be before t0")
    if (t1 - t0) / step_s > analytics.MAX_SERIES_POINTS:
        raise HTTPException(422, f"at most {analytics.MAX_SERIES_POINTS} points: raise step_s or narrow t0..t1")
    visits = _visits(session, runtime.settings.event_id)
    series = analytics.occupancy(visits, t0, t1, step_s, now=runtime.pipeline.now())
    return {"times": list(series.times), "counts": {k: list(v) for k, v in series.counts.items()}}
