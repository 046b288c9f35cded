"""Presence as the store knows it: for processes that run no presence engine (API-only and ingest workers).

With ``TOUCHPOINTS_REDIS_URL`` set, only the live worker holds the engine; the others answer "who is where"
from the open visits in the shared database (``visit.ended_at IS NULL``), which the live worker keeps
current. The difference: a visit is stored once it has lasted the minimum dwell (``min_visit_s``), so a
badge that arrived in a zone less than that long ago is counted by the engine but not yet here.
"""

from __future__ import annotations

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from server.store.models import Visit


def stored_occupancy(engine: Engine, event_id: str) -> dict[str, int]:
    """Zone id -> attendees with an open visit there (zones nobody is in are left out)."""
    query = (
        select(Visit.zone_id, func.count(func.distinct(Visit.attendee_id)))
        .where(col(Visit.event_id) == event_id, col(Visit.ended_at).is_(None))
        .group_by(col(Visit.zone_id))
    )
    with Session(engine) as session:
        return {zone: int(n) for zone, n in session.exec(query)}


def stored_zone_of(engine: Engine, event_id: str, attendee_id: str) -> str | None:
    """The zone of the attendee's most recently started open visit, None when there is none."""
    query = (
        select(Visit.zone_id)
        .where(col(Visit.event_id) == event_id, col(Visit.attendee_id) == attendee_id, col(Visit.ended_at).is_(None))
        .order_by(col(Visit.started_at).desc())
        .limit(1)
    )
    with Session(engine) as session:
        return session.exec(query).first()
