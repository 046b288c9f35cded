"""FastAPI dependencies: the database session, the caller's identity and role checks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session, select

from server.core.security import hash_token, same_secret
from server.runtime import Runtime
from server.store.models import ApiToken, Role

bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <token>`")


def get_runtime(request: Request) -> Runtime:
    """The running server's objects, built once by the composition root (server/app.py)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with Session(runtime.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    subject: str | None  # the exhibitor, attendee or device the token acts for
    token_id: int | None  # None for the bootstrap admin token
    is_admin: bool = False


def get_principal(
    runtime: RuntimeDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    token = credentials.credentials
    if same_secret(token, runtime.admin_token):
        return Principal(Role.ORGANIZER, None, None, is_admin=True)
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    now = time.time()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid or expired token", headers={"WWW-Authenticate": "Bearer"}
        )
    return Principal(Role(row.role), row.subject, row.id)


def require(*roles: Role) -> Callable[..., Principal]:
    """A dependency admitting only ``roles`` (the bootstrap admin token is an organizer and passes all)."""
    allowed = frozenset(roles)

    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.is_admin or principal.role in allowed:
            return principal
        names = ", ".join(sorted(r.value for r in allowed))
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {names}")

    check.roles = allowed  # type: ignore[attr-defined]  # read by the route x role table test
    return check


Organizer = Annotated[Principal, Depends(require(Role.ORGANIZER))]
OrganizerOrStaff = Annotated[Principal, Depends(require(Role.ORGANIZER, Role.STAFF))]
OrganizerOrExhibitor = Annotated[Principal, Depends(require(Role.ORGANIZER, Role.EXHIBITOR))]
