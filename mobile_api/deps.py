"""Dependencies of the app's routes: the caller as an attendee or as exhibitor staff, rate limiters, mailer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from mobile_api.auth import family_of_access_token
from mobile_api.ratelimit import RateLimiter
from server.core.config import Settings
from server.mail import Mailer, mailer_from_settings
from server.store.app_models import AccountKind, ExhibitorUser, ExhibitorUserRole
from server.store.models import Attendee, Role
from server.web.deps import Principal, RuntimeDep, SessionDep, require

# Sign-in codes: a person asks once, maybe twice; a script asking for codes for many addresses is throttled
# by address and by client. 3 at once, then one a minute per address.
SIGNIN_BURST, SIGNIN_PER_S = 3, 1 / 60
# Per client address: a conference Wi-Fi NATs many phones behind one address, so this is generous.
SIGNIN_CLIENT_BURST, SIGNIN_CLIENT_PER_S = 30, 1.0
# Beacon reports: a phone scans every few seconds; 10 at once then one every 2 s is more than it needs.
BEACON_BURST, BEACON_PER_S = 10, 0.5


@dataclass
class MobileState:
    """What the app keeps per process: the mailer and the rate limiters (built by :func:`mobile_api.install`)."""

    mailer: Mailer
    signin_by_email: RateLimiter = field(default_factory=lambda: RateLimiter(SIGNIN_BURST, SIGNIN_PER_S))
    signin_by_client: RateLimiter = field(default_factory=lambda: RateLimiter(SIGNIN_CLIENT_BURST, SIGNIN_CLIENT_PER_S))
    beacons: RateLimiter = field(default_factory=lambda: RateLimiter(BEACON_BURST, BEACON_PER_S))

    @classmethod
    def from_settings(cls, settings: Settings) -> MobileState:
        return cls(mailer_from_settings(settings.smtp_url, settings.mail_from))


def get_mobile(request: Request) -> MobileState:
    mobile: MobileState = request.app.state.mobile
    return mobile


MobileDep = Annotated[MobileState, Depends(get_mobile)]


def limited(limiter: RateLimiter, key: str, what: str) -> None:
    """Raise 429 with Retry-After when ``key`` has used up its bucket."""
    if not limiter.allow(key):
        wait = limiter.retry_after(key)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, f"too many {what}; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )  # fmt: skip


def current_attendee(
    principal: Annotated[Principal, Depends(require(Role.ATTENDEE))], session: SessionDep, runtime: RuntimeDep
) -> Attendee:
    if principal.role != Role.ATTENDEE or not principal.subject:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs an attendee's token (sign in with the app)")
    attendee = session.get(Attendee, principal.subject)
    if attendee is None or attendee.event_id != runtime.settings.event_id:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "this attendee no longer exists")
    return attendee


Me = Annotated[Attendee, Depends(current_attendee)]
MePrincipal = Annotated[Principal, Depends(require(Role.ATTENDEE))]


@dataclass(frozen=True)
class BoothCaller:
    """Exhibitor staff: a signed-in exhibitor user, or an organizer-issued exhibitor token (acts as admin)."""

    exhibitor_id: str
    user: ExhibitorUser | None

    @property
    def actor(self) -> str:
        return f"user:{self.user.id}" if self.user is not None else "exhibitor-token"

    @property
    def is_admin(self) -> bool:
        return self.user is None or self.user.role == ExhibitorUserRole.ADMIN.value


def current_booth(
    principal: Annotated[Principal, Depends(require(Role.EXHIBITOR))], session: SessionDep
) -> BoothCaller:
    if principal.role != Role.EXHIBITOR or not principal.subject:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs an exhibitor staff token")
    family = family_of_access_token(session, principal.token_id)
    if family is None or family.kind != AccountKind.EXHIBITOR_USER.value:
        return BoothCaller(principal.subject, None)
    user = session.get(ExhibitorUser, int(family.subject))
    if user is None or user.disabled_at is not None or user.exhibitor_id != principal.subject:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "this exhibitor account is disabled")
    return BoothCaller(principal.subject, user)


Booth = Annotated[BoothCaller, Depends(current_booth)]


def require_booth_admin(booth: Booth) -> BoothCaller:
    if not booth.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the exhibitor's admins may do this")
    return booth


BoothAdmin = Annotated[BoothCaller, Depends(require_booth_admin)]
