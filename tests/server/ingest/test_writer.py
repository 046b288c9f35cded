"""Storing decoded messages: idempotent, consent-gated, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from support import (
    ALICE_BEACON,
    BOB_BEACON,
    EVENT,
    STAFF_BEACON,
    T0,
    UUID,
    batch,
    heartbeat,
    seed_small_venue,
    sighting,
    status,
    tap,
)

from edge.protocol import MessageKind, ibeacon_id, topic_for
from server.domain import model as domain
from server.ingest.decode import Accepted, Rejected, Rules, decode
from server.ingest.directory import Directory
from server.ingest.writer import WriteResult, write_batch
from server.store.models import DeadLetter, Device, Touchpoint

RULES = Rules(prefix="touchpoints", event_id=EVENT, max_bytes=65536)
RECEIVED = T0 + 5
UNKNOWN_BEACON = ibeacon_id(UUID, 5, 5)


@pytest.fixture
def directory(engine: Engine) -> Directory:
    seed_small_venue(engine)
    d = Directory(engine, EVENT)
    d.reload()
    return d


def store(engine: Engine, directory: Directory, *messages: object, raw: list[tuple[str, bytes]] = ()) -> WriteResult:
    items: list[Accepted | Rejected] = []
    for m in messages:
        topic = topic_for(MessageKind(m.type), EVENT, m.device_id)  # type: ignore[attr-defined]
        item = decode(topic, m.to_json(), RULES, directory.device)  # type: ignore[attr-defined]
        assert item is not None
        items.append(item)
    for topic, payload in raw:
        item = decode(topic, payload, RULES, directory.device)
        assert item is not None
        items.append(item)
    with engine.begin() as conn:
        return write_batch(conn, items, directory, RECEIVED, EVENT)


def rows(engine: Engine) -> list[Touchpoint]:
    with Session(engine) as s:
        return list(s.exec(select(Touchpoint).order_by(Touchpoint.id)).scalars())  # type: ignore[call-overload]


def test_a_tap_becomes_a_touchpoint_of_the_attendee_at_the_readers_zone(engine, directory):
    store(engine, directory, tap(1))
    [row] = rows(engine)
    assert (row.type, row.attendee_id, row.zone_id, row.device_id, row.seq) == ("tap", "alice", "entrance", "door-1", 1)
    assert (row.occurred_at, row.received_at) == (T0, RECEIVED)
    assert row.data == {"uid": "04a1b2c3d4e5f6", "badge_id": "B0001"}


def test_the_same_tap_delivered_twice_is_one_touchpoint(engine, directory):
    first = store(engine, directory, tap(1))
    again = store(engine, directory, tap(1))
    assert (first.stored["tap"], first.duplicates) == (1, 0)
    assert (again.stored["tap"], again.duplicates) == (0, 1)
    assert len(rows(engine)) == 1


def test_a_duplicate_inside_one_batch_is_stored_once(engine, directory):
    result = store(engine, directory, tap(7), tap(7))
    assert len(rows(engine)) == 1
    assert result.stored["tap"] == 1


def test_each_sighting_of_a_batch_is_a_touchpoint_and_a_redelivered_batch_adds_none(engine, directory):
    message = batch(3, [sighting(ALICE_BEACON, rssi=-61.5), sighting(STAFF_BEACON), sighting(UNKNOWN_BEACON)])
    store(engine, directory, message)
    store(engine, directory, message)
    stored = rows(engine)
    assert [(r.attendee_id, r.beacon_id, r.idx) for r in stored] == [
        ("alice", ALICE_BEACON, 0),
        ("sam", STAFF_BEACON, 1),
        (None, UNKNOWN_BEACON, 2),
    ]
    assert (stored[0].rssi, stored[0].count, stored[0].ended_at, stored[0].zone_id) == (-61.5, 3, T0 + 1.5, "booth-1")


def test_sightings_of_a_badge_without_tracking_consent_are_discarded_on_arrival(engine, directory):
    result = store(engine, directory, batch(1, [sighting(BOB_BEACON), sighting(ALICE_BEACON)]))
    assert [r.attendee_id for r in rows(engine)] == ["alice"]
    assert result.discarded_no_consent == 1


def test_a_heartbeat_updates_the_devices_health_and_last_seen(engine, directory):
    store(engine, directory, heartbeat(4, spool_depth=12), heartbeat(3, at=T0 - 30, spool_depth=99))
    with Session(engine) as s:
        device = s.get(Device, "door-1")
    assert device is not None
    assert device.last_heartbeat["spool_depth"] == 12  # the newest capture wins, whatever the order
    assert (device.last_seen_at, device.last_seq) == (RECEIVED, 4)
    assert rows(engine) == []


def test_the_last_status_received_wins_because_a_last_will_carries_its_connect_time(engine, directory):
    store(engine, directory, status("online", T0 + 10))
    store(engine, directory, status("offline", T0))  # the will, written when the device connected
    with Session(engine) as s:
        device = s.get(Device, "door-1")
    assert device is not None and (device.state, device.state_at) == ("offline", RECEIVED)


def test_a_retained_status_replayed_on_subscribe_sets_state_but_not_last_seen(engine, directory):
    topic = topic_for(MessageKind.STATUS, EVENT, "door-1")
    item = decode(topic, status("online", T0 - 3600).to_json(), RULES, directory.device)
    assert isinstance(item, Accepted)
    with engine.begin() as conn:
        write_batch(conn, [replace(item, retained=True)], directory, RECEIVED, EVENT)
    with Session(engine) as s:
        device = s.get(Device, "door-1")
    assert device is not None
    assert (device.state, device.state_at, device.last_seen_at) == ("online", T0 - 3600, None)


def test_a_refused_retained_message_is_dead_lettered_once_however_often_it_is_replayed(engine, directory):
    topic = topic_for(MessageKind.STATUS, EVENT, "door-1")
    item = decode(topic, b"{broken", RULES, directory.device)
    assert isinstance(item, Rejected)
    for _ in range(3):
        with engine.begin() as conn:
            write_batch(conn, [replace(item, retained=True)], directory, RECEIVED, EVENT)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(DeadLetter)).scalar_one() == 1


def test_refused_messages_are_dead_lettered_with_reason_and_bytes(engine, directory):
    result = store(engine, directory, tap(1), raw=[(topic_for(MessageKind.TAP, EVENT, "door-1"), b"{oops")])
    with Session(engine) as s:
        [letter] = s.exec(select(DeadLetter)).scalars()  # type: ignore[call-overload]
        assert (letter.reason, letter.payload, letter.device_id, letter.size) == ("invalid_json", b"{oops", "door-1", 5)
    assert result.dead_letters == {"invalid_json": 1}
    assert len(rows(engine)) == 1


def test_an_unknown_badge_tap_is_kept_without_an_attendee(engine, directory):
    result = store(engine, directory, tap(2, uid="0499999999999999", badge_id=None))
    [row] = rows(engine)
    assert row.attendee_id is None and result.unknown_badges == 1


def test_counts_per_type(engine, directory):
    store(engine, directory, tap(1), batch(2, [sighting(ALICE_BEACON)]))
    with engine.connect() as conn:
        counts = dict(conn.execute(select(Touchpoint.type, func.count()).group_by(Touchpoint.type)).all())
    assert counts == {"tap": 1, "sighting": 1}


def test_presence_gets_the_new_signals_of_known_consenting_attendees_but_never_staff(engine, directory):
    result = store(
        engine,
        directory,
        tap(1),
        batch(
            2,
            [sighting(ALICE_BEACON, rssi=-58), sighting(BOB_BEACON), sighting(STAFF_BEACON), sighting(UNKNOWN_BEACON)],
        ),
    )
    assert result.presence_taps == [domain.Tap("alice", "door-1", T0)]
    assert result.presence_sightings == [domain.Sighting("alice", "booth-1-scanner", -58, T0, T0 + 1.5, 3, 2.0)]
    again = store(engine, directory, tap(1))
    assert again.presence_taps == []  # a redelivery feeds presence nothing new


def test_skipped_and_late_sequence_numbers_are_counted(engine, directory):
    store(engine, directory, tap(1), tap(2))
    skipped = store(engine, directory, tap(6))  # 3, 4 and 5 never came
    late = store(engine, directory, tap(4))  # ...until one of them does
    assert (skipped.seq_gaps, skipped.seq_late) == (3, 0)
    assert (late.seq_gaps, late.seq_late) == (0, 1)
