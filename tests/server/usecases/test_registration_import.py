"""Registrations: rows validated one by one, good rows imported, bad rows reported by line; idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.store.models import Attendee, SessionRegistration
from server.usecases.registrations import import_registrations, parse_registrations_csv, parse_registrations_json
from server.venue.importer import import_venue
from server.venue.registration_rows import RegistrationFileError, derived_id
from server.venue.schema import load_venue

EXAMPLE = Path(__file__).parents[3] / "docs" / "examples" / "venue.yaml"
BEACON = "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:1:{}"
HEADER = "id,name,email,company,country,role,badge_uid,badge_id,beacon_id,tags,interests,consent_tracking,sessions\n"
GOOD_AND_BAD = (
    HEADER
    + f"ada,Ada Adams,ada@example.com,Globex,de,speaker,04:A1:B2:C3:D4:E5:F6,B0001,{BEACON.format(1)},vip;press,ai; cloud,yes,s-keynote;s-a-1030\n"  # noqa: E501
    + ",Ben Berg,ben@example.com,Initech,FR,,04a1b2c3d4e5f7,B0002,,,,no,\n"
    + "chloe,Chloe Costa,chloe@example,Hooli,NL,,,,,,,1,\n"  # 4: bad email
    + "david,David Dubois,,,Germany,,,,,,,0,\n"  # 5: bad country
    + "elena,Elena Eriksen,,,,,,B0001,,,,maybe,\n"  # 6: bad consent and a badge already used
    + ",,nobody@example.com,,,,,,,,,,\n"  # 7: no name
    + "farid,Farid Fischer,,,,,,B0003,,,,true,s-nope\n"  # 8: unknown session
    + "grace,Grace Garcia,,,,,,B0001,,,,true,\n"  # 9: badge of line 2
    + 'hiro,"Hiro\nIto",,,,,,B0004,,,,true,\n'  # 10-11: a quoted field over two lines
    + "\n"  # 12: blank, skipped
    + "ines,Ines Jansen,,,,guest,,,,,,true,\n"  # 13: bad role
)


@pytest.fixture
def venue_engine(engine: Engine) -> Engine:
    import_venue(engine, load_venue(EXAMPLE.read_text()))
    return engine


def test_good_rows_import_and_bad_rows_are_reported_by_line(venue_engine: Engine):
    report = import_registrations(venue_engine, "demo", parse_registrations_csv(GOOD_AND_BAD), now=1_780_000_000.0)
    assert [(e.line, e.reason) for e in report.errors] == [
        (4, "email: 'chloe@example' is not an email address"),
        (5, "country: 'Germany' is not an ISO 3166 two-letter country code"),
        (6, "consent_tracking: 'maybe' is not a yes/no value (true/false, yes/no, 1/0)"),
        (7, "name: is missing"),
        (8, "unknown session 's-nope'"),
        (9, "badge_id 'B0001' is already used by line 2"),
        (13, "role: must be one of attendee, speaker, exhibitor, staff"),
    ]
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    with Session(venue_engine) as session:
        ada = session.get(Attendee, "ada")
        assert ada is not None
        assert (ada.badge_uid, ada.country, ada.role, ada.tags, ada.interests, ada.consent_tracking) == (
            "04a1b2c3d4e5f6", "DE", "speaker", ["vip", "press"], ["ai", "cloud"], True,
        )  # fmt: skip
        ben = session.get(Attendee, derived_id("ben@example.com"))
        assert ben is not None and ben.name == "Ben Berg" and ben.beacon_id is None
        assert session.get(Attendee, "hiro").name == "Hiro\nIto"  # type: ignore[union-attr]
        query = select(SessionRegistration.session_id).where(SessionRegistration.attendee_id == "ada")
        assert sorted(session.exec(query)) == ["s-a-1030", "s-keynote"]


def test_the_same_file_twice_is_all_unchanged(venue_engine: Engine):
    import_registrations(venue_engine, "demo", parse_registrations_csv(GOOD_AND_BAD))
    again = import_registrations(venue_engine, "demo", parse_registrations_csv(GOOD_AND_BAD))
    assert (again.created, again.updated, again.unchanged, len(again.errors)) == (0, 0, 3, 7)


def test_a_changed_row_updates_and_an_absent_column_is_left_alone(venue_engine: Engine):
    import_registrations(venue_engine, "demo", parse_registrations_csv(GOOD_AND_BAD))
    newer = "id,name,sessions\nada,Ada Adams-Berg,s-b-1030\nhiro,Hiro\n"
    report = import_registrations(venue_engine, "demo", parse_registrations_csv(newer))
    assert (report.created, report.updated, report.unchanged, report.errors) == (0, 2, 0, [])
    with Session(venue_engine) as session:
        ada = session.get(Attendee, "ada")
        assert ada is not None and (ada.name, ada.company, ada.badge_id) == ("Ada Adams-Berg", "Globex", "B0001")
        count = len(session.exec(select(SessionRegistration).where(SessionRegistration.attendee_id == "ada")).all())
        assert count == 3  # registrations are only ever added


def test_a_badge_moves_between_attendees_in_one_file(venue_engine: Engine):
    import_registrations(venue_engine, "demo", parse_registrations_csv("id,name,badge_id\nada,Ada,B1\n"))
    swap = "id,name,badge_id\nada,Ada,B2\nben,Ben,B1\n"  # Ada gets a new badge, hers goes to Ben
    report = import_registrations(venue_engine, "demo", parse_registrations_csv(swap), batch_rows=10)
    assert (report.created, report.updated, report.errors) == (1, 1, [])


def test_a_badge_held_by_a_stored_attendee_is_refused(venue_engine: Engine):
    import_registrations(venue_engine, "demo", parse_registrations_csv("id,name,badge_id\nada,Ada,B1\n"))
    report = import_registrations(venue_engine, "demo", parse_registrations_csv("id,name,badge_id\nben,Ben,B1\n"))
    assert [(e.line, e.reason) for e in report.errors] == [(2, "badge_id 'B1' belongs to attendee 'ada'")]


def test_the_same_attendee_twice_is_refused_the_second_time(venue_engine: Engine):
    text = "name,email\nAda,ada@example.com\nAda again,ADA@example.com\n"
    report = import_registrations(venue_engine, "demo", parse_registrations_csv(text))
    assert [(e.line, e.reason) for e in report.errors] == [
        (3, f"attendee {derived_id('ada@example.com')!r} already appeared on line 2")
    ]


def test_progress_is_reported_after_each_batch(venue_engine: Engine):
    text = "name,email\n" + "".join(f"P{i},p{i}@example.com\n" for i in range(25))
    seen: list[int] = []
    rows = parse_registrations_csv(text)
    report = import_registrations(venue_engine, "demo", rows, progress=seen.append, batch_rows=10)
    assert (seen, report.created) == ([10, 20, 25], 25)


def test_json_rows_count_from_one_and_accept_lists(venue_engine: Engine):
    data = {"registrations": [
        {"id": "ada", "name": "Ada", "tags": ["vip"], "consent_push": True, "sessions": ["s-keynote"], "shoe": 42},
        {"id": "ben"},
        "not an object",
    ]}  # fmt: skip
    warnings: list[str] = []
    report = import_registrations(venue_engine, "demo", parse_registrations_json(data, warnings))
    assert [(e.line, e.reason) for e in report.errors] == [(2, "name: is missing"), (3, "not an object")]
    assert (report.created, warnings) == (1, ["field 'shoe' is not a registration field: ignored"])


def test_files_without_the_needed_columns_are_refused_whole():
    with pytest.raises(RegistrationFileError, match="no 'name' column"):
        list(parse_registrations_csv("id,email\n"))
    with pytest.raises(RegistrationFileError, match="needs an 'id' or an 'email' column"):
        list(parse_registrations_csv("name,company\n"))
    with pytest.raises(RegistrationFileError, match="expected a list of registrations"):
        list(parse_registrations_json({"people": []}))


def test_semicolon_delimited_csv_with_a_bom_and_unknown_columns(venue_engine: Engine):
    warnings: list[str] = []
    rows = list(parse_registrations_csv("\ufeffname;email;ticket\nAda;ada@example.com;VIP\n", warnings))
    assert rows[0].row is not None and rows[0].row.email == "ada@example.com"
    assert warnings == ["column 'ticket' is not a registration field: ignored"]


def test_an_unknown_event_is_a_lookup_error(engine: Engine):
    with pytest.raises(LookupError, match="event 'demo' is not set up yet"):
        import_registrations(engine, "demo", [])


def test_the_example_registrations_import_cleanly(venue_engine: Engine):
    text = (EXAMPLE.parent / "registrations.csv").read_text()
    report = import_registrations(venue_engine, "demo", parse_registrations_csv(text))
    assert (report.created, report.errors, report.warnings) == (5, [], [])
