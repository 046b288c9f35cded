"""GET /api/v1/visits: filters by attendee, zone, overlapping time range and open-only; keyset pages that
neither skip nor repeat; staff and exhibitors (own booths only) see no names."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session
from support import AUTH, EVENT, T0

from server.store.models import Visit

BOOTH = {"name": "Booth 2", "kind": "booth", "x": 30, "y": 0, "width": 5, "height": 5, "exhibitor_id": "acme"}


def bearer(api: TestClient, role: str, subject: str | None = None) -> dict[str, str]:
    token = api.post("/api/v1/tokens", headers=AUTH, json={"role": role, "subject": subject}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def store_visits(engine: Engine) -> None:
    """alice: entrance 0-60 s, booth-1 100-400 s, entrance 500 s- (open); carol: booth-1 200-250 s."""
    rows = [
        ("alice", "entrance", 0, 60),
        ("alice", "booth-1", 100, 400),
        ("alice", "entrance", 500, None),
        ("carol", "booth-1", 200, 250),
    ]
    with Session(engine) as session:
        for attendee, zone, start, end in rows:
            session.add(
                Visit(
                    event_id=EVENT,
                    attendee_id=attendee,
                    zone_id=zone,
                    started_at=T0 + start,
                    ended_at=None if end is None else T0 + end,
                    dwell_s=None if end is None else float(end - start),
                )
            )
        session.add(Visit(event_id="other", attendee_id="alice", zone_id="x", started_at=T0))
        session.commit()


def spans(response: dict) -> list[tuple[str | None, str, float, float | None]]:
    return [
        (v["attendee_id"], v["zone_id"], v["started_at"] - T0, None if v["ended_at"] is None else v["ended_at"] - T0)
        for v in response["items"]
    ]


def test_all_visits_of_the_event_in_start_order(api: TestClient, engine: Engine):
    store_visits(engine)
    page = api.get("/api/v1/visits", headers=AUTH).json()
    assert spans(page) == [
        ("alice", "entrance", 0, 60),
        ("alice", "booth-1", 100, 400),
        ("carol", "booth-1", 200, 250),
        ("alice", "entrance", 500, None),
    ]
    assert page["next_cursor"] is None


def test_filters_by_attendee_zone_open_and_an_overlapping_range(api: TestClient, engine: Engine):
    store_visits(engine)
    get = lambda query: spans(api.get(f"/api/v1/visits?{query}", headers=AUTH).json())  # noqa: E731
    assert get("attendee_id=carol") == [("carol", "booth-1", 200, 250)]
    assert get("zone_id=entrance&attendee_id=alice") == [("alice", "entrance", 0, 60), ("alice", "entrance", 500, None)]
    assert get("open=true") == [("alice", "entrance", 500, None)]
    # 300-450 s overlaps the booth visit that began at 100 s; the open one began after it.
    assert get(f"from={T0 + 300}&to={T0 + 450}") == [("alice", "booth-1", 100, 400)]
    # An open visit overlaps any range after its start.
    assert get(f"from={T0 + 10_000}") == [("alice", "entrance", 500, None)]
    bad = api.get(f"/api/v1/visits?from={T0 + 10}&to={T0}", headers=AUTH)
    assert (bad.status_code, bad.json()) == (422, {"detail": "`to` is before `from`"})


def test_pages_follow_the_cursor_without_skipping_or_repeating(api: TestClient, engine: Engine):
    store_visits(engine)
    seen, cursor, pages = [], None, 0
    while True:
        query = "limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(f"/api/v1/visits?{query}", headers=AUTH).json()
        seen += spans(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 4 and len(seen) == 4 and len(set(seen)) == 4
    assert [s[2] for s in seen] == [0, 100, 200, 500]
    assert api.get("/api/v1/visits?cursor=nonsense", headers=AUTH).status_code == 422


def test_staff_read_without_names_and_an_exhibitor_sees_only_its_own_booth(api: TestClient, engine: Engine):
    store_visits(engine)
    assert api.get("/api/v1/visits").status_code == 401
    assert api.get("/api/v1/visits", headers=bearer(api, "attendee", "alice")).status_code == 403
    staff = bearer(api, "staff")
    assert [v["attendee_id"] for v in api.get("/api/v1/visits", headers=staff).json()["items"]] == [None] * 4
    assert api.get("/api/v1/visits?attendee_id=alice", headers=staff).status_code == 403
    api.put("/api/v1/exhibitors/acme", headers=AUTH, json={"name": "Acme"})
    api.put("/api/v1/zones/booth-2", headers=AUTH, json=BOOTH)
    with Session(engine) as session:
        session.add(Visit(event_id=EVENT, attendee_id="carol", zone_id="booth-2", started_at=T0 + 700))
        session.commit()
    acme = bearer(api, "exhibitor", "acme")
    assert spans(api.get("/api/v1/visits", headers=acme).json()) == [(None, "booth-2", 700, None)]
    assert api.get("/api/v1/visits?zone_id=booth-1", headers=acme).json()["items"] == []
    assert api.get("/api/v1/visits?attendee_id=carol", headers=acme).status_code == 403
