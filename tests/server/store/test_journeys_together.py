"""Journeys loaded together (the score keeper's batches) are the journeys loaded one by one, and rescoring
many attendees at once upserts each one's score, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from server.store.journeys import Models, evaluate, load_journey, load_journeys, rescore
from server.store.models import Attendee, AttendeeScore, Device, Event, Touchpoint, Visit, Zone, ZoneKind
from server.store.venue import load_venue

T0 = 1_781_000_000.0
PEOPLE = ["ann", "ben", "cat", "dan"]  # dan has no signals at all


def _show(engine: Engine) -> None:
    with Session(engine) as s:
        s.add(Event(id="e", name="E", starts_at=T0, ends_at=T0 + 86_400))
        s.flush()
        for z, kind in (("hall", ZoneKind.ENTRANCE), ("b1", ZoneKind.BOOTH), ("b2", ZoneKind.BOOTH)):
            s.add(Zone(id=z, event_id="e", name=z, kind=kind, x=0, y=0, width=4, height=4))
        s.flush()
        s.add(Device(id="door", event_id="e", zone_id="hall", created_at=T0))
        for name in PEOPLE:
            s.add(Attendee(id=name, event_id="e", name=name, consent_tracking=True, registered_at=T0 - 3600))
        s.flush()
        seq = 0
        for n, name in enumerate(PEOPLE[:3]):
            at = T0 + 60 * n
            s.add(Touchpoint(event_id="e", type="tap", occurred_at=at, received_at=at, attendee_id=name,
                             device_id="door", seq=(seq := seq + 1)))  # fmt: skip
            for kind in ("lead_scan", "app_action"):  # the same instant: their input order decides ties
                s.add(Touchpoint(event_id="e", type=kind, occurred_at=at + 600, received_at=at + 600, attendee_id=name,
                                 zone_id="b1", data={"ref": f"{kind}-{name}"}))  # fmt: skip
            s.add(Touchpoint(event_id="e", type="sighting", occurred_at=at + 10, received_at=at + 10, attendee_id=name,
                             device_id="door", seq=(seq := seq + 1), beacon_id="b", rssi=-60.0))  # fmt: skip
            s.add(Visit(attendee_id=name, event_id="e", zone_id="b1", started_at=at + 300, ended_at=at + 900))
            s.add(Visit(attendee_id=name, event_id="e", zone_id="b2", started_at=at + 1000, ended_at=None))
        s.commit()


def test_journeys_loaded_together_are_the_journeys_loaded_one_by_one(engine: Engine):
    _show(engine)
    now = T0 + 7200
    with Session(engine) as session:
        venue = load_venue(session, "e")
        people = [session.get(Attendee, name) for name in PEOPLE]
        assert all(p is not None for p in people)
        together = load_journeys(session, people, venue, now)  # type: ignore[arg-type]
        alone = [load_journey(session, p, venue, now) for p in people]  # type: ignore[arg-type]

    assert [(j.attendee.id, j.entries, j.visits, j.attendances) for j in together] == [
        (j.attendee.id, j.entries, j.visits, j.attendances) for j in alone
    ]
    assert len(together[0].entries) > 3 and together[3].visits == []  # something to compare, and an empty one


def test_rescoring_many_at_once_upserts_each_ones_score(engine: Engine):
    _show(engine)
    models = Models.defaults()
    with engine.begin() as conn:
        first = rescore(conn, "e", PEOPLE, models, T0 + 3600)
    with engine.begin() as conn:
        again = rescore(conn, "e", PEOPLE, models, T0 + 7200)  # every row exists now: all updates
    with Session(engine) as session:
        stored = {s.attendee_id: s for s in session.exec(select(AttendeeScore))}
        venue = load_venue(session, "e")
        expected = {}
        for name in PEOPLE:
            person = session.get(Attendee, name)
            assert person is not None
            expected[name] = evaluate(load_journey(session, person, venue, T0 + 7200), venue, models, T0 + 7200)

    assert first == again == len(PEOPLE)
    assert {n: (s.score, s.stage, s.grade, s.updated_at) for n, s in stored.items()} == {
        n: (v["score"], v["stage"], v["grade"], T0 + 7200) for n, v in expected.items()
    }
