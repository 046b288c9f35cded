"""Importing a venue: an idempotent upsert with reference checks by path, and an export that round-trips."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.store.models import AgendaSession, Device, Zone
from server.venue.importer import export_venue, import_venue
from server.venue.schema import Venue, VenueError, load_venue, parse_venue

EXAMPLE = Path(__file__).parents[3] / "docs" / "examples" / "venue.yaml"


@pytest.fixture
def venue() -> Venue:
    return load_venue(EXAMPLE.read_text())


def errors_of(engine: Engine, data: Mapping[str, Any], event_id: str | None = None) -> list[str]:
    with pytest.raises(VenueError) as caught:
        import_venue(engine, parse_venue(data), event_id=event_id)
    return caught.value.messages


def test_import_creates_everything_then_a_reimport_changes_nothing(engine: Engine, venue: Venue):
    first = import_venue(engine, venue, now=1_780_000_000.0)
    assert (first.created, first.updated, first.unchanged) == (33, 0, 0)
    assert {k: c.created for k, c in first.by_kind.items()} == {
        "event": 1, "exhibitors": 4, "zones": 11, "sessions": 6, "devices": 11,
    }  # fmt: skip
    assert len(first.changed_devices) == 11
    again = import_venue(engine, venue)
    assert (again.created, again.updated, again.unchanged, again.changed_devices) == (0, 0, 33, [])


def test_export_round_trips(engine: Engine, venue: Venue):
    import_venue(engine, venue)
    exported = export_venue(engine, "demo")
    assert exported.event == venue.event
    for section in ("exhibitors", "zones", "sessions", "devices"):
        assert getattr(exported, section) == sorted(getattr(venue, section), key=lambda item: item.id), section
    assert import_venue(engine, exported).unchanged == 33


def test_changed_fields_are_updated_and_a_moved_device_gets_a_new_config(engine: Engine, venue: Venue):
    import_venue(engine, venue)
    document = venue.to_document()
    document["zones"][3]["capacity"] = 150  # room-a
    document["devices"][0]["zone_id"] = "lounge"  # door-a
    report = import_venue(engine, parse_venue(document))
    assert (report.updated, report.unchanged, report.changed_devices) == (2, 31, ["door-a"])
    with Session(engine) as session:
        assert session.get(Zone, "room-a").capacity == 150  # type: ignore[union-attr]
        door = session.get(Device, "door-a")
        assert door is not None and (door.zone_id, door.config_version) == ("lounge", 2)


def test_a_reimport_keeps_what_ingest_learned_about_a_device(engine: Engine, venue: Venue):
    import_venue(engine, venue)
    with Session(engine) as session:
        door = session.get(Device, "door-a")
        assert door is not None
        door.last_seq, door.credential_hash = 41, "ab" * 32
        session.add(door)
        session.commit()
    import_venue(engine, venue)
    with Session(engine) as session:
        door = session.get(Device, "door-a")
        assert door is not None and (door.last_seq, door.credential_hash) == (41, "ab" * 32)


def test_references_are_checked_with_paths_and_nothing_is_written(engine: Engine, venue: Venue):
    document = venue.to_document()
    document["sessions"][3]["zone_id"] = "room-z"
    document["sessions"][4]["zone_id"] = "lounge"
    document["devices"][1]["zone_id"] = "attic"
    document["zones"][5]["exhibitor_id"] = "exh-cloudnine"  # the lounge
    document["zones"][7]["exhibitor_id"] = "exh-nobody"
    assert errors_of(engine, document) == [
        "zones[5].exhibitor_id: only a booth has an exhibitor, and 'lounge' is a lounge",
        "zones[7].exhibitor_id: unknown exhibitor 'exh-nobody'",
        "sessions[3].zone_id: unknown zone 'room-z'",
        "sessions[4].zone_id: zone 'lounge' is a lounge, not a room",
        "devices[1].zone_id: unknown zone 'attic'",
    ]
    with Session(engine) as session:
        assert session.exec(select(Zone)).all() == []


def test_references_resolve_against_the_store_too(engine: Engine, venue: Venue):
    import_venue(engine, venue)
    talk = {"id": "s-late", "title": "Late talk", "zone_id": "room-b", "starts_at": 1_781_100_000,
            "ends_at": 1_781_103_600}  # fmt: skip
    report = import_venue(engine, parse_venue({"sessions": [talk]}), event_id="demo")
    assert (report.created, report.unchanged) == (1, 0)
    room_b_as_booth = {"id": "room-b", "name": "B", "kind": "booth", "x": 0, "y": 0, "width": 1, "height": 1}
    assert errors_of(engine, {"zones": [room_b_as_booth]}, event_id="demo") == [
        "zones[0].kind: session 's-b-1030' is held in 'room-b': it must stay a room",
        "zones[0].kind: session 's-b-1400' is held in 'room-b': it must stay a room",
        "zones[0].kind: session 's-late' is held in 'room-b': it must stay a room",
    ]


def test_the_event_must_be_given_or_stored_and_match_the_server(engine: Engine, venue: Venue):
    assert errors_of(engine, {"zones": []}) == [
        "event: missing: a venue file needs its event (id, name, starts_at, ends_at)"
    ]
    assert errors_of(engine, {}, event_id="demo") == [
        "event: event 'demo' is not set up yet: include the event in the document"
    ]
    with pytest.raises(VenueError, match=r"event.id: this server runs event 'other', not 'demo'"):
        import_venue(engine, venue, event_id="other")


def test_ids_of_another_event_are_not_taken_over(engine: Engine, venue: Venue):
    import_venue(engine, venue)
    other = {"event": {"id": "other", "name": "Other", "starts_at": 1_781_000_000, "ends_at": 1_781_030_000},
             "devices": [{"id": "door-a"}]}  # fmt: skip
    assert errors_of(engine, other) == ["devices[0].id: 'door-a' already belongs to event 'demo'"]


def test_nothing_is_deleted_by_an_import(engine: Engine, venue: Venue):
    import_venue(engine, venue)
    smaller = venue.model_copy(update={"sessions": venue.sessions[:1]})
    import_venue(engine, smaller)
    with Session(engine) as session:
        assert len(session.exec(select(AgendaSession)).all()) == 6


def test_export_of_a_missing_event_is_a_lookup_error(engine: Engine):
    with pytest.raises(LookupError, match="event 'demo' is not set up yet"):
        export_venue(engine, "demo")
