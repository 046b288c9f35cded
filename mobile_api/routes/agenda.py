"""The agenda with my bookmarks (a bookmark is a session registration: organizers count it as intent)."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel
from sqlmodel import col, select

from mobile_api.deps import Me
from server.store.models import AgendaSession, SessionRegistration, Touchpoint, TouchpointType, Zone
from server.web.deps import RuntimeDep, SessionDep

router = APIRouter(prefix="/app/v1/agenda", tags=["app: agenda"])


class AgendaItem(BaseModel):
    id: str
    title: str
    starts_at: float
    ends_at: float
    zone_id: str
    zone_name: str | None
    tags: list[str]
    bookmarked: bool


class Bookmark(BaseModel):
    session_id: str
    bookmarked: bool


@router.get("", response_model=list[AgendaItem], summary="All sessions in time order, with my bookmarks")
def agenda(me: Me, session: SessionDep, runtime: RuntimeDep) -> list[AgendaItem]:
    zones = {z.id: z.name for z in session.exec(select(Zone).where(col(Zone.event_id) == runtime.settings.event_id))}
    mine = set(
        session.exec(select(SessionRegistration.session_id).where(col(SessionRegistration.attendee_id) == me.id))
    )
    rows = session.exec(
        select(AgendaSession)
        .where(col(AgendaSession.event_id) == runtime.settings.event_id)
        .order_by(col(AgendaSession.starts_at), col(AgendaSession.title))
    )
    return [
        AgendaItem(
            id=s.id,
            title=s.title,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            zone_id=s.zone_id,
            zone_name=zones.get(s.zone_id),
            tags=list(s.tags),
            bookmarked=s.id in mine,
        )
        for s in rows
    ]


def _session_or_404(session: SessionDep, runtime: RuntimeDep, session_id: str) -> AgendaSession:
    found = session.get(AgendaSession, session_id)
    if found is None or found.event_id != runtime.settings.event_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"session {session_id!r} not found")
    return found


def _app_action(me: Me, action: str, ref: str, now: float) -> Touchpoint:
    return Touchpoint(event_id=me.event_id, type=TouchpointType.APP_ACTION, occurred_at=now, received_at=now,
                      attendee_id=me.id, data={"action": action, "ref": ref})  # fmt: skip


@router.put("/{session_id}/bookmark", response_model=Bookmark, summary="Bookmark a session (idempotent)")
def bookmark(session_id: str, me: Me, session: SessionDep, runtime: RuntimeDep) -> Bookmark:
    _session_or_404(session, runtime, session_id)
    if session.get(SessionRegistration, (me.id, session_id)) is None:
        now = time.time()
        session.add(SessionRegistration(attendee_id=me.id, session_id=session_id, registered_at=now))
        session.add(_app_action(me, "bookmark", session_id, now))
        session.commit()
    return Bookmark(session_id=session_id, bookmarked=True)


@router.delete("/{session_id}/bookmark", response_model=Bookmark, summary="Remove a bookmark (idempotent)")
def unbookmark(session_id: str, me: Me, session: SessionDep, runtime: RuntimeDep) -> Bookmark:
    _session_or_404(session, runtime, session_id)
    row = session.get(SessionRegistration, (me.id, session_id))
    if row is not None:
        session.delete(row)
        session.add(_app_action(me, "unbookmark", session_id, time.time()))
        session.commit()
    return Bookmark(session_id=session_id, bookmarked=False)
