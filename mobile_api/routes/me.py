"""My profile and interests, my badge's QR code, consent with its audit trail, my journey, export and erasure."""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field

from mobile_api.deps import Me
from mobile_api.qr import qr_svg
from server.usecases.consent import PURPOSES, consent_history, consents_of, set_consents
from server.usecases.erasure import erase, erased, export
from server.web.deps import RuntimeDep, SessionDep
from server.web.journey_view import JourneyOut, journey_view

router = APIRouter(prefix="/app/v1/me", tags=["app: me"])

Tag = str
MAX_INTERESTS = 30


class Consents(BaseModel):
    tracking: bool = Field(description="Presence from my badge's beacon (zones, dwell)")
    push: bool = Field(description="Notifications on my phone")
    share_contact: bool = Field(description="Exhibitors I meet (and the event's CRM) get my contact details")
    networking: bool = Field(description="Other attendees may find me and ask to connect")
    email: bool = Field(description="Marketing email")


class ConsentChange(BaseModel):
    tracking: bool | None = None
    push: bool | None = None
    share_contact: bool | None = None
    networking: bool | None = None
    email: bool | None = None


class ConsentEntry(BaseModel):
    purpose: str
    granted: bool
    at: float
    source: str


class ConsentOut(BaseModel):
    consents: Consents
    history: list[ConsentEntry]


class Profile(BaseModel):
    id: str
    name: str
    email: str | None
    company: str | None
    job_title: str | None
    country: str | None
    role: str
    badge_id: str | None
    tags: list[str]
    interests: list[str]
    consents: Consents


class ProfileChange(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    job_title: str | None = Field(default=None, max_length=200)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    interests: list[str] | None = Field(default=None, max_length=MAX_INTERESTS)


def _profile(me: Any, consents: dict[str, bool]) -> Profile:
    return Profile(id=me.id, name=me.name, email=me.email, company=me.company, job_title=me.job_title,
                   country=me.country, role=str(me.role), badge_id=me.badge_id, tags=list(me.tags),
                   interests=list(me.interests), consents=Consents(**consents))  # fmt: skip


@router.get("", response_model=Profile, summary="My profile, interests and consents")
def get_me(me: Me, session: SessionDep) -> Profile:
    return _profile(me, consents_of(session, me))


@router.patch("", response_model=Profile, summary="Change my profile or interests")
def patch_me(body: ProfileChange, me: Me, session: SessionDep) -> Profile:
    changes = body.model_dump(exclude_unset=True)
    if "interests" in changes:
        cleaned = []
        for tag in changes["interests"] or []:
            tag = str(tag).strip().lower()
            if not tag or len(tag) > 50:
                raise HTTPException(422, "an interest is 1-50 characters")
            if tag not in cleaned:
                cleaned.append(tag)
        changes["interests"] = cleaned
    for name, value in changes.items():
        if name == "name" and value is None:
            raise HTTPException(422, "name cannot be empty")
        setattr(me, name, value)
    session.add(me)
    session.commit()
    session.refresh(me)
    return _profile(me, consents_of(session, me))


@router.get("/badge.svg", summary="My badge id as a QR code (SVG), for exhibitors to scan",
            responses={200: {"content": {"image/svg+xml": {}}}})  # fmt: skip
def badge_qr(me: Me) -> Response:
    if not me.badge_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no badge has been issued to you yet")
    return Response(qr_svg(me.badge_id), media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/consent", response_model=ConsentOut, summary="My consents and their history")
def get_consent(me: Me, session: SessionDep) -> ConsentOut:
    history = [ConsentEntry(purpose=r.purpose, granted=r.granted, at=r.at, source=r.source)
               for r in consent_history(session, me.id)]  # fmt: skip
    return ConsentOut(consents=Consents(**consents_of(session, me)), history=history)


@router.put("/consent", response_model=ConsentOut, summary="Grant or withdraw consent (takes effect at once)")
def put_consent(body: ConsentChange, me: Me, session: SessionDep, runtime: RuntimeDep) -> ConsentOut:
    changes = {k: v for k, v in body.model_dump().items() if v is not None and k in PURPOSES}
    if not changes:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"name at least one purpose: {', '.join(PURPOSES)}")
    runtime.pipeline.publish(set_consents(session, me, changes, "app", time.time()).changes)
    return get_consent(me, session)


@router.get("/journey", response_model=JourneyOut, summary="My journey: the timeline organizers see, about me")
def my_journey(me: Me, session: SessionDep, runtime: RuntimeDep) -> JourneyOut:
    return journey_view(session, runtime, me)


@router.get("/export", summary="Everything stored about me, as JSON (right of access)")
def export_me(me: Me, session: SessionDep, runtime: RuntimeDep) -> Response:
    body = {"exported_at": time.time(), "event_id": runtime.settings.event_id, **export(session, me)}
    return Response(orjson.dumps(body), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="touchpoints-{me.id}.json"'})  # fmt: skip


class Erased(BaseModel):
    erased: dict[str, int] = Field(
        description="Rows deleted per table; `salesforce_delete` or `salesforce_anonymise`: 1 when my record in "
        "the event's Salesforce is queued to be deleted or anonymised (docs/privacy.md)"
    )


@router.delete("", response_model=Erased, summary="Delete my account and every record about me (erasure)")
def delete_me(me: Me, session: SessionDep, runtime: RuntimeDep) -> Erased:
    attendee_id = me.id
    counts = erase(session, me, runtime.settings.salesforce_erasure)
    runtime.pipeline.publish(erased(attendee_id))
    return Erased(erased=counts)
