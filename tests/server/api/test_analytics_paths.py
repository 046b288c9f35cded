"""The organizer's conversion paths over the API: what preceded the lead scans, from stored journeys."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session
from support import AUTH, EVENT, T0

from server.store.models import Touchpoint, Visit


def test_conversion_paths_count_what_preceded_each_lead_scan(api: TestClient, engine: Engine):
    with Session(engine) as s:
        for n, person in enumerate(("alice", "carol")):  # both visit booth 1, then the booth scans them
            at = T0 + 600 * n
            s.add(Visit(attendee_id=person, event_id=EVENT, zone_id="booth-1", started_at=at, ended_at=at + 300))
            s.add(Touchpoint(event_id=EVENT, type="lead_scan", occurred_at=at + 200, received_at=at + 200,
                             attendee_id=person, zone_id="booth-1"))  # fmt: skip
            for k in range(50):  # sightings are not part of a journey
                s.add(Touchpoint(event_id=EVENT, type="sighting", occurred_at=at + k, received_at=at + k, rssi=-60.0,
                                 attendee_id=person, device_id="scanner", seq=1000 * n + k))  # fmt: skip
        s.commit()

    paths = api.get("/api/v1/analytics/conversion-paths", headers=AUTH)

    assert paths.status_code == 200, paths.text
    assert {"sequence": ["booth_visit", "lead_scan"], "count": 2, "share": 1.0} in paths.json()
