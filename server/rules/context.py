"""What the engine may look at, built from the store and live presence as plain values.

:func:`venue_context` once (and again every ``VENUE_RELOAD_S`` in the service: zones and agenda change
rarely); :func:`attendee_contexts` per batch of events, with a handful of bulk queries however many
attendees are asked for (all of them when a time trigger is due). The journey summary for rep alerts is
the one :class:`~server.live.scores.ScoreKeeper` computes when it rescores (the service caches it); it is
computed here only when asked for and not cached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import true
from sqlmodel import Session, col, select

from server.domain.rules.context import AttendeeContext, Consents, Exhibitor, VenueContext
from server.store.journeys import load_journey, profile_of
from server.store.models import (
    NOT_A_SIGHTING,
    Attendee,
    AttendeeRole,
    AttendeeScore,
    Event,
    SessionRegistration,
    Touchpoint,
    TouchpointType,
    Visit,
)
from server.store.models import Exhibitor as ExhibitorRow
from server.store.models import Zone as ZoneRow
from server.store.venue import load_venue

CHECKED_IN_TAG = "checked-in"  # set by the welcome template; a tap or a visit counts as well


def utc_offset_s(timezone: str, at: float) -> int:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    offset = dt.datetime.fromtimestamp(at, tz=zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def venue_context(session: Session, event_id: str) -> VenueContext:
    venue = load_venue(session, event_id)
    event = session.get(Event, event_id)
    exhibitors = {
        e.id: Exhibitor(e.id, e.name, tuple(e.interests))
        for e in session.exec(select(ExhibitorRow).where(col(ExhibitorRow.event_id) == event_id))
    }
    names = {z.id: z.name for z in session.exec(select(ZoneRow).where(col(ZoneRow.event_id) == event_id))}
    return VenueContext(
        zones={z.id: z for z in venue.zones},
        exhibitors=exhibitors,
        sessions={s.id: s for s in venue.sessions},
        zone_names=names,
        event_name=event.name if event is not None else "",
        event_start=event.starts_at if event is not None else None,
        event_end=event.ends_at if event is not None else None,
        utc_offset_s=utc_offset_s(event.timezone, event.starts_at) if event is not None else 0,
    )


def _optional_consents(session: Session, ids: list[str] | None) -> dict[str, dict[str, bool]]:
    """Purposes without a column on ``attendee`` (email, networking), kept by the event app's table."""
    try:
        from server.store.app_models import AttendeeConsent  # the event app's table (issue: event app)
    except ImportError:
        return {}
    query = select(AttendeeConsent)
    if ids is not None:
        query = query.where(col(AttendeeConsent.attendee_id).in_(ids))
    out: dict[str, dict[str, bool]] = {}
    for row in session.exec(query):
        out.setdefault(row.attendee_id, {})[row.purpose] = row.granted
    return out


def attendee_contexts(
    session: Session,
    event_id: str,
    attendee_ids: Iterable[str] | None,
    zone_of: Callable[[str], str | None] = lambda _a: None,
    summaries: Mapping[str, str] | None = None,
) -> dict[str, AttendeeContext]:
    """Contexts of these attendees (all of the event's non-staff attendees when None), by id."""
    ids = None if attendee_ids is None else sorted(set(attendee_ids))
    if ids == []:
        return {}
    query = select(Attendee).where(col(Attendee.event_id) == event_id, col(Attendee.role) != AttendeeRole.STAFF.value)
    if ids is not None:
        query = query.where(col(Attendee.id).in_(ids))
    attendees = list(session.exec(query))
    if not attendees:
        return {}
    wanted = [a.id for a in attendees] if ids is not None else None

    def scoped(column: Any) -> Any:
        return col(column).in_(wanted) if wanted is not None else true()

    scores = {s.attendee_id: s for s in session.exec(select(AttendeeScore).where(scoped(AttendeeScore.attendee_id)))}
    registered: dict[str, set[str]] = {}
    for reg in session.exec(select(SessionRegistration).where(scoped(SessionRegistration.attendee_id))):
        registered.setdefault(reg.attendee_id, set()).add(reg.session_id)
    came = set(session.exec(select(Visit.attendee_id).where(scoped(Visit.attendee_id)).distinct()))
    came |= {
        a
        for a in session.exec(
            select(Touchpoint.attendee_id)
            .where(col(Touchpoint.type) == TouchpointType.TAP.value, NOT_A_SIGHTING, scoped(Touchpoint.attendee_id))
            .distinct()
        )
        if a is not None
    }
    extra = _optional_consents(session, wanted)
    contexts: dict[str, AttendeeContext] = {}
    for a in attendees:
        score = scores.get(a.id)
        more = extra.get(a.id, {})
        contexts[a.id] = AttendeeContext(
            profile=profile_of(a),
            name=a.name,
            consents=Consents(
                tracking=a.consent_tracking, push=a.consent_push, email=more.get("email", False), share=a.consent_crm
            ),
            score=score.score if score is not None else None,
            grade=score.grade if score is not None else None,
            stage=score.stage if score is not None else None,
            registered_sessions=frozenset(registered.get(a.id, ())),
            checked_in=a.id in came or CHECKED_IN_TAG in a.tags,
            current_zone_id=zone_of(a.id) if a.consent_tracking else None,
            journey_summary=(summaries or {}).get(a.id),
        )
    return contexts


def journey_summary(session: Session, event_id: str, attendee_id: str, now: float) -> str | None:
    """The summary a rep alert carries, computed from the stored journey (when the cache has none)."""
    from server.domain.journey import summarize

    attendee = session.get(Attendee, attendee_id)
    if attendee is None:
        return None
    venue = load_venue(session, event_id)
    journey = load_journey(session, attendee, venue, now)
    return summarize(journey.entries, venue.zones, venue.sessions, venue.exhibitor_names)
