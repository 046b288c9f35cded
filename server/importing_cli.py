"""`touchpoints import ...`: load a venue file or a registration list into the database.

Exit codes say what a script needs to know: 0 everything imported, 1 some rows (or the venue) refused,
2 the command could not run at all (bad settings, unreadable file, no event). Server modules are imported
inside the commands, like the rest of the CLI, so that an edge install can still run `touchpoints edge`.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from server.venue.report import ImportReport

app = typer.Typer(help="Import a venue file or registrations into the database.", no_args_is_help=True)
console = Console(stderr=True)
MAX_ERRORS_SHOWN = 20  # a broken 50k-row file would otherwise bury the summary; the rest is counted


class RegistrationFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def _settings() -> Any:
    from server.cli import _settings as load

    return load()


def _engine(settings: Any) -> Any:
    from server.cli_database import open_database

    return open_database(settings, migrate=True)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        console.print(f"[red]error:[/red] cannot read {path}: {exc}")
        raise typer.Exit(2) from None


@app.command("venue")
def import_venue_command(
    file: Annotated[Path, typer.Argument(help="Venue file, YAML or JSON (see docs/venue.md)")],
) -> None:
    """Import a venue (event, exhibitors, zones, agenda, devices). Idempotent; nothing is deleted."""
    from server.venue.importer import import_venue
    from server.venue.schema import VenueError, load_venue

    settings = _settings()
    text = _read(file)
    engine = _engine(settings)
    try:
        report = import_venue(engine, load_venue(text, file.name), event_id=settings.event_id)
    except VenueError as exc:
        for message in exc.messages[:MAX_ERRORS_SHOWN]:
            console.print(f"[red]{file.name}:[/red] {message}")
        _more(len(exc.messages))
        console.print("[red]nothing imported[/red]")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    table = Table(title=f"venue {file.name} -> event {settings.event_id!r}")
    for column in ("", "created", "updated", "unchanged"):
        table.add_column(column, justify="right" if column else "left")
    for kind, counts in report.by_kind.items():
        table.add_row(kind, str(counts.created), str(counts.updated), str(counts.unchanged))
    table.add_row("total", str(report.created), str(report.updated), str(report.unchanged), style="bold")
    console.print(table)


@app.command("registrations")
def import_registrations_command(
    file: Annotated[Path, typer.Argument(help="Registrations, CSV with a header line or JSON")],
    format: Annotated[
        RegistrationFormat | None, typer.Option("--format", help="Default: from the file name (.json, else csv)")
    ] = None,
) -> None:
    """Import registrations row by row: bad rows are reported with their line, good rows imported."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from server.usecases.registrations import (
        RegistrationFileError,
        import_registrations,
        parse_registrations_csv,
        parse_registrations_json,
    )

    settings = _settings()
    text = _read(file)
    kind = format or (RegistrationFormat.JSON if file.suffix.lower() == ".json" else RegistrationFormat.CSV)
    warnings: list[str] = []
    try:
        if kind is RegistrationFormat.JSON:
            rows = list(parse_registrations_json(_json(text, file), warnings))
        else:
            rows = list(parse_registrations_csv(text, warnings))
    except RegistrationFileError as exc:
        console.print(f"[red]{file.name}:[/red] {exc}")
        raise typer.Exit(1) from None
    engine = _engine(settings)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(f"importing {file.name}", total=len(rows))
            report = import_registrations(
                engine,
                settings.event_id,
                rows,
                warnings=warnings,
                progress=lambda done: progress.update(task, completed=done),
            )
    except LookupError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    _summary(report, file)
    if report.errors:
        raise typer.Exit(1)


def _json(text: str, file: Path) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        console.print(f"[red]{file.name}:[/red] not valid JSON: {exc}")
        raise typer.Exit(1) from None


def _summary(report: ImportReport, file: Path) -> None:
    for warning in report.warnings:
        console.print(f"[yellow]{file.name}: {warning}[/yellow]")
    for error in report.errors[:MAX_ERRORS_SHOWN]:
        console.print(f"[red]{file.name}:{error.line}:[/red] {error.reason}")
    _more(len(report.errors))
    table = Table(title=f"registrations {file.name}")
    for column in ("created", "updated", "unchanged", "failed"):
        table.add_column(column, justify="right")
    failed = f"[red]{report.failed}[/red]" if report.failed else "0"
    table.add_row(str(report.created), str(report.updated), str(report.unchanged), failed)
    console.print(table)


def _more(count: int) -> None:
    if count > MAX_ERRORS_SHOWN:
        console.print(f"... and {count - MAX_ERRORS_SHOWN} more")
