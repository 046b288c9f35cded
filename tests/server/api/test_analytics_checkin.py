"""One definition of "checked in": the organizer's attendance numbers (a store query) and the journeys' check-ins
(built per attendee) name the same people on the same data."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support import AUTH, EVENT, T0

from server.api.routes.analytics import checked_in
from server.domain.analytics import checked_in_attendees
from server.store.journeys import load_journeys
from server.store.models import Attendee, Touchpoint, TouchpointType, Visit
from server.store.venue import load_venue


def tap(attendee_id: str, device_id: str, at: float, seq: int) -> Touchpoint:
    return Touchpoint(event_id=EVENT, type=TouchpointType.TAP, occurred_at=at, received_at=at, attendee_id=attendee_id,
                      device_id=device_id, seq=seq)  # fmt: skip


def test_attendance_and_journeys_agree_on_who_checked_in(api: TestClient, engine: Engine) -> None:
    with Session(engine) as s:
        s.add(tap("alice", "door-1", T0 + 60, 1))  # the entrance's reader: checked in by tap
        s.add(Visit(attendee_id="bob", event_id=EVENT, zone_id="entrance", started_at=T0 + 90, ended_at=T0 + 150))
        s.add(tap("carol", "booth-1-scanner", T0 + 600, 2))  # inside, at a booth: seen, but never at a door
        s.add(Visit(attendee_id="carol", event_id=EVENT, zone_id="booth-1", started_at=T0 + 550, ended_at=T0 + 900))
        s.commit()

    with Session(engine) as s:
        venue = load_venue(s, EVENT)
        by_store = checked_in(s, venue, EVENT)
        attendees = list(s.exec(select(Attendee).where(col(Attendee.event_id) == EVENT)))
        journeys = load_journeys(s, attendees, venue, now=T0 + 3600)
        by_journey = checked_in_attendees({j.attendee.id: j.entries for j in journeys})

    assert by_store == by_journey == {"alice", "bob"}
    attendance = api.get("/api/v1/analytics/attendance", headers=AUTH).json()
    assert attendance["registered_and_checked_in"] == 2
