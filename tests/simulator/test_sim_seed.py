"""Seeding the store from a scenario: complete, and idempotent on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from server.simulator.scenario import Scenario, build_scenario
from server.simulator.seed import seed_database
from server.store.models import AgendaSession, Attendee, Device, DeviceState, Event, Exhibitor, Zone

TABLES = (Event, Exhibitor, Zone, AgendaSession, Device, Attendee)


def _counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {m.__name__: session.exec(select(func.count()).select_from(m)).one() for m in TABLES}


def _snapshot(engine: Engine) -> list[tuple]:
    """Every seeded row, column by column, as the database returns it."""
    with engine.connect() as conn:
        return [tuple(row) for m in TABLES for row in conn.execute(select(m.__table__).order_by("id")).all()]  # type: ignore[attr-defined]


def test_seeding_writes_the_whole_scenario(engine: Engine, scenario: Scenario) -> None:
    seed_database(engine, scenario)
    assert _counts(engine) == {
        "Event": 1,
        "Exhibitor": len(scenario.exhibitors),
        "Zone": len(scenario.zones),
        "AgendaSession": len(scenario.sessions),
        "Device": len(scenario.devices),
        "Attendee": len(scenario.attendees),
    }
    first = scenario.attendees[0]
    spec = scenario.devices[1]
    with Session(engine) as session:
        attendee = session.get(Attendee, first.id)
        assert attendee is not None
        assert (attendee.badge_uid, attendee.badge_id, attendee.beacon_id) == (
            first.badge_uid,
            first.badge_id,
            first.beacon_id,
        )
        assert attendee.consent_tracking == first.consent_tracking and attendee.interests == list(first.interests)
        device = session.get(Device, spec.id)
        assert device is not None and device.zone_id == spec.zone_id
        assert device.rssi_offset_db == -spec.rssi_bias_db  # the correction cancels the radio's bias
        booth = session.get(Zone, "booth-01")
        assert booth is not None and booth.kind == "booth" and booth.exhibitor_id is not None


def test_seeding_twice_changes_nothing(engine: Engine, scenario: Scenario) -> None:
    seed_database(engine, scenario)
    before = _snapshot(engine)
    seed_database(engine, scenario)
    assert _snapshot(engine) == before


def test_reseeding_a_new_day_moves_the_agenda_but_keeps_what_ingest_learned(engine: Engine, scenario: Scenario) -> None:
    seed_database(engine, scenario)
    device_id = scenario.devices[0].id
    with Session(engine) as session:
        device = session.get(Device, device_id)
        assert device is not None
        device.state, device.last_seq = DeviceState.ONLINE, 41
        session.add(device)
        session.commit()
    next_day = build_scenario(seed=7, attendees=len(scenario.attendees), start=scenario.event.starts_at + 86400)
    seed_database(engine, next_day)
    with Session(engine) as session:
        device = session.get(Device, device_id)
        assert device is not None and (device.state, device.last_seq) == (DeviceState.ONLINE, 41)
        event = session.get(Event, scenario.event.id)
        assert event is not None and event.starts_at == scenario.event.starts_at + 86400
        talk = session.get(AgendaSession, "s01")
        assert talk is not None and talk.starts_at == next_day.sessions[0].starts_at


def test_a_larger_crowd_extends_the_seeded_one(engine: Engine, scenario: Scenario) -> None:
    seed_database(engine, build_scenario(seed=7, attendees=20))
    seed_database(engine, scenario)  # badge N is the same badge in both: no unique-constraint clash
    assert _counts(engine)["Attendee"] == len(scenario.attendees)
