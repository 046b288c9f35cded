"""`touchpoints venue calibrate`: fit the venue's presence calibration from a survey walk (docs/presence.md).

Exit codes a script can rely on: 0 the new calibration is in force; 1 the fit ran but is not usable (or
nothing could be fitted) and the previous calibration stays in force; 2 the command could not run (bad
settings, unreadable or invalid legs file, unknown badge). A running server picks a new calibration up by
itself within ``server.live.presence.CALIBRATION_POLL_S``: no restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from server.domain.survey import Calibration
    from server.venue.calibrate import CalibrationOutcome

app = typer.Typer(help="The venue: presence calibration from a survey walk.", no_args_is_help=True)
console = Console(stderr=True)

STATUS_STYLE = {"ok": "green", "default": "yellow", "misplaced": "red", "dead": "red"}


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


@app.command("calibrate")
def calibrate_command(
    legs: Annotated[Path, typer.Option("--legs", help='Legs file: {"badge": ..., "legs": [...]} (JSON)')],
    badge: Annotated[
        str | None, typer.Option("--badge", help="Reference badge: attendee id, badge id or beacon id")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="Read sightings from (Unix s or ISO 8601)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Read sightings until (Unix s or ISO 8601)")] = None,
) -> None:
    """Fit each scanner and zone from the reference badge's stored sightings over the walk; store it when usable."""
    from sqlmodel import Session, col, select

    from server.cli import _settings
    from server.store.db import make_engine, migrate
    from server.store.models import Zone
    from server.venue.calibrate import SurveyInputError, calibrate, parse_legs, parse_time, resolve_badge

    settings = _settings()
    try:
        text = legs.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {legs}: {exc}") from None
    engine = make_engine(settings.sqlalchemy_url)
    migrate(engine)
    try:
        with Session(engine) as session:
            zones = set(session.exec(select(Zone.id).where(col(Zone.event_id) == settings.event_id)))
            try:
                file_badge, walk = parse_legs(text, zones)
                reference = badge or file_badge
                if not reference:
                    raise SurveyInputError('no badge: pass --badge or put "badge" in the legs file')
                beacon = resolve_badge(session, settings.event_id, reference)
                window = (
                    parse_time(_number_or_text(start), "--from") if start else float("-inf"),
                    parse_time(_number_or_text(end), "--to") if end else float("inf"),
                )
            except SurveyInputError as exc:
                raise _fail(f"{legs.name}: {exc}") from None
            outcome = calibrate(session, settings.event_id, beacon, walk, created_by="cli", window=window)
            session.commit()
            row_id = outcome.row.id if outcome.row is not None else None
    finally:
        engine.dispose()
    _report(outcome, beacon, row_id)
    if not outcome.usable:
        raise typer.Exit(1)


def _number_or_text(value: str) -> Any:
    try:
        return float(value)
    except ValueError:
        return value


def _report(outcome: CalibrationOutcome, beacon: str, row_id: int | None) -> None:
    console.print(f"reference badge {beacon}: {outcome.sightings} sightings over the walk")
    if outcome.calibration is not None:
        console.print(scanner_table(outcome.calibration))
    for problem in outcome.problems:
        console.print(f"[yellow]problem:[/yellow] {problem}")
    if outcome.usable:
        console.print(f"[green]calibration #{row_id} stored and now in force[/green]")
    elif outcome.calibration is not None:
        console.print(
            f"[red]calibration #{row_id} stored for reading but NOT in force: too few scanners fitted. "
            "The previous calibration stays in force.[/red]"
        )
    else:
        console.print("[red]nothing could be fitted; the previous calibration stays in force.[/red]")


def scanner_table(calibration: Calibration) -> Table:
    table = Table(title="per scanner")
    for column in ("scanner", "gain dBm@1m", "exponent", "reach m", "residual dB", "readings", "status"):
        table.add_column(column, justify="left" if column in ("scanner", "status") else "right")
    for s in sorted(calibration.scanners.values(), key=lambda s: s.scanner_id):
        status = s.status.value
        table.add_row(
            s.scanner_id,
            f"{s.gain_db:.1f}",
            f"{s.exponent:.2f}",
            f"{s.reach_m:.0f}",
            f"{s.residual_db:.1f}",
            str(s.readings),
            f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]" + (f" ({s.note})" if s.note else ""),
        )
    return table
