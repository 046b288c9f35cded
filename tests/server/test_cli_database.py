"""Every `touchpoints` command that needs the schema migrates it or says in one line what to run.

Before: `touchpoints broker config` on a database that was never migrated died with a traceback
("no such table: device").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from server.cli import app


@pytest.fixture
def never_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "fresh" / "touchpoints.db"
    monkeypatch.setenv("TOUCHPOINTS_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("TOUCHPOINTS_MQTT_URL", "mqtt://ingest:s3cret@broker:1883")
    monkeypatch.setenv("TOUCHPOINTS_SIGHTING_RETENTION_DAYS", "30")
    return path


@pytest.mark.parametrize(
    "command", [["broker", "config", "--out", "{out}"], ["privacy", "purge"], ["privacy", "erase", "a-1"]]
)
def test_a_command_on_a_never_migrated_database_says_in_one_line_to_run_migrate(
    never_migrated: Path, tmp_path: Path, command: list[str]
):
    result = CliRunner().invoke(app, [part.format(out=tmp_path / "out") for part in command])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines == [f"error: the database has no schema yet (sqlite:///{never_migrated}): run `touchpoints migrate`"]
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    assert not (tmp_path / "out").exists()  # nothing written from an empty registry


def test_after_migrate_the_same_command_works(never_migrated: Path, tmp_path: Path):
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    result = runner.invoke(app, ["broker", "config", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "passwd").exists()


def test_a_command_that_sets_a_database_up_migrates_it_itself(never_migrated: Path, tmp_path: Path):
    venue = tmp_path / "venue.yaml"
    venue.write_text(
        "event: {id: demo, name: Demo, starts_at: 2026-06-10T08:00:00Z, ends_at: 2026-06-10T18:00:00Z}\n"
        "zones:\n  - {id: hall, name: Hall, kind: room, x: 0, y: 0, width: 10, height: 10}\n"
    )
    result = CliRunner().invoke(app, ["import", "venue", str(venue)])
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(app, ["privacy", "purge"]).exit_code == 0  # the schema is there now
