"""Sign-in: request a code by email (attendees and booth staff), badge tap at a kiosk, refresh, sign out."""

from __future__ import annotations

import logging
import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func
from sqlmodel import Session, col, select

from mobile_api.auth import (
    CODE_TTL_S,
    AuthError,
    TokenPair,
    create_login_code,
    family_of_access_token,
    issue_tokens,
    redeem_code,
    revoke_family,
    rotate,
    sign_out_everywhere,
)
from mobile_api.deps import MobileDep, MobileState, limited
from server.mail import MailError
from server.store.app_models import AccountKind, ExhibitorUser
from server.store.models import Attendee, Role
from server.web.deps import Principal, RuntimeDep, SessionDep, require

log = logging.getLogger(__name__)
router = APIRouter(prefix="/app/v1", tags=["app: sign-in"])

Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254, description="Email address")]


class CodeRequest(BaseModel):
    email: Email


class CodeSent(BaseModel):
    login_id: str = Field(description="Pass it back with the code (or pass the email)")
    expires_in: int
    detail: str = "if the address is registered, a sign-in code is on its way"


class CodeRedeem(BaseModel):
    code: str = Field(pattern=r"^\d{6}$", description="The 6-digit code")
    email: Email | None = None
    login_id: str | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _one_key(self) -> CodeRedeem:
        if self.email is None and self.login_id is None:
            raise ValueError("give the email or the login_id the code was sent for")
        return self


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid")
    account: str = Field(description="attendee or exhibitor_user")
    subject: str = Field(description="Attendee id, or exhibitor user id")


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class KioskIn(BaseModel):
    badge_id: str | None = Field(default=None, max_length=64)
    uid: str | None = Field(default=None, max_length=32, pattern=r"^[0-9A-Fa-f]{8,32}$", description="NFC tag UID")

    @model_validator(mode="after")
    def _one_key(self) -> KioskIn:
        if not self.badge_id and not self.uid:
            raise ValueError("give the tapped badge's badge_id or uid")
        return self


class KioskCode(BaseModel):
    login_id: str
    code: str
    expires_in: int
    name: str
    url: str = Field(description="Open on the phone (as a QR code) to sign in there")


class SignedOut(BaseModel):
    signed_out: int = Field(description="Sign-ins (devices) ended")


def _tokens(pair: TokenPair) -> Tokens:
    return Tokens(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in,
                  account=pair.kind, subject=pair.subject)  # fmt: skip


def _auth_error(exc: AuthError) -> HTTPException:
    return HTTPException(exc.status, exc.message)


def _send_code(mobile: MobileState, request: Request, email: str, subject: str | None, kind: AccountKind,
               session: Session, event_name: str) -> CodeSent:  # fmt: skip
    limited(mobile.signin_by_client, request.client.host if request.client else "?", "sign-in requests")
    limited(mobile.signin_by_email, email.lower(), "sign-in codes for this address")
    if subject is None:  # same answer as for a registered address: nobody learns who is registered
        return CodeSent(login_id=secrets.token_urlsafe(12), expires_in=CODE_TTL_S)
    now = time.time()
    login_id, code = create_login_code(session, kind, subject, "email", now)
    body = (
        f"Your sign-in code for {event_name} is {code}\n\n"
        f"It is valid for {CODE_TTL_S // 60} minutes. If you did not ask for it, ignore this message."
    )
    try:
        mobile.mailer.send(email, f"{code} is your {event_name} sign-in code", body)
    except MailError as exc:
        log.error("sign-in mail failed: %s", exc)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "could not send the email; try again later") from exc
    return CodeSent(login_id=login_id, expires_in=CODE_TTL_S)


def _attendee_by_email(session: Session, event_id: str, email: str) -> Attendee | None:
    query = select(Attendee).where(col(Attendee.event_id) == event_id, func.lower(Attendee.email) == email.lower())
    return session.exec(query).first()


def _user_by_email(session: Session, email: str) -> ExhibitorUser | None:
    user = session.exec(select(ExhibitorUser).where(func.lower(ExhibitorUser.email) == email.lower())).first()
    return user if user is not None and user.disabled_at is None else None


@router.post("/auth/code", response_model=CodeSent, status_code=202, summary="Email me a sign-in code")
def request_code(body: CodeRequest, request: Request, session: SessionDep, runtime: RuntimeDep,
                 mobile: MobileDep) -> CodeSent:  # fmt: skip
    attendee = _attendee_by_email(session, runtime.settings.event_id, body.email)
    return _send_code(mobile, request, body.email, attendee.id if attendee else None, AccountKind.ATTENDEE,
                      session, runtime.settings.event_id)  # fmt: skip


