"""`touchpoints broker ...` and `touchpoints privacy ...`: security and privacy chores for operators."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

broker_app = typer.Typer(help="The MQTT broker's access control, generated from the device registry.")
privacy_app = typer.Typer(help="Privacy chores: retention of raw sightings, erasure of a person.")
console = Console(stderr=True)


def _settings() -> Any:
    from server.core.config import ConfigError, load_settings

    try:
        return load_settings()
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@broker_app.command("config")
def broker_config(
    out: Annotated[Path, typer.Option(help="Directory for `passwd` and `acl` (Mosquitto's password_file, acl_file)")],
    ingest_user: Annotated[
        str | None, typer.Option(help="The server's broker username (default: the one in TOUCHPOINTS_MQTT_URL)")
    ] = None,
    ingest_password: Annotated[
        str | None,
        typer.Option(envvar="TOUCHPOINTS_BROKER_INGEST_PASSWORD", help="Its password (default: from the URL)"),
    ] = None,
) -> None:
    """Write Mosquitto's password file and ACL: enrolled, unrevoked devices, each limited to its own topics."""
    from edge.mqtt_url import parse_mqtt_url
    from server.cli_database import open_database
    from server.security import broker_config as generator

    settings = _settings()
    endpoint = parse_mqtt_url(settings.mqtt_url) if settings.mqtt_url else None
    user = ingest_user or (endpoint.username if endpoint else None)
    password = ingest_password or (endpoint.password if endpoint else None)
    if not user or not password:
        console.print("[red]the ingest user needs a name and password: put them in TOUCHPOINTS_MQTT_URL "
                      "(mqtt://user:password@host) or pass --ingest-user/--ingest-password[/red]")  # fmt: skip
        raise typer.Exit(2)
    engine = open_database(settings)
    try:
        config = generator.build(engine, settings.mqtt_topic_prefix, settings.event_id, user, password)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    passwd, acl = generator.write(config, out)
    for line in config.skipped:
        console.print(f"left out {line}")
    console.print(f"wrote {passwd} and {acl}: {len(config.devices)} device(s) + ingest user {user!r}")
    console.print("reload a running Mosquitto with SIGHUP (e.g. `docker compose kill -s HUP mosquitto`)")


@privacy_app.command("purge")
def privacy_purge(
    days: Annotated[
        float | None, typer.Option(help="Keep this many days (default TOUCHPOINTS_SIGHTING_RETENTION_DAYS)")
    ] = None,
) -> None:
    """Delete raw sightings older than the retention limit (visits, scores and taps are kept)."""
    from server.cli_database import open_database
    from server.security.retention import purge_sightings

    settings = _settings()
    keep = days if days is not None else settings.sighting_retention_days
    if keep is None:
        console.print("no retention limit set (TOUCHPOINTS_SIGHTING_RETENTION_DAYS): nothing to do")
        return
    engine = open_database(settings)
    try:
        deleted = purge_sightings(engine, keep)
    finally:
        engine.dispose()
    console.print(f"deleted {deleted} raw sighting(s) older than {keep:g} day(s)")


@privacy_app.command("erase")
def privacy_erase(
    attendee_id: Annotated[str, typer.Argument(help="The attendee's id (as in the registration import)")],
    yes: Annotated[bool, typer.Option("--yes", help="Do it (without it: say what would be erased)")] = False,
) -> None:
    """Erase a person on their request: every row about them, and their Lead in Salesforce (per
    TOUCHPOINTS_SALESFORCE_ERASURE), as `DELETE /app/v1/me` does. A running server forgets the badge within
    its directory's reload interval."""
    from sqlmodel import Session

    from server.cli_database import open_database
    from server.store.models import Attendee
    from server.usecases.erasure import erase, export

    settings = _settings()
    engine = open_database(settings)
    try:
        with Session(engine) as session:
            attendee = session.get(Attendee, attendee_id)
            if attendee is None or attendee.event_id != settings.event_id:
                console.print(f"[red]no attendee {attendee_id!r} in event {settings.event_id!r}[/red]")
                raise typer.Exit(1)
            if not yes:
                tables = export(session, attendee)["tables"]
                rows = ", ".join(f"{t}={len(r)}" for t, r in sorted(tables.items())) or "no other rows"
                console.print(f"would erase the attendee and {rows}; Salesforce: {settings.salesforce_erasure} "
                              "(run again with --yes)")  # fmt: skip
                return
            counts = erase(session, attendee, settings.salesforce_erasure)
    finally:
        engine.dispose()
    console.print("erased: " + ", ".join(f"{t}={n}" for t, n in sorted(counts.items())))
