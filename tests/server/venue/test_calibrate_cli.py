"""`touchpoints venue calibrate`: the per-scanner table, named problems, and exit codes a script relies on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from survey_support import REF_BEACON, seed_hall, store_walk, walk_legs
from typer.testing import CliRunner

from server.cli import app
from server.store.calibration import active_calibration, calibration_history

runner = CliRunner()


@pytest.fixture
def cli_env(database_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TOUCHPOINTS_DATABASE_URL", database_url)
    monkeypatch.setenv("TOUCHPOINTS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.delenv("TOUCHPOINTS_EVENT_ID", raising=False)
    return tmp_path


def legs_file(directory: Path, legs: list[dict], badge: str | None = None) -> Path:
    path = directory / "walk.json"
    path.write_text(json.dumps({"badge": badge, "legs": legs}))
    return path


def test_a_good_walk_prints_each_scanner_and_puts_the_calibration_in_force(cli_env: Path, engine: Engine):
    seed_hall(engine, staff_badge=True)
    legs = walk_legs()
    store_walk(engine, legs, seed=3, attendee_id="surveyor")
    result = runner.invoke(app, ["venue", "calibrate", "--badge", "surveyor", "--legs", str(legs_file(cli_env, legs))])
    assert result.exit_code == 0, result.output
    for scanner in ("s-entrance", "s-booth-1", "s-booth-2", "s-lounge", "pole"):
        assert scanner in result.output
    assert f"reference badge {REF_BEACON}" in result.output
    assert "stored and now in force" in result.output
    with Session(engine) as session:
        assert active_calibration(session, "demo") is not None


def test_a_walk_nobody_made_exits_1_and_the_previous_calibration_stays(cli_env: Path, engine: Engine):
    seed_hall(engine)
    legs = walk_legs()
    store_walk(engine, legs, seed=3)
    good = runner.invoke(app, ["venue", "calibrate", "--legs", str(legs_file(cli_env, legs, REF_BEACON))])
    assert good.exit_code == 0, good.output
    empty = legs_file(cli_env, walk_legs(start=legs[-1]["ended_at"] + 3600), REF_BEACON)
    result = runner.invoke(app, ["venue", "calibrate", "--legs", str(empty)])
    assert result.exit_code == 1, result.output
    assert "previous calibration stays in force" in result.output
    with Session(engine) as session:
        assert [row.active for row in calibration_history(session, "demo")] == [True]


def test_a_window_outside_the_walk_reads_no_sightings(cli_env: Path, engine: Engine):
    seed_hall(engine)
    legs = walk_legs()
    store_walk(engine, legs, seed=3)
    path = str(legs_file(cli_env, legs, REF_BEACON))
    result = runner.invoke(app, ["venue", "calibrate", "--legs", path, "--to", "2020-01-01T00:00:00Z"])
    assert result.exit_code == 1 and "0 sightings over the walk" in result.output


def test_a_bad_legs_file_or_a_missing_badge_exits_2_naming_the_problem(cli_env: Path, engine: Engine):
    seed_hall(engine)
    bad = legs_file(cli_env, [{"zone_id": "nowhere", "started_at": 0, "ended_at": 30}], REF_BEACON)
    result = runner.invoke(app, ["venue", "calibrate", "--legs", str(bad)])
    assert result.exit_code == 2 and "no zone 'nowhere' in this event" in result.output
    no_badge = legs_file(cli_env, walk_legs())
    result = runner.invoke(app, ["venue", "calibrate", "--legs", str(no_badge)])
    assert result.exit_code == 2 and "no badge" in result.output
    result = runner.invoke(app, ["venue", "calibrate", "--legs", str(cli_env / "missing.json"), "--badge", "x"])
    assert result.exit_code == 2 and "cannot read" in result.output
