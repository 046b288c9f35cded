"""My connections: ask to connect, accept, remove. Mutual opt-in: nothing is shared until both agreed.

A request reaches only attendees who consent to networking; the answer for someone who does not is the same
404 as for nobody, so the API cannot be used to learn who is registered.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import or_
from sqlmodel import Session, col, select

from mobile_api.deps import Me
from server.store.models import Attendee
from server.store.rules_models import AttendeeConnection, ConnectionStatus
from server.usecases.consent import consents_of
from server.web.deps import RuntimeDep, SessionDep

router = APIRouter(prefix="/app/v1/me/connections", tags=["app: connections"])


class ConnectIn(BaseModel):
    attendee_id: str | None = Field(default=None, max_length=64)
    badge_id: str | None = Field(default=None, max_length=64, description="From the other's badge QR code")

    @model_validator(mode="after")
    def _one(self) -> ConnectIn:
        if not self.attendee_id and not self.badge_id:
            raise ValueError("give the attendee_id or the badge_id of the person to connect with")
        return self


class ConnectionOut(BaseModel):
    attendee_id: str
    name: str
    company: str | None = Field(description="Shown once the connection is accepted")
    email: str | None = Field(description="Shown once the connection is accepted")
    status: str = Field(description="pending | accepted")
    direction: str = Field(description="outgoing (I asked) | incoming (they asked)")
    requested_at: float
    accepted_at: float | None


def _pair(a: str, b: str) -> tuple[str, str]:
    first, second = sorted((a, b))
    return first, second


def _find(session: Session, a: str, b: str) -> AttendeeConnection | None:
    first, second = _pair(a, b)
    return session.exec(
        select(AttendeeConnection).where(
            col(AttendeeConnection.attendee_a) == first, col(AttendeeConnection.attendee_b) == second
        )
    ).first()


def _out(session: Session, me: Attendee, row: AttendeeConnection) -> ConnectionOut:
    other_id = row.attendee_b if row.attendee_a == me.id else row.attendee_a
    other = session.get(Attendee, other_id)
    accepted = row.status == ConnectionStatus.ACCEPTED.value
    return ConnectionOut(
        attendee_id=other_id, name=other.name if other else "(deleted)",
        company=other.company if other and accepted else None, email=other.email if other and accepted else None,
        status=row.status, direction="outgoing" if row.requested_by == me.id else "incoming",
        requested_at=row.requested_at, accepted_at=row.accepted_at,
    )  # fmt: skip


@router.get("", response_model=list[ConnectionOut], summary="My connections and pending requests")
def list_connections(me: Me, session: SessionDep) -> list[ConnectionOut]:
    rows = session.exec(
        select(AttendeeConnection)
        .where(or_(col(AttendeeConnection.attendee_a) == me.id, col(AttendeeConnection.attendee_b) == me.id))
        .order_by(col(AttendeeConnection.requested_at))
    )
    return [_out(session, me, r) for r in rows]


@router.post("", response_model=ConnectionOut, status_code=201,
             summary="Ask to connect (accepts at once if they had asked me)")  # fmt: skip
def connect(body: ConnectIn, me: Me, session: SessionDep, runtime: RuntimeDep) -> ConnectionOut:
    if not consents_of(session, me)["networking"]:
        raise HTTPException(status.HTTP_409_CONFLICT, "turn on networking in your consent settings first")
    if body.attendee_id:
        other = session.get(Attendee, body.attendee_id)
    else:
        other = session.exec(select(Attendee).where(col(Attendee.badge_id) == body.badge_id)).first()
    if other is None or other.event_id != me.event_id or not consents_of(session, other)["networking"]:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no attendee open to networking with that id")
    if other.id == me.id:
        raise HTTPException(422, "you cannot connect with yourself")
    now = time.time()
    row = _find(session, me.id, other.id)
    if row is None:
        first, second = _pair(me.id, other.id)
        row = AttendeeConnection(event_id=runtime.settings.event_id, attendee_a=first, attendee_b=second,
                                 requested_by=me.id, requested_at=now)  # fmt: skip
    elif row.status == ConnectionStatus.PENDING.value and row.requested_by != me.id:
        row.status, row.accepted_at = ConnectionStatus.ACCEPTED.value, now  # they asked first: both agree now
    session.add(row)
    session.commit()
    session.refresh(row)
    return _out(session, me, row)


@router.post("/{attendee_id}/accept", response_model=ConnectionOut, summary="Accept someone's request")
def accept(attendee_id: str, me: Me, session: SessionDep) -> ConnectionOut:
    row = _find(session, me.id, attendee_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no connection request from {attendee_id!r}")
    if row.status == ConnectionStatus.PENDING.value:
        if row.requested_by == me.id:
            raise HTTPException(status.HTTP_409_CONFLICT, "you asked; the other attendee has to accept")
        row.status, row.accepted_at = ConnectionStatus.ACCEPTED.value, time.time()
        session.add(row)
        session.commit()
        session.refresh(row)
    return _out(session, me, row)


@router.delete("/{attendee_id}", status_code=204, summary="Remove a connection, decline or withdraw a request")
def remove(attendee_id: str, me: Me, session: SessionDep) -> None:
    row = _find(session, me.id, attendee_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no connection with {attendee_id!r}")
    session.delete(row)
    session.commit()
