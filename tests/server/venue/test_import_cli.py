"""`touchpoints import venue|registrations`: summaries, and exit codes a script can rely on."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from server.cli import app
from server.store.models import Attendee

EXAMPLE = Path(__file__).parents[3] / "docs" / "examples" / "venue.yaml"
runner = CliRunner()


@pytest.fixture
def cli_env(database_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TOUCHPOINTS_DATABASE_URL", database_url)
    monkeypatch.setenv("TOUCHPOINTS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("TOUCHPOINTS_EVENT_ID", raising=False)
    return tmp_path


def test_import_venue_then_registrations_exit_0(cli_env: Path, engine: Engine):
    venue = runner.invoke(app, ["import", "venue", str(EXAMPLE)])
    assert venue.exit_code == 0, venue.output
    assert "zones" in venue.output and "33" in venue.output
    csv_file = cli_env / "regs.csv"
    csv_file.write_text("id,name,badge_id,sessions\nada,Ada,B1,s-keynote\nben,Ben,B2,\n")
    first = runner.invoke(app, ["import", "registrations", str(csv_file)])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["import", "registrations", str(csv_file), "--format", "csv"])
    assert again.exit_code == 0 and "unchanged" in again.output
    with Session(engine) as session:
        assert session.get(Attendee, "ada") is not None


def test_a_failed_row_exits_1_and_names_its_line(cli_env: Path):
    assert runner.invoke(app, ["import", "venue", str(EXAMPLE)]).exit_code == 0
    json_file = cli_env / "regs.json"
    json_file.write_text('[{"id": "ada", "name": "Ada"}, {"id": "ben", "name": "Ben", "country": "Germany"}]')
    result = runner.invoke(app, ["import", "registrations", str(json_file)])
    assert result.exit_code == 1, result.output
    assert "regs.json:2: country: 'Germany' is not an ISO 3166 two-letter country code" in result.output


def test_an_invalid_venue_exits_1_and_imports_nothing(cli_env: Path):
    bad = cli_env / "venue.yaml"
    bad.write_text(EXAMPLE.read_text().replace("zone_id: room-b\n", "zone_id: room-z\n", 1))
    result = runner.invoke(app, ["import", "venue", str(bad)])
    assert result.exit_code == 1
    assert "sessions[2].zone_id: unknown zone 'room-z'" in result.output
    assert "nothing imported" in result.output


def test_registrations_before_the_event_exist_exit_2(cli_env: Path):
    csv_file = cli_env / "regs.csv"
    csv_file.write_text("id,name\nada,Ada\n")
    result = runner.invoke(app, ["import", "registrations", str(csv_file)])
    assert result.exit_code == 2 and "import the venue first" in result.output
    assert runner.invoke(app, ["import", "registrations", str(cli_env / "missing.csv")]).exit_code == 2
