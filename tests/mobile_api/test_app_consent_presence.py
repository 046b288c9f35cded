"""Withdrawing tracking consent (in the app or by a registration import), or being erased, takes effect in live
presence at once, not at a timeout."""

from __future__ import annotations

from app_support import Inbox, bearer, sign_in
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from support import ALICE_BEACON, AUTH, T0, LiveServer, batch, sighting, wait_until

from server.store.models import IngestedMessage, Touchpoint, Visit


def at_booth(s: LiveServer, first_seq: int, windows: int) -> None:
    """Alice at booth 1: its scanner hears her strongly, one 2 s window per message."""
    s.publisher.publish_many(
        (s.topic("sightings", "booth-1-scanner"),
         batch(seq, [sighting(ALICE_BEACON, rssi=-52, at=T0 + 2 * seq)], at=T0 + 2 * seq).to_json())
        for seq in range(first_seq, first_seq + windows)
    )  # fmt: skip


def occupancy(s: LiveServer) -> dict[str, int]:
    return {z["zone_id"]: z["present"] for z in s.get("/api/v1/presence/occupancy")}


def counts(engine: Engine) -> tuple[int, int]:
    """(messages ingested, Alice's stored sightings)."""
    with Session(engine) as session:
        messages = session.exec(select(func.count()).select_from(IngestedMessage)).one()
        mine = session.exec(select(func.count()).select_from(Touchpoint).where(
            col(Touchpoint.attendee_id) == "alice", col(Touchpoint.type) == "sighting")).one()  # fmt: skip
    return int(messages), int(mine)


def test_withdrawing_tracking_closes_my_visit_and_empties_my_zone_at_once(live_app: LiveServer, smtp: Inbox,
                                                                          engine: Engine):  # fmt: skip
    s = live_app
    at_booth(s, 0, 45)  # 90 s at the booth: a visit, announced and open
    assert wait_until(lambda: occupancy(s).get("booth-1") == 1, timeout=20), occupancy(s)
    assert wait_until(lambda: [v["ended_at"] for v in s.get("/api/v1/attendees/alice/visits")] == [None])
    assert wait_until(lambda: counts(engine) == (45, 45))

    alice = bearer(sign_in(s.client, smtp, "alice@example.com"))
    assert s.client.put("/app/v1/me/consent", headers=alice, json={"tracking": False}).status_code == 200

    # No waiting: when the answer is back, presence has forgotten her (the badge timeout is 20 s of data time).
    assert occupancy(s).get("booth-1", 0) == 0
    assert s.get("/api/v1/attendees/alice")["current_zone_id"] is None
    [visit] = s.get("/api/v1/attendees/alice/visits")
    assert visit["ended_at"] is not None and T0 + 86 <= visit["ended_at"] <= T0 + 92  # at her last evidence
    assert visit["dwell_s"] == visit["ended_at"] - visit["started_at"]

    at_booth(s, 45, 30)  # she stays another minute: nothing of it is kept, nothing re-opens
    assert wait_until(lambda: counts(engine)[0] == 75)
    assert counts(engine) == (75, 45)
    assert occupancy(s).get("booth-1", 0) == 0
    with Session(engine) as session:
        visits = session.exec(select(Visit).where(col(Visit.attendee_id) == "alice")).all()
        assert [(v.zone_id, v.ended_at) for v in visits] == [("booth-1", visit["ended_at"])]


def test_a_registration_import_withdrawing_tracking_closes_the_visit_at_once_as_the_app_does(
    live_app: LiveServer, engine: Engine
):
    s = live_app
    at_booth(s, 0, 45)
    assert wait_until(lambda: occupancy(s).get("booth-1") == 1, timeout=20), occupancy(s)
    assert wait_until(lambda: [v["ended_at"] for v in s.get("/api/v1/attendees/alice/visits")] == [None])

    name = s.get("/api/v1/attendees/alice")["name"]
    answer = s.client.post("/api/v1/registrations", content=f"id,name,consent_tracking\nalice,{name},no\n",
                           headers={**AUTH, "Content-Type": "text/csv"})  # fmt: skip
    assert answer.status_code == 200 and answer.json()["updated"] == 1, answer.text

    assert occupancy(s).get("booth-1", 0) == 0  # when the import answers, presence has forgotten her
    [visit] = s.get("/api/v1/attendees/alice/visits")
    assert visit["ended_at"] is not None and T0 + 86 <= visit["ended_at"] <= T0 + 92  # at her last evidence
    at_booth(s, 45, 15)  # her badge is still heard: nothing of it is kept, nothing re-opens
    assert wait_until(lambda: counts(engine)[0] == 60)
    assert counts(engine)[1] == 45 and occupancy(s).get("booth-1", 0) == 0


def test_an_erased_attendee_leaves_presence_at_once_and_no_visit_of_theirs_comes_back(
    live_app: LiveServer, smtp: Inbox, engine: Engine
):
    s = live_app
    at_booth(s, 0, 45)
    assert wait_until(lambda: occupancy(s).get("booth-1") == 1, timeout=20), occupancy(s)
    assert wait_until(lambda: len(s.get("/api/v1/attendees/alice/visits")) == 1)
    alice = bearer(sign_in(s.client, smtp, "alice@example.com"))
    assert s.client.delete("/app/v1/me", headers=alice).status_code == 200
    assert occupancy(s).get("booth-1", 0) == 0

    at_booth(s, 45, 15)  # her badge is still heard: an unknown beacon now
    assert wait_until(lambda: counts(engine)[0] == 60)
    with Session(engine) as session:
        assert session.exec(select(Visit).where(col(Visit.attendee_id) == "alice")).all() == []
