"""API tokens for organizers, exhibitors, staff, attendees and devices. The token is shown once."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field, model_validator
from sqlmodel import col, select

from server.core.security import hash_token, new_token
from server.store.models import ApiToken, Role
from server.web.deps import Organizer, SessionDep

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])

# Roles that act for someone must say for whom.
ROLES_WITH_SUBJECT = frozenset({Role.EXHIBITOR, Role.ATTENDEE, Role.DEVICE})


class TokenIn(BaseModel):
    role: Role
    subject: str | None = Field(default=None, max_length=64, description="Exhibitor, attendee or device id")
    name: str = Field(default="", max_length=200)
    ttl_s: int | None = Field(default=None, ge=60, description="Lifetime; none = until revoked")

    @model_validator(mode="after")
    def _subject_when_needed(self) -> TokenIn:
        if self.role in ROLES_WITH_SUBJECT and not self.subject:
            raise ValueError(f"a {self.role.value} token needs a subject (the {self.role.value} id)")
        return self


class TokenOut(BaseModel):
    id: int
    role: Role
    subject: str | None
    name: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None


class NewTokenOut(TokenOut):
    token: str = Field(description="Shown only now; store it safely")


@router.post("", response_model=NewTokenOut, status_code=201)
def issue_token(body: TokenIn, session: SessionDep, _caller: Organizer) -> NewTokenOut:
    token = new_token()
    now = time.time()
    row = ApiToken(
        token_hash=hash_token(token),
        role=body.role,
        subject=body.subject,
        name=body.name,
        created_at=now,
        expires_at=now + body.ttl_s if body.ttl_s else None,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return NewTokenOut(token=token, **TokenOut.model_validate(row, from_attributes=True).model_dump())


@router.get("", response_model=list[TokenOut])
def list_tokens(session: SessionDep, _caller: Organizer) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))


@router.delete("/{token_id}", response_model=TokenOut, summary="Revoke a token")
def revoke_token(token_id: int, session: SessionDep, _caller: Organizer) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"token {token_id} not found")
    if row.revoked_at is None:
        row.revoked_at = time.time()
        session.add(row)
        session.commit()
        session.refresh(row)
    return row
