"""Attendees for organizers: search, profile with consent and score, visits."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel
from sqlalchemy import func, or_
from sqlmodel import col, select

from server.store.models import Attendee, AttendeeScore, Visit
from server.web.deps import Organizer, RuntimeDep, SessionDep
from server.web.journey_view import JourneyOut, journey_view

router = APIRouter(prefix="/api/v1/attendees", tags=["attendees"])


class AttendeeSummary(BaseModel):
    id: str
    name: str
    company: str | None
    role: str
    tags: list[str]
    score: float | None
    grade: str | None
    stage: str | None


class AttendeeDetail(AttendeeSummary):
    email: str | None
    job_title: str | None
    country: str | None
    interests: list[str]
    badge_id: str | None
    consent_tracking: bool
    consent_push: bool
    consent_crm: bool
    registered_at: float
    score_breakdown: dict[str, Any] | None
    current_zone_id: str | None


class VisitOut(BaseModel):
    zone_id: str
    started_at: float
    ended_at: float | None
    dwell_s: float | None


class AttendeePage(BaseModel):
    total: int
    items: list[AttendeeSummary]


def _summary(a: Attendee, s: AttendeeScore | None) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "company": a.company,
        "role": str(a.role),
        "tags": a.tags,
        "score": s.score if s else None,
        "grade": s.grade if s else None,
        "stage": s.stage if s else None,
    }


@router.get("", response_model=AttendeePage, summary="Search attendees by name, email, company or badge")
def search_attendees(
    session: SessionDep,
    runtime: RuntimeDep,
    _caller: Organizer,
    q: Annotated[str | None, Query(max_length=100, description="Case-insensitive substring")] = None,
    order: Annotated[str, Query(pattern="^(name|score)$")] = "name",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AttendeePage:
    query = (
        select(Attendee, AttendeeScore)
        .join(AttendeeScore, col(AttendeeScore.attendee_id) == col(Attendee.id), isouter=True)
        .where(col(Attendee.event_id) == runtime.settings.event_id)
    )
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(
            or_(
                func.lower(Attendee.name).like(pattern),
                func.lower(func.coalesce(Attendee.email, "")).like(pattern),
                func.lower(func.coalesce(Attendee.company, "")).like(pattern),
                func.lower(func.coalesce(Attendee.badge_id, "")).like(pattern),
                func.lower(Attendee.id).like(pattern),
            )
        )
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    if order == "score":
        query = query.order_by(col(AttendeeScore.score).desc().nulls_last(), col(Attendee.name))
    else:
        query = query.order_by(col(Attendee.name), col(Attendee.id))
    rows = session.exec(query.offset(offset).limit(limit)).all()
    return AttendeePage(total=int(total), items=[AttendeeSummary(**_summary(a, s)) for a, s in rows])


@router.get("/{attendee_id}", response_model=AttendeeDetail)
def get_attendee(attendee_id: str, session: SessionDep, runtime: RuntimeDep, _caller: Organizer) -> AttendeeDetail:
    attendee = session.get(Attendee, attendee_id)
    if attendee is None or attendee.event_id != runtime.settings.event_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"attendee {attendee_id!r} not found")
    score = session.get(AttendeeScore, attendee_id)
    return AttendeeDetail(
        **_summary(attendee, score),
        email=attendee.email,
        job_title=attendee.job_title,
        country=attendee.country,
        interests=attendee.interests,
        badge_id=attendee.badge_id,
        consent_tracking=attendee.consent_tracking,
        consent_push=attendee.consent_push,
        consent_crm=attendee.consent_crm,
        registered_at=attendee.registered_at,
        score_breakdown=score.breakdown if score else None,
        current_zone_id=runtime.pipeline.zone_of(attendee_id),
    )


@router.get("/{attendee_id}/visits", response_model=list[VisitOut], summary="Zone visits, oldest first")
def attendee_visits(attendee_id: str, session: SessionDep, _caller: Organizer) -> list[Visit]:
    query = select(Visit).where(col(Visit.attendee_id) == attendee_id).order_by(col(Visit.started_at))
    return list(session.exec(query))


@router.get("/{attendee_id}/journey", response_model=JourneyOut, summary="Timeline, stage and score breakdown")
def attendee_journey(attendee_id: str, session: SessionDep, runtime: RuntimeDep, _caller: Organizer) -> JourneyOut:
    attendee = session.get(Attendee, attendee_id)
    if attendee is None or attendee.event_id != runtime.settings.event_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"attendee {attendee_id!r} not found")
    return journey_view(session, runtime, attendee)
