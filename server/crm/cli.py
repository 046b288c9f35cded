"""`touchpoints crm ...`: check the org, sync (or dry-run), re-drive parked records, status, post-event, emulator.

Heavy imports stay inside the commands (the CLI also runs on edge devices without server dependencies).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Salesforce sync: check, sync, retry, status (docs/salesforce.md).", no_args_is_help=True)


class _Out:
    """A console made per use: it sizes itself to the terminal (or $COLUMNS) of the command being run."""

    def print(self, *args: Any, **kwargs: Any) -> None:
        Console().print(*args, **kwargs)


out = _Out()
err = Console(stderr=True)


def _settings() -> Any:
    from server.core.config import ConfigError, load_settings
    from server.core.logging import configure_logging

    try:
        settings = load_settings()
    except ConfigError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _engine(settings: Any) -> Any:
    from server.cli_database import open_database

    return open_database(settings, migrate=True)


@app.command()
def check() -> None:
    """Log in, then check every object, custom field and permission the sync needs; exit 1 if anything is missing."""
    from dataclasses import replace

    from server.crm.check import check_org
    from server.crm.connection import ConnectionConfig, SalesforceConnection
    from server.crm.deployment import deployment_id
    from server.crm.mapping import load_mapping
    from server.crm.sender import CallFailed, Sender

    settings = _settings()
    sender = Sender(SalesforceConnection(ConnectionConfig.from_settings(settings)))
    deployment = deployment_id(_engine(settings), settings.salesforce_deployment_id)
    mapping = replace(load_mapping(settings.salesforce_mapping_path), deployment=deployment)
    try:
        rows = check_org(sender, mapping, settings.salesforce_erasure, settings.event_id)
    except CallFailed as exc:
        out.print(f"[red]cannot reach Salesforce at {settings.salesforce_login_url}: {exc.message}[/red]")
        raise typer.Exit(1) from None
    table = Table(title="Salesforce org check")
    for column in ("object", "field", "status", "detail"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.sobject, row.field or "(object)", "[green]ok[/green]" if row.ok else "[red]MISSING[/red]", row.detail
        )
    out.print(table)
    missing = [r for r in rows if not r.ok]
    if missing:
        out.print(
            f"[red]{len(missing)} missing[/red]: " + ", ".join(f"{r.sobject}.{r.field}".rstrip(".") for r in missing)
        )
        raise typer.Exit(1)
    out.print("[green]everything the mapping needs is there[/green]")


@app.command()
def sync(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be sent; send nothing")] = False,
    follow: Annotated[bool, typer.Option("--follow", help="Keep running (the worker loop) until stopped")] = False,
    limit: Annotated[int, typer.Option(min=1, help="Dry run: records shown at most")] = 50,
) -> None:
    """Drain the outbox into Salesforce now (or with --dry-run show what a drain would send)."""
    from server.crm.service import build_sync

    settings = _settings()
    engine = _engine(settings)
    if dry_run:
        import orjson

        records = build_sync(settings, engine, connect=False).preview()
        table = Table(title=f"dry run: {len(records)} records would be sent (unchanged ones excluded)")
        for column in ("record", "sObject", "upsert on", "values"):
            table.add_column(column, overflow="fold")
        for record in records[:limit]:
            table.add_row(
                record.key, record.sobject, record.ext_field or "Id", orjson.dumps(record.values).decode()[:400]
            )
        out.print(table)
        print(orjson.dumps({"dry_run": True, "records": len(records)}).decode())
        return
    worker = build_sync(settings, engine)
    if follow:
        worker.start()
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            worker.stop()
        return
    report = worker.drain()
    out.print(summary(report))


def summary(report: Any) -> str:
    """One line of what a drain did: a failure it got past is "recovered from", not "stopped by"."""
    text = (
        f"erased {report.erasures}, sent {report.sent} (created {report.created}, updated {report.updated}), unchanged "
        f"{report.skipped_unchanged}, parked {report.parked}, retrying {report.retrying}"
    )
    if report.noted:
        text += f", {report.noted} written with changes (cut, email dropped: `touchpoints crm status`)"
    if report.converted:
        text += f", {report.converted} converted Lead(s) followed to their Contact"
    if report.recovered:
        text += f", recovered from {len(report.recovered)} failure(s) (last: {report.recovered[-1]})"
    if report.failure:
        text += f", stopped by: {report.failure}"
    return text


@app.command()
def retry(
    all_: Annotated[bool, typer.Option("--all", help="Every parked record")] = False,
    attendee: Annotated[str | None, typer.Option("--id", help="One attendee's records")] = None,
    record: Annotated[str | None, typer.Option("--record", help="One record key, e.g. Lead:a17")] = None,
) -> None:
    """Re-drive parked records: back to pending, sent by the next drain."""
    from server.crm.outbox import redrive

    if not (all_ or attendee or record):
        err.print("[red]say what to retry: --all, --id ATTENDEE or --record KEY[/red]")
        raise typer.Exit(2)
    engine = _engine(_settings())
    with engine.begin() as conn:
        count = redrive(conn, attendee_id=attendee, record_key=record)
    out.print(f"re-driving {count} attendee(s)")


@app.command()
def status() -> None:
    """Records per sync status, outbox depth and lag."""
    import orjson

    from server.crm.erasure import waiting
    from server.crm.outbox import noted_count, outbox_stats, state_counts

    engine = _engine(_settings())
    with engine.connect() as conn:
        result = {**state_counts(conn), **outbox_stats(conn, time.time()), "erasures_waiting": waiting(conn),
                  "written_with_changes": noted_count(conn)}  # fmt: skip
    print(orjson.dumps(result).decode())


@app.command("post-event")
def post_event(force: Annotated[bool, typer.Option(help="Run again even if it ran")] = False) -> None:
    """Run the post-event flow now (the worker runs it by itself once the event has ended)."""
    from server.crm.postevent import run_post_event

    settings = _settings()
    count = run_post_event(_engine(settings), settings.event_id, now=time.time(), force=force)
    out.print(f"{count} attendees enqueued, hottest first")


@app.command()
def metadata(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the Metadata API package")] = Path(
        "var/salesforce-metadata"
    ),
) -> None:
    """Write the custom fields and the permission set the sync needs, to deploy with the Salesforce CLI."""
    from server.crm.metadata import write_package

    files = write_package(out_dir)
    out.print(f"{len(files)} files in {out_dir}; deploy: sf project deploy start --metadata-dir {out_dir} "
              "--target-org <alias>")  # fmt: skip


@app.command()
def emulator(
    port: Annotated[int, typer.Option(help="HTTPS port (0: any)")] = 8443,
    directory: Annotated[Path, typer.Option(help="Where the test CA and certificate go")] = Path("var/sf-emulator"),
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None,
) -> None:
    """Serve the local Salesforce emulator (HTTPS, test CA) for demos and manual tests."""
    from server.crm.emulator.server import EmulatorServer

    with EmulatorServer(directory, port=port) as server:
        emu = server.emulator
        out.print(
            f"Salesforce emulator at {server.url}\n  CA: {server.ca_path}\n  TOUCHPOINTS_SALESFORCE_LOGIN_URL="
            f"{server.url} TOUCHPOINTS_SALESFORCE_CA_BUNDLE={server.ca_path}\n  user {emu.username} password "
            f"{emu.password} token {emu.security_token} client {emu.client_id}/{emu.client_secret}"
        )
        deadline = time.monotonic() + duration if duration else None
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
