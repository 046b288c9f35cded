"""Presence, journeys and scores update as messages arrive, through the running server."""

from __future__ import annotations

from support import ALICE_BEACON, CAROL_BEACON, T0, LiveServer, batch, sighting, wait_until


def alice_at_booth(server: LiveServer, seconds: int) -> None:
    """Alice stands at booth 1: its scanner hears her strongly every 2 s window."""
    messages = [
        (server.topic("sightings", "booth-1-scanner"), batch(seq, [sighting(ALICE_BEACON, rssi=-52, at=T0 + 2 * seq)],
                                                            at=T0 + 2 * seq).to_json())
        for seq in range(seconds // 2)
    ]  # fmt: skip
    server.publisher.publish_many(messages)


def test_a_stay_at_a_booth_becomes_a_visit_that_closes_when_the_badge_is_gone(live_server: LiveServer):
    s = live_server
    alice_at_booth(s, seconds=90)

    def occupancy() -> dict[str, int]:
        return {z["zone_id"]: z["present"] for z in s.get("/api/v1/presence/occupancy")}  # type: ignore[union-attr]

    assert wait_until(lambda: occupancy().get("booth-1") == 1, timeout=20), occupancy()
    assert wait_until(lambda: len(s.get("/api/v1/attendees/alice/visits")) == 1)  # type: ignore[arg-type]
    [open_visit] = s.get("/api/v1/attendees/alice/visits")  # type: ignore[misc]
    assert (open_visit["zone_id"], open_visit["ended_at"]) == ("booth-1", None)
    assert open_visit["started_at"] <= T0 + 2

    # Much later, only Carol is heard at the door: the data clock moves on and Alice's visit closes
    # at her last sighting, not at the moment the timeout noticed it.
    s.publisher.publish(s.topic("sightings", "door-1"), batch(100, [sighting(CAROL_BEACON, at=T0 + 400)],
                                                                device="door-1", at=T0 + 400).to_json())  # fmt: skip
    assert wait_until(lambda: s.get("/api/v1/attendees/alice/visits")[0]["ended_at"] is not None, timeout=20)
    [visit] = s.get("/api/v1/attendees/alice/visits")  # type: ignore[misc]
    assert T0 + 85 <= visit["ended_at"] <= T0 + 92
    assert visit["dwell_s"] == visit["ended_at"] - visit["started_at"]
    assert occupancy().get("booth-1") == 0


def test_the_journey_and_score_follow_the_visit(live_server: LiveServer):
    s = live_server
    alice_at_booth(s, seconds=120)
    s.publisher.publish(s.topic("sightings", "door-1"), batch(200, [sighting(CAROL_BEACON, at=T0 + 600)],
                                                                device="door-1", at=T0 + 600).to_json())  # fmt: skip
    assert wait_until(lambda: s.get("/api/v1/attendees/alice")["score"] is not None, timeout=20), (
        s.get("/api/v1/attendees/alice/visits"),
        s.get("/api/v1/presence/occupancy"),
    )
    journey = s.get("/api/v1/attendees/alice/journey")
    kinds = [e["kind"] for e in journey["entries"]]  # type: ignore[index]
    assert kinds == ["registration", "booth_visit"]
    assert journey["stage"] == "engaged"  # type: ignore[index]
    lines = journey["score_breakdown"]["lines"]  # type: ignore[index]
    assert sum(float(line["points"]) for line in lines) == float(journey["score_breakdown"]["total"])  # type: ignore[index]
    ranked = s.get("/api/v1/attendees", params={"order": "score"})["items"]  # type: ignore[index]
    assert ranked[0]["id"] == "alice"


def test_a_calibration_put_in_force_reaches_the_running_engine_without_a_restart(live_server: LiveServer):
    from sqlmodel import Session

    from server.domain.survey import Calibration, ScannerCalibration
    from server.store.calibration import WalkInfo, save_calibration

    runtime = live_server.client.app.state.runtime  # type: ignore[attr-defined]
    assert runtime.pipeline.presence.calibration_id is None  # never calibrated: the documented defaults
    fit = Calibration(T0, {"door-1": ScannerCalibration("door-1", -61.0, 2.3, 14.0, 2.8, 60)})
    with Session(runtime.engine) as session:
        row = save_calibration(session, "demo", fit, WalkInfo("ibeacon:ref", T0, T0 + 900), usable=True)
        session.commit()
        row_id = row.id
    runtime.pipeline.venue_changed()  # as POST /api/v1/calibration/walks/{id}/finish does
    assert wait_until(lambda: runtime.pipeline.presence.calibration_id == row_id, timeout=10)
