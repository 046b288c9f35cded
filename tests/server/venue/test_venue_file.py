"""The venue file's schema: times, ids, duplicates and paths in messages (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.venue.schema import Venue, VenueError, dump_venue, load_venue, parse_venue

EXAMPLE = Path(__file__).parents[3] / "docs" / "examples" / "venue.yaml"
EVENT = {"id": "demo", "name": "Demo", "starts_at": 1_780_000_000, "ends_at": 1_780_030_000}


def problems(data: dict[str, object]) -> list[str]:
    with pytest.raises(VenueError) as caught:
        parse_venue(data)
    return caught.value.messages


def test_the_example_file_is_valid_and_small():
    venue = load_venue(EXAMPLE.read_text(), EXAMPLE.name)
    assert venue.event is not None and venue.event.timezone == "Europe/Berlin"
    assert (len(venue.exhibitors), len(venue.zones), len(venue.sessions), len(venue.devices)) == (4, 11, 6, 11)
    assert venue.sessions[0].starts_at == 1_781_074_800.0  # 2026-06-10T09:00:00+02:00


def test_times_are_iso_with_an_offset_or_unix_seconds():
    session = {"id": "s1", "title": "Talk", "zone_id": "room-a", "tags": ["ai"]}
    iso = parse_venue({"sessions": [{**session, "starts_at": "2026-06-10T09:00:00Z", "ends_at": "1781085600"}]})
    assert (iso.sessions[0].starts_at, iso.sessions[0].ends_at) == (1_781_082_000.0, 1_781_085_600.0)
    naive = {**session, "starts_at": "2026-06-10T09:00:00", "ends_at": 1_781_085_600}
    assert problems({"sessions": [naive]}) == [
        "sessions[0].starts_at: 2026-06-10T09:00:00 has no UTC offset: write e.g. 2026-06-10T09:00:00+02:00 or ...Z"
    ]
    millis = {**session, "starts_at": 1_781_082_000_000, "ends_at": 1_781_085_600}
    assert problems({"sessions": [millis]}) == [
        "sessions[0].starts_at: 1.78108e+12 is not a time between 2020 and 2100 (Unix seconds, not milliseconds)"
    ]
    backwards = {**session, "starts_at": 1_781_085_600, "ends_at": 1_781_082_000}
    assert problems({"sessions": [backwards]}) == ["sessions[0]: ends_at must be after starts_at"]


def test_shapes_are_checked_with_their_paths():
    zone = {"id": "hall", "name": "Hall", "kind": "hall", "x": 0, "y": 0, "width": 0, "height": 5, "capacty": 3}
    assert problems({"event": {**EVENT, "timezone": "Mars/Olympus"}, "zones": [zone]}) == [
        "event.timezone: unknown time zone 'Mars/Olympus' (use an IANA name such as Europe/Berlin)",
        "zones[0].kind: Input should be 'room', 'booth', 'entrance', 'lounge' or 'staff_area'",
        "zones[0].width: Input should be greater than 0",
        "zones[0].capacty: Extra inputs are not permitted",
    ]
    assert problems({"devices": [{"id": "bad/id"}]}) == [
        "devices[0].id: String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'"
    ]


def test_duplicate_ids_name_both_places():
    device = {"id": "door-1"}
    assert problems({"devices": [device, {"id": "door-2"}, device]}) == [
        "devices[2].id: duplicate id 'door-1' (first at devices[0])"
    ]


def test_a_file_that_is_not_a_mapping_or_not_yaml_is_one_clear_problem():
    with pytest.raises(VenueError, match="a venue file is a mapping"):
        load_venue("- just\n- a list\n")
    with pytest.raises(VenueError, match=r"venue\.yaml is not valid YAML"):
        load_venue("event: [unclosed\n")
    with pytest.raises(VenueError, match=r"v\.json is not valid JSON"):
        load_venue("{", "v.json")


def test_a_document_dumps_to_yaml_and_json_and_parses_back_the_same():
    venue = load_venue(EXAMPLE.read_text())
    for name in ("venue.yaml", "venue.json"):
        text = dump_venue(venue, name)
        assert load_venue(text, name) == venue
    document = venue.to_document()
    assert document["sessions"][0]["starts_at"] == "2026-06-10T09:00:00+02:00"  # the event's own zone
    assert list(document["zones"][0])[:2] == ["id", "name"]


def test_an_empty_document_is_valid_and_imports_nothing():
    assert parse_venue({}) == Venue()
