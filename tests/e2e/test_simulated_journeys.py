"""From simulated radio to journeys: simulator -> broker -> ingest -> presence -> visits, scores, analytics.

The simulated conference's morning (arrivals and the opening keynote) is published as fast as possible
through the real broker into a running server; then the organizer API must tell the story the ground truth
tells: people checked in, attended the keynote, visited booths, and have journeys with scores.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from support import ADMIN, AUTH, clear_session, wait_until

from server.app import create_app
from server.core.config import load_settings
from server.simulator.movement import plan_itineraries
from server.simulator.run import run_simulation
from server.simulator.scenario import build_scenario
from server.simulator.seed import seed_database
from server.store.models import IngestedMessage

ATTENDEES = 20
MORNING_S = 45 * 60  # doors open at 08:30; the opening keynote runs 09:00-09:45
# Paced like a (fast) live venue, not as fast as possible: the machine's Mosquitto keeps only 1,000 messages
# for a subscriber that falls behind, and this test shares two cores between simulator and server.
SPEED = 80


@pytest.mark.slow
def test_a_simulated_morning_becomes_journeys_scores_and_analytics(
    database_url: str, engine: Engine, mqtt_url: str, mqtt_protocol: str, topic_prefix: str, tmp_path: Path
):
    scenario = build_scenario(seed=7, attendees=ATTENDEES)
    seed_database(engine, scenario)
    settings = load_settings(
        database_url=database_url,
        mqtt_url=mqtt_url,
        mqtt_topic_prefix=topic_prefix,
        mqtt_protocol=mqtt_protocol,
        mqtt_client_id=f"e2e-{uuid.uuid4().hex[:8]}",
        admin_token=ADMIN,
        var_dir=tmp_path,
    )
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            runtime = app.state.runtime
            assert runtime.ingest.wait_connected(10)
            stats = run_simulation(scenario, mqtt_url, prefix=topic_prefix, speed=SPEED, duration_s=MORNING_S)

            def stored() -> int:
                with engine.connect() as conn:
                    return int(conn.execute(select(func.count()).select_from(IngestedMessage)).scalar_one())

            device_messages = stats.messages - stats.statuses
            assert wait_until(lambda: stored() == device_messages, timeout=120), (stored(), device_messages)
            assert wait_until(lambda: runtime.pipeline.presence._queue.empty(), timeout=60)
            runtime.pipeline.scores.flush()

            def get(path: str) -> object:
                response = client.get(path, headers=AUTH)
                assert response.status_code == 200, response.text
                return response.json()

            attendance = get("/api/v1/analytics/attendance")
            staff = {a.id for a in scenario.attendees if a.role == "staff"}
            arrived = {
                tap.attendee_id
                for itinerary in plan_itineraries(scenario)
                for tap in itinerary.taps
                if tap.reason == "check_in" and tap.at < stats.sim_end and tap.attendee_id not in staff
            }
            assert attendance["checked_in"] == len(arrived)  # type: ignore[index]

            sessions = {s["title"]: s for s in get("/api/v1/analytics/sessions")}  # type: ignore[union-attr]
            assert sessions["Opening keynote"]["attended"] > 0, sessions["Opening keynote"]

            booths = get("/api/v1/analytics/booths")
            assert sum(b["visits"] for b in booths) > 0  # type: ignore[union-attr]

            top = get("/api/v1/analytics/top-attendees?n=3")
            assert len(top) == 3 and top[0]["score"] > 0  # type: ignore[arg-type,index]
            journey = get(f"/api/v1/attendees/{top[0]['attendee_id']}/journey")  # type: ignore[index]
            kinds = {e["kind"] for e in journey["entries"]}  # type: ignore[index]
            assert {"registration", "check_in"} <= kinds
            funnel = get("/api/v1/analytics/funnel")
            assert [step["stage"] for step in funnel][:3] == ["registered", "arrived", "engaged"]  # type: ignore[index,union-attr]
            assert funnel[1]["reached"] > 0  # type: ignore[index]
    finally:
        clear_session(mqtt_url, settings.mqtt_client_id)
