"""The agenda: sessions held in rooms, with times and tags.

Written through the venue importer (a one-session document): the room must exist and be a room, the end
must follow the start. Times are accepted as ISO 8601 with an offset or as Unix seconds and returned as
Unix seconds, like every time in this API. Deleting a session with registrations needs ``?force=true``,
which deletes the registrations too: registered-vs-attended would otherwise count people for a session
that no longer exists.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from edge.protocol import ID_PATTERN
from server.api.routes.venue import apply_and_commit, detached
from server.store.models import AgendaSession, SessionRegistration
from server.venue.schema import SessionFields, SessionSpec, Venue
from server.web.deps import Organizer, OrganizerOrStaff, RuntimeDep, SessionDep

router = APIRouter(prefix="/api/v1/sessions", tags=["venue"])

SessionId = Annotated[str, Path(pattern=ID_PATTERN, description="1-64 of A-Z a-z 0-9 _ . : -")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such session"}}


def _get(session: Session, session_id: str, event_id: str) -> AgendaSession:
    agenda = session.get(AgendaSession, session_id)
    if agenda is None or agenda.event_id != event_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"session {session_id!r} not found")
    return agenda


@router.get("", response_model=list[AgendaSession], summary="The agenda, by start time")
def list_sessions(
    session: SessionDep,
    runtime: RuntimeDep,
    _caller: OrganizerOrStaff,
    zone_id: str | None = None,
    tag: Annotated[str | None, Query(description="only sessions with this tag")] = None,
) -> list[AgendaSession]:
    query = select(AgendaSession).where(AgendaSession.event_id == runtime.settings.event_id)
    if zone_id is not None:
        query = query.where(AgendaSession.zone_id == zone_id)
    rows = session.exec(query.order_by(col(AgendaSession.starts_at), col(AgendaSession.id)))
    # Tags live in a JSON column; filtering in Python keeps one query for SQLite and PostgreSQL alike.
    return [row for row in rows if tag is None or tag in row.tags]


@router.get("/{session_id}", response_model=AgendaSession, responses=NOT_FOUND)
def get_session(session_id: str, session: SessionDep, runtime: RuntimeDep, _caller: OrganizerOrStaff) -> AgendaSession:
    return _get(session, session_id, runtime.settings.event_id)


@router.put("/{session_id}", response_model=AgendaSession, summary="Create or change a session (idempotent)")
def put_session(session_id: SessionId, body: SessionFields, runtime: RuntimeDep, _caller: Organizer) -> AgendaSession:
    venue = Venue(sessions=[SessionSpec(id=session_id, **body.model_dump())])
    _report, agenda = apply_and_commit(runtime, venue, lambda s: detached(s.get(AgendaSession, session_id)), strip=2)
    return agenda


@router.delete(
    "/{session_id}",
    status_code=204,
    summary="Delete a session (with ?force=true also its registrations)",
    responses={**NOT_FOUND, 409: {"description": "attendees registered for the session"}},
)
def delete_session(
    session_id: str,
    session: SessionDep,
    runtime: RuntimeDep,
    _caller: Organizer,
    force: Annotated[bool, Query(description="also delete the session's registrations")] = False,
) -> None:
    agenda = _get(session, session_id, runtime.settings.event_id)
    where = col(SessionRegistration.session_id) == session_id
    registered = session.exec(select(func.count()).select_from(SessionRegistration).where(where)).one()
    if registered and not force:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"{registered} attendees registered for session {session_id!r}: pass ?force=true to delete them too",
        )
    session.exec(delete(SessionRegistration).where(where))
    session.delete(agenda)
    session.commit()
