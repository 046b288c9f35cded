"""Lead capture for booth staff: capture by badge QR, qualify (questions, rating, notes), list, CSV export.

Every query is scoped to the caller's exhibitor: a lead id of another exhibitor answers 404, the same as
one that does not exist.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field, model_validator
from sqlmodel import Session, col, select

from mobile_api.deps import Booth
from mobile_api.leads import alert_if_hot, lead_json, lead_score_of, leads_csv
from server.store.app_models import ExhibitorUser, Lead, LeadQuestion
from server.store.journeys import Models
from server.store.models import Attendee, AttendeeRole, Exhibitor
from server.usecases.leads import capture
from server.web.deps import RuntimeDep, SessionDep

router = APIRouter(prefix="/app/v1/exhibitor", tags=["app: lead capture"])


class BoothMe(BaseModel):
    exhibitor_id: str
    exhibitor_name: str
    user_id: int | None
    email: str | None
    name: str | None
    role: str


class CaptureIn(BaseModel):
    badge_id: str = Field(min_length=1, max_length=64, description="Read from the badge's QR code, or typed")
    source: str = Field(default="qr", pattern="^(qr|manual)$")


class LeadOut(BaseModel):
    id: int
    exhibitor_id: str
    attendee_id: str | None = Field(description="Only with the attendee's consent to share contact")
    source: str
    captured_by: str
    assigned_to: int | None
    rating: int | None
    notes: str
    answers: dict[str, Any]
    contact_shared: bool
    name: str | None
    email: str | None
    company: str | None
    job_title: str | None
    country: str | None
    hot: bool
    created_at: float
    updated_at: float
    lead_score: float | None = Field(
        default=None, description="Engagement with this exhibitor (docs/scoring.md); on GET /leads/{id} only"
    )


class Captured(LeadOut):
    created: bool = Field(description="false: this attendee was already a lead (nothing changed)")


class LeadChange(BaseModel):
    rating: int | None = Field(default=None, ge=1, le=5, description="1-5; 4 and up is a hot lead")
    notes: str | None = Field(default=None, max_length=5000)
    answers: dict[str, Any] | None = None
    assigned_to: int | None = Field(default=None, description="Exhibitor user id of the rep")


class QuestionIn(BaseModel):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    text: str = Field(min_length=1, max_length=300)
    kind: str = Field(pattern="^(text|choice|yes_no|number)$")
    choices: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=20)
    required: bool = False

    @model_validator(mode="after")
    def _choices(self) -> QuestionIn:
        if (self.kind == "choice") != bool(self.choices):
            raise ValueError("a choice question needs choices, and only a choice question has them")
        return self


class QuestionOut(QuestionIn):
    id: int
    position: int


def _lead(session: Session, booth: Booth, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None or lead.exhibitor_id != booth.exhibitor_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"lead {lead_id} not found")
    return lead


def _questions(session: Session, exhibitor_id: str) -> list[LeadQuestion]:
    query = select(LeadQuestion).where(col(LeadQuestion.exhibitor_id) == exhibitor_id)
    return list(session.exec(query.order_by(col(LeadQuestion.position))))


def check_answers(answers: dict[str, Any], questions: list[LeadQuestion]) -> dict[str, Any]:
    by_key = {q.key: q for q in questions}
    for key, value in answers.items():
        q = by_key.get(key)
        if q is None:
            raise ValueError(f"no question {key!r}")
        if value is None:
            continue
        ok = {
            "text": isinstance(value, str) and len(value) <= 2000,
            "choice": value in q.choices,
            "yes_no": isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
        }[q.kind]
        if not ok:
            hint = f"one of {q.choices}" if q.kind == "choice" else q.kind.replace("_", "/")
            raise ValueError(f"answer to {key!r} must be {hint}")
    return answers


@router.get("/me", response_model=BoothMe, summary="Who I am at which booth")
def booth_me(booth: Booth, session: SessionDep) -> BoothMe:
    exhibitor = session.get(Exhibitor, booth.exhibitor_id)
    u = booth.user
    return BoothMe(exhibitor_id=booth.exhibitor_id, exhibitor_name=exhibitor.name if exhibitor else booth.exhibitor_id,
                   user_id=u.id if u else None, email=u.email if u else None, name=u.name if u else None,
                   role=u.role if u else "admin")  # fmt: skip


@router.post("/leads", response_model=Captured, summary="Capture a lead from a badge QR code (idempotent)",
             responses={200: {"description": "Already a lead"}, 201: {"description": "New lead"}})  # fmt: skip
def capture_lead(body: CaptureIn, booth: Booth, session: SessionDep, runtime: RuntimeDep,
                 response: Response) -> Captured:  # fmt: skip
    badge_id = body.badge_id.strip()
    attendee = session.exec(
        select(Attendee).where(col(Attendee.badge_id) == badge_id, col(Attendee.event_id) == runtime.settings.event_id)
    ).first()
    if attendee is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no attendee with badge {badge_id!r}")
    if str(attendee.role) == AttendeeRole.STAFF.value:
        raise HTTPException(422, "event staff badges are not leads")
    captured = capture(
        session, exhibitor_id=booth.exhibitor_id, attendee=attendee, source=body.source,
        captured_by=booth.actor, assigned_to=booth.user.id if booth.user else None, now=time.time(),
    )  # fmt: skip
    runtime.pipeline.publish(captured.changes)
    lead, created = captured.lead, captured.created
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return Captured(created=created, **lead_json(lead))


@router.get("/leads", response_model=list[LeadOut], summary="My booth's leads, newest first")
def list_leads(booth: Booth, session: SessionDep,
               hot_only: bool = False,
               limit: Annotated[int, Query(ge=1, le=1000)] = 200,
               offset: Annotated[int, Query(ge=0)] = 0) -> list[LeadOut]:  # fmt: skip
    query = select(Lead).where(col(Lead.exhibitor_id) == booth.exhibitor_id)
    if hot_only:
        query = query.where(col(Lead.rating) >= 4)
    rows = session.exec(query.order_by(col(Lead.created_at).desc(), col(Lead.id).desc()).offset(offset).limit(limit))
    return [LeadOut(**lead_json(r)) for r in rows]


@router.get("/leads.csv", summary="My booth's leads as CSV (personal data only where shared)",
            responses={200: {"content": {"text/csv": {}}}})  # fmt: skip
def export_leads(booth: Booth, session: SessionDep) -> Response:
    rows = list(session.exec(select(Lead).where(col(Lead.exhibitor_id) == booth.exhibitor_id).order_by(col(Lead.id))))
    body = leads_csv(rows, _questions(session, booth.exhibitor_id))
    disposition = f'attachment; filename="leads-{booth.exhibitor_id}.csv"'
    return Response(body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})


@router.get("/leads/{lead_id}", response_model=LeadOut, summary="One lead, with its lead score as of now")
def get_lead(lead_id: int, booth: Booth, session: SessionDep, runtime: RuntimeDep) -> LeadOut:
    lead = _lead(session, booth, lead_id)
    scores = runtime.pipeline.scores
    models = scores.models if scores is not None else Models.defaults()
    return LeadOut(**lead_json(lead), lead_score=lead_score_of(session, lead, models, runtime.pipeline.now()))


@router.patch("/leads/{lead_id}", response_model=LeadOut, summary="Qualify: rating, notes, answers, assigned rep")
def qualify(lead_id: int, body: LeadChange, booth: Booth, session: SessionDep, runtime: RuntimeDep) -> LeadOut:
    lead = _lead(session, booth, lead_id)
    changes = body.model_dump(exclude_unset=True)
    if "answers" in changes:
        try:
            merged = {**lead.answers, **check_answers(changes["answers"] or {}, _questions(session, lead.exhibitor_id))}
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        changes["answers"] = merged
    if changes.get("assigned_to") is not None:
        rep = session.get(ExhibitorUser, changes["assigned_to"])
        if rep is None or rep.exhibitor_id != booth.exhibitor_id:
            raise HTTPException(422, "assigned_to is not one of your booth's staff")
    for name, value in changes.items():
        if name == "notes" and value is None:
            value = ""
        setattr(lead, name, value)
    now = time.time()
    lead.updated_at = now
    session.add(lead)
    session.commit()
    session.refresh(lead)
    alert_if_hot(session, runtime.hub, lead, now)
    return LeadOut(**lead_json(lead))


@router.get("/questions", response_model=list[QuestionOut], summary="My booth's qualification questions")
def list_questions(booth: Booth, session: SessionDep) -> list[QuestionOut]:
    return [QuestionOut.model_validate(q, from_attributes=True) for q in _questions(session, booth.exhibitor_id)]


@router.put("/questions", response_model=list[QuestionOut], summary="Replace the questions (booth admins)")
def put_questions(body: list[QuestionIn], booth: Booth, session: SessionDep) -> list[QuestionOut]:
    if not booth.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the exhibitor's admins may change the questions")
    if len(body) > 30:
        raise HTTPException(422, "at most 30 questions")
    keys = [q.key for q in body]
    if len(set(keys)) != len(keys):
        raise HTTPException(422, "question keys must be unique")
    for old in _questions(session, booth.exhibitor_id):
        session.delete(old)
    session.flush()
    for position, q in enumerate(body):
        session.add(LeadQuestion(exhibitor_id=booth.exhibitor_id, position=position, **q.model_dump()))
    session.commit()
    return list_questions(booth, session)
