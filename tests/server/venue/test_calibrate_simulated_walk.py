"""The whole path on realistic data: the simulator's 15-minute survey walk of the 60 x 40 m hall (the venue's
spare beacon, registered to nobody, heard through the lognormal radio model), decoded and stored by ingest
exactly as from MQTT, then `touchpoints venue calibrate` with the legs file the simulator writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from edge.protocol import MessageKind, topic_for
from server.cli import app
from server.ingest.decode import Accepted, Rejected, Rules, decode
from server.ingest.directory import Directory
from server.ingest.writer import write_batch
from server.simulator.seed import seed_database
from server.simulator.survey import survey_batches, survey_walk
from server.simulator.venues import build_venue
from server.store.calibration import active_calibration

runner = CliRunner()


@pytest.fixture
def cli_env(database_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TOUCHPOINTS_DATABASE_URL", database_url)
    monkeypatch.setenv("TOUCHPOINTS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.delenv("TOUCHPOINTS_EVENT_ID", raising=False)
    return tmp_path


def ingest(engine: Engine, messages: list[tuple[float, object]], event_id: str) -> int:
    """Decode and store the edge's batches as the MQTT consumer does; how many sightings were stored."""
    directory = Directory(engine, event_id)
    directory.reload()
    rules = Rules(prefix="touchpoints", event_id=event_id, max_bytes=65536)
    items: list[Accepted | Rejected] = []
    for _at, batch in messages:
        topic = topic_for(MessageKind.SIGHTINGS, event_id, batch.device_id, "touchpoints")  # type: ignore[attr-defined]
        item = decode(topic, batch.to_json(), rules, directory.device)  # type: ignore[attr-defined]
        assert isinstance(item, Accepted), item
        items.append(item)
    with engine.begin() as conn:
        result = write_batch(conn, items, directory, messages[-1][0] + 1, event_id)
    return int(result.touchpoints["sighting"])


def test_a_simulated_walk_of_the_hall_calibrates_every_scanner(cli_env: Path, engine: Engine):
    scenario = build_venue("hall", seed=7, attendees=5)
    seed_database(engine, scenario)
    walk = survey_walk(scenario, "lognormal", seed=7)
    assert walk.ended_at - walk.started_at <= 16 * 60
    stored = ingest(engine, list(survey_batches(scenario, walk, {})), scenario.event.id)
    assert stored == len(walk.sightings)
    legs = cli_env / "walk.json"
    legs.write_text(json.dumps(walk.legs_json()))
    result = runner.invoke(app, ["venue", "calibrate", "--legs", str(legs)])
    assert result.exit_code == 0, result.output
    assert "stored and now in force" in result.output
    with Session(engine) as session:
        calibration = active_calibration(session, scenario.event.id)
    assert calibration is not None
    assert set(calibration.scanners) == {d.id for d in scenario.devices}
    fitted = [s for s in calibration.scanners.values() if s.status == "ok"]
    assert len(fitted) >= 0.9 * len(scenario.devices)