@router.post("/auth/token", response_model=Tokens, summary="Exchange a sign-in code for tokens")
def redeem(body: CodeRedeem, session: SessionDep, runtime: RuntimeDep) -> Tokens:
    now = time.time()
    subject = None
    if body.login_id is None and body.email is not None:
        attendee = _attendee_by_email(session, runtime.settings.event_id, body.email)
        if attendee is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "no valid sign-in code for this address")
        subject = attendee.id
    try:
        attendee_id = redeem_code(session, AccountKind.ATTENDEE, body.code, now, login_id=body.login_id,
                                  subject=subject)  # fmt: skip
    except AuthError as exc:
        raise _auth_error(exc) from exc
    return _tokens(issue_tokens(session, AccountKind.ATTENDEE, attendee_id, attendee_id, now))


@router.post("/exhibitor/auth/code", response_model=CodeSent, status_code=202, tags=["app: lead capture"],
             summary="Email booth staff a sign-in code")  # fmt: skip
def request_staff_code(body: CodeRequest, request: Request, session: SessionDep, runtime: RuntimeDep,
                       mobile: MobileDep) -> CodeSent:  # fmt: skip
    user = _user_by_email(session, body.email)
    return _send_code(mobile, request, body.email, str(user.id) if user else None, AccountKind.EXHIBITOR_USER,
                      session, runtime.settings.event_id)  # fmt: skip


@router.post("/exhibitor/auth/token", response_model=Tokens, tags=["app: lead capture"],
             summary="Exchange a booth staff sign-in code for tokens")  # fmt: skip
def redeem_staff(body: CodeRedeem, session: SessionDep) -> Tokens:
    now = time.time()
    subject = None
    if body.login_id is None and body.email is not None:
        user = _user_by_email(session, body.email)
        if user is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "no valid sign-in code for this address")
        subject = str(user.id)
    try:
        user_id = redeem_code(session, AccountKind.EXHIBITOR_USER, body.code, now, login_id=body.login_id,
                              subject=subject)  # fmt: skip
    except AuthError as exc:
        raise _auth_error(exc) from exc
    found = session.get(ExhibitorUser, int(user_id))
    if found is None or found.disabled_at is not None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "this exhibitor account is disabled")
    return _tokens(issue_tokens(session, AccountKind.EXHIBITOR_USER, user_id, found.exhibitor_id, now))


@router.post("/auth/kiosk", response_model=KioskCode, status_code=201,
             summary="Badge tapped at a sign-in kiosk: a one-time code for that attendee's phone")  # fmt: skip
def kiosk(body: KioskIn, session: SessionDep, runtime: RuntimeDep,
          _caller: Annotated[Principal, Depends(require(Role.STAFF, Role.DEVICE))]) -> KioskCode:  # fmt: skip
    badge = runtime.directory.badge_by_tap(body.uid or "", body.badge_id)
    attendee = session.get(Attendee, badge.attendee_id) if badge else None
    if attendee is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "this badge is not registered")
    login_id, code = create_login_code(session, AccountKind.ATTENDEE, attendee.id, "kiosk", time.time())
    return KioskCode(login_id=login_id, code=code, expires_in=CODE_TTL_S, name=attendee.name,
                     url=f"/app/#signin={login_id}.{code}")  # fmt: skip


@router.post("/auth/refresh", response_model=Tokens, summary="Rotate: spend the refresh token for a new pair")
def refresh(body: RefreshIn, session: SessionDep) -> Tokens:
    try:
        return _tokens(rotate(session, body.refresh_token, time.time()))
    except AuthError as exc:
        raise _auth_error(exc) from exc


AppCaller = Annotated[Principal, Depends(require(Role.ATTENDEE, Role.EXHIBITOR))]


@router.post("/auth/signout", response_model=SignedOut, summary="Sign out this device")
def sign_out(session: SessionDep, principal: AppCaller) -> SignedOut:
    row = family_of_access_token(session, principal.token_id)
    if row is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "this token was not issued by an app sign-in")
    return SignedOut(signed_out=revoke_family(session, row.family, time.time()))


@router.post("/auth/signout-everywhere", response_model=SignedOut, summary="Sign out every device of my account")
def sign_out_all(session: SessionDep, principal: AppCaller) -> SignedOut:
    row = family_of_access_token(session, principal.token_id)
    if row is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "this token was not issued by an app sign-in")
    return SignedOut(signed_out=sign_out_everywhere(session, AccountKind(row.kind), row.subject, time.time()))
