"""Exhibitor staff accounts: organizers create them for any exhibitor, a booth's admins for their own booth."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlmodel import Session, col, select

from mobile_api.auth import sign_out_everywhere
from mobile_api.deps import BoothAdmin
from mobile_api.routes.auth import Email
from server.store.app_models import AccountKind, ExhibitorUser, ExhibitorUserRole
from server.store.models import Exhibitor
from server.web.deps import Organizer, SessionDep

router = APIRouter(prefix="/app/v1", tags=["app: exhibitor staff"])


class StaffIn(BaseModel):
    email: Email
    name: str = Field(default="", max_length=200)
    role: ExhibitorUserRole = ExhibitorUserRole.REP


class StaffAdminIn(StaffIn):
    exhibitor_id: str = Field(max_length=64)


class StaffOut(BaseModel):
    id: int
    exhibitor_id: str
    email: str
    name: str
    role: str
    created_at: float
    disabled_at: float | None


def _create(session: Session, exhibitor_id: str, body: StaffIn) -> StaffOut:
    if session.get(Exhibitor, exhibitor_id) is None:
        raise HTTPException(422, f"exhibitor {exhibitor_id!r} does not exist")
    taken = session.exec(select(ExhibitorUser).where(func.lower(ExhibitorUser.email) == body.email.lower())).first()
    if taken is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{body.email} already has an exhibitor account")
    user = ExhibitorUser(exhibitor_id=exhibitor_id, email=body.email, name=body.name, role=body.role.value,
                         created_at=time.time())  # fmt: skip
    session.add(user)
    session.commit()
    session.refresh(user)
    return StaffOut.model_validate(user, from_attributes=True)


def _disable(session: Session, user: ExhibitorUser) -> None:
    now = time.time()
    user.disabled_at = user.disabled_at or now
    session.add(user)
    session.commit()
    sign_out_everywhere(session, AccountKind.EXHIBITOR_USER, str(user.id), now)


@router.post("/admin/exhibitor-users", response_model=StaffOut, status_code=201, tags=["app: admin"],
             summary="Create an exhibitor staff account (organizers)")  # fmt: skip
def admin_create(body: StaffAdminIn, session: SessionDep, _caller: Organizer) -> StaffOut:
    return _create(session, body.exhibitor_id, body)


@router.get("/admin/exhibitor-users", response_model=list[StaffOut], tags=["app: admin"])
def admin_list(session: SessionDep, _caller: Organizer) -> list[StaffOut]:
    rows = session.exec(select(ExhibitorUser).order_by(col(ExhibitorUser.exhibitor_id), col(ExhibitorUser.id)))
    return [StaffOut.model_validate(u, from_attributes=True) for u in rows]


@router.get("/exhibitor/users", response_model=list[StaffOut], tags=["app: lead capture"],
            summary="My booth's staff (booth admins)")  # fmt: skip
def booth_list(booth: BoothAdmin, session: SessionDep) -> list[StaffOut]:
    rows = session.exec(
        select(ExhibitorUser)
        .where(col(ExhibitorUser.exhibitor_id) == booth.exhibitor_id)
        .order_by(col(ExhibitorUser.id))
    )
    return [StaffOut.model_validate(u, from_attributes=True) for u in rows]


@router.post("/exhibitor/users", response_model=StaffOut, status_code=201, tags=["app: lead capture"],
             summary="Add a staff member to my booth (booth admins)")  # fmt: skip
def booth_create(body: StaffIn, booth: BoothAdmin, session: SessionDep) -> StaffOut:
    return _create(session, booth.exhibitor_id, body)


@router.delete("/exhibitor/users/{user_id}", response_model=StaffOut, tags=["app: lead capture"],
               summary="Disable a staff account and sign it out everywhere (booth admins)")  # fmt: skip
def booth_disable(user_id: int, booth: BoothAdmin, session: SessionDep) -> StaffOut:
    user = session.get(ExhibitorUser, user_id)
    if user is None or user.exhibitor_id != booth.exhibitor_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"staff member {user_id} not found")
    _disable(session, user)
    session.refresh(user)
    return StaffOut.model_validate(user, from_attributes=True)
