"""The `touchpoints` command. A composition root: it wires adapters from configuration.

Only light modules are imported at the top, so that a Raspberry Pi with `touchpoints[edge]` (no server
dependencies) can still run `touchpoints edge ...`; server parts are imported inside their commands.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from edge.cli import app as edge_app
from server.bench.cli import app as bench_app
from server.calibration_cli import app as venue_app
from server.crm.cli import app as crm_app
from server.importing_cli import app as import_app
from server.security.cli import broker_app, privacy_app
from server.simulator.options import (
    FaultSeedOption,
    LossOption,
    OutageSOption,
    OutagesOption,
    SkewOption,
    VenueOption,
)

app = typer.Typer(help="Touchpoints: engagement platform for conferences and trade shows.", no_args_is_help=True)
app.add_typer(edge_app, name="edge")
app.add_typer(bench_app, name="bench")
app.add_typer(import_app, name="import")
app.add_typer(crm_app, name="crm")
app.add_typer(broker_app, name="broker")
app.add_typer(privacy_app, name="privacy")
app.add_typer(venue_app, name="venue")
console = Console(stderr=True)


def _settings(**overrides: Any) -> Any:
    """Load settings and set up logging; a bad value or taken port ends the command with a clear message."""
    from server.core.config import ConfigError, load_settings
    from server.core.logging import configure_logging

    try:
        settings = load_settings(**overrides)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _run_guarded(action: Callable[[], None]) -> None:
    from server.core.ports import PortInUseError

    try:
        action()
    except PortInUseError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


@app.command()
def migrate() -> None:
    """Apply database migrations (serve and demo do this on start too)."""
    from server.cli_database import open_database

    settings = _settings()
    open_database(settings, migrate=True).dispose()
    console.print(f"database at {settings.database_url} is up to date")


@app.command()
def serve(
    duration: Annotated[float | None, typer.Option(help="Stop by itself after this many seconds")] = None,
) -> None:
    """Run the server: ingest from MQTT and the HTTP API (an embedded broker when TOUCHPOINTS_MQTT_URL is unset)."""
    from server.runner import Running, run_server

    settings = _settings()

    def ready(running: Running) -> None:
        _print_banner(running, title="Touchpoints server is running")

    _run_guarded(lambda: run_server(settings, duration=duration, on_ready=ready))


@app.command()
def demo(
    duration: Annotated[float | None, typer.Option(help="Stop by itself after this many seconds")] = None,
    attendees: Annotated[int, typer.Option(min=1, max=100_000, help="Simulated attendees")] = 200,
    speed: Annotated[float, typer.Option(min=0.1, help="Simulated seconds per real second")] = 10.0,
    seed: Annotated[int, typer.Option(help="Random seed of the simulated conference")] = 7,
) -> None:
    """Embedded broker + server on SQLite + the simulator publishing a live conference, in one process tree."""
    from server.cli_database import open_database
    from server.runner import Running, run_server
    from server.simulator.run import run_simulation
    from server.simulator.scenario import build_scenario
    from server.simulator.seed import seed_database

    settings = _settings()
    start = float(int(time.time()) // 60 * 60)
    scenario = build_scenario(seed=seed, attendees=attendees, start=start, event_id=settings.event_id)
    engine = open_database(settings, migrate=True)
    seed_database(engine, scenario)
    seq_base = _next_free_seq(engine)
    engine.dispose()
    simulator: list[threading.Thread] = []

    def ready(running: Running) -> None:
        _print_banner(running, title="Touchpoints demo is running")
        console.print(
            f"  simulator    {attendees} attendees, {len(scenario.devices)} devices, speed {speed:g}x, seed {seed}"
        )
        thread = threading.Thread(
            target=run_simulation,
            args=(scenario, running.settings.mqtt_url),
            kwargs={
                "prefix": settings.mqtt_topic_prefix,
                "speed": speed,
                "stop": running.stop,
                "seed": seed,
                "seq_base": seq_base,
            },
            name="simulator",
            daemon=True,
        )
        thread.start()
        simulator.append(thread)

    def stopping() -> None:
        for thread in simulator:
            thread.join(timeout=10)

    _run_guarded(lambda: run_server(settings, duration=duration, on_ready=ready, on_stop=stopping))
    _print_demo_summary(settings)


def _next_free_seq(engine: Any) -> int:
    """Sequence numbers continue across demo runs on the same database, as a real edge's spool keeps them."""
    from sqlalchemy import func, select

    from server.store.models import IngestedMessage

    with engine.connect() as conn:
        highest = conn.execute(select(func.max(IngestedMessage.seq))).scalar_one()
    return 0 if highest is None else int(highest) + 1


def _print_banner(running: Any, title: str) -> None:
    from server.app import ADMIN_TOKEN_FILE

    settings = running.settings
    url = running.http_url
    token_hint = "from TOUCHPOINTS_ADMIN_TOKEN" if settings.admin_token else f"in {settings.var_dir}/{ADMIN_TOKEN_FILE}"
    broker = f"{running.settings.mqtt_url}" + (" (embedded)" if running.broker else "")
    console.print(f"[bold green]{title}[/bold green]")
    console.print(f"  dashboard    {url}/dashboard/  (sign in with the admin token)")
    console.print(f"  event app    {url}/app/")
    console.print(f"  API docs     {url}/docs")
    console.print(f"  health       {url}/healthz")
    console.print(f"  metrics      {url}/metrics  (bearer token)")
    console.print(f"  touchpoints  {url}/api/v1/touchpoints/counts  (bearer token)")
    console.print(f"  MQTT broker  {broker}")
    console.print(f"  database     {settings.database_url}")
    console.print(f"  admin token  {token_hint}")
    console.print("  stop with Ctrl-C")


def _print_demo_summary(settings: Any) -> None:
    from sqlalchemy import func, select
    from sqlmodel import col

    from server.store.db import make_engine
    from server.store.models import DeadLetter, Touchpoint

    engine = make_engine(settings.sqlalchemy_url)
    with engine.connect() as conn:
        rows = conn.execute(select(col(Touchpoint.type), func.count()).group_by(col(Touchpoint.type))).all()
        by_type: dict[str, int] = {str(t): int(n) for t, n in rows}
        dead = conn.execute(select(func.count()).select_from(DeadLetter)).scalar_one()
    engine.dispose()
    stored = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items())) or "none"
    console.print(f"stopped. touchpoints stored: {stored}; dead letters: {dead}")


@app.command("seed")
def seed_command(
    seed: Annotated[int, typer.Option(help="Random seed of the simulated conference")] = 7,
    attendees: Annotated[int, typer.Option(min=1, max=65_535, help="Simulated attendees")] = 200,
    start: Annotated[str | None, typer.Option(help="Start, ISO 8601 (default 2026-06-10T08:30Z)")] = None,
    venue: VenueOption = "default",
) -> None:
    """Write the simulated conference (zones, agenda, devices, attendees) to the database. Idempotent."""
    from server.cli_database import open_database
    from server.simulator.seed import seed_database
    from server.simulator.venues import build_venue

    settings = _settings()
    try:
        scenario = build_venue(venue, seed, attendees, _iso_time(start) if start else None, settings.event_id)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    engine = open_database(settings, migrate=True)
    seed_database(engine, scenario)
    engine.dispose()
    console.print(
        f"seeded event {scenario.event.id!r} into {settings.database_url}: {len(scenario.zones)} zones, "
        f"{len(scenario.sessions)} sessions, {len(scenario.devices)} devices, "
        f"{len(scenario.attendees)} attendees"
    )


_SPEED_HELP = "Simulated seconds per real second; 0 = as fast as possible"
_DURATION_HELP = "Simulated seconds to run (default: to the end of the day)"
_SEQ_HELP = "First sequence number per device (default 0; with --seed-db, after the stored ones)"


@app.command()
def simulate(
    seed: Annotated[int, typer.Option(help="Random seed of the simulated conference")] = 7,
    attendees: Annotated[int, typer.Option(min=1, max=65_535, help="Simulated attendees")] = 200,
    speed: Annotated[float, typer.Option(min=0, help=_SPEED_HELP)] = 1.0,
    duration: Annotated[float | None, typer.Option(help=_DURATION_HELP)] = None,
    offset: Annotated[float, typer.Option(min=0, help="Begin this many sim seconds after opening")] = 0.0,
    mqtt: Annotated[str | None, typer.Option("--mqtt", help="Broker URL (default: settings)")] = None,
    prefix: Annotated[str | None, typer.Option(help="Topic prefix (default: from settings)")] = None,
    ground_truth: Annotated[
        Path | None, typer.Option("--ground-truth", help="Write where everyone really was here (JSON lines)")
    ] = None,
    start: Annotated[str | None, typer.Option(help="Event start, ISO 8601 (default: now)")] = None,
    seed_db: Annotated[bool, typer.Option("--seed-db/--no-seed-db", help="Seed the database first")] = False,
    seq_base: Annotated[int | None, typer.Option(help=_SEQ_HELP)] = None,
    radio: Annotated[str, typer.Option(help="Radio model: engine (default), lognormal or crowd")] = "engine",
    venue: VenueOption = "default",
    survey_out: Annotated[
        Path | None, typer.Option("--survey-out", help="First publish a survey walk, write its legs file here")
    ] = None,
    loss: LossOption = None,
    skew_ms: SkewOption = None,
    outages: OutagesOption = None,
    outage_s: OutageSOption = None,
    fault_seed: FaultSeedOption = None,
) -> None:
    """Publish a simulated conference to MQTT, exactly per the wire contract: taps, sightings, heartbeats.

    With --survey-out, staff first walk a reference badge through every zone (before doors open); its
    sightings are published like any other and the legs go to the file, for `touchpoints venue calibrate`.
    """
    from server.simulator.radios import RADIO_NAMES, fault_options
    from server.simulator.run import SimulationStats, run_simulation
    from server.simulator.venues import build_venue

    settings = _settings()
    url = mqtt or settings.mqtt_url
    if not url:
        console.print("[red]error:[/red] no broker: pass --mqtt mqtt://host:1883 or set TOUCHPOINTS_MQTT_URL")
        raise typer.Exit(2)
    begin = _iso_time(start) if start else float(int(time.time()) // 60 * 60)
    try:
        if radio not in RADIO_NAMES:
            raise ValueError(f"unknown radio model {radio!r}: choose one of {', '.join(RADIO_NAMES)}")
        scenario = build_venue(venue, seed, attendees, begin, settings.event_id)
        faults = fault_options(radio, seed if fault_seed is None else fault_seed, loss=loss, skew_ms=skew_ms,
                               outages=outages, outage_s=outage_s)  # fmt: skip
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if seed_db:
        from server.cli_database import open_database
        from server.simulator.seed import seed_database

        engine = open_database(settings, migrate=True)
        seed_database(engine, scenario)
        if seq_base is None:
            seq_base = _next_free_seq(engine)
        engine.dispose()
    stop = threading.Event()
    result: list[SimulationStats] = []

    def work() -> None:
        result.append(
            run_simulation(
                scenario,
                url,
                prefix=prefix or settings.mqtt_topic_prefix,
                speed=speed,
                duration_s=duration,
                sim_start_offset_s=offset,
                stop=stop,
                ground_truth_path=ground_truth,
                progress=True,
                seed=seed,
                seq_base=seq_base or 0,
                radio=radio,
                faults=faults,
                survey_path=survey_out,
            )
        )

    worker = threading.Thread(target=work, name="simulator")
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        stop.set()  # the simulator publishes the devices' offline status and drains its PUBACKs
        worker.join()
    if not result:
        console.print("[red]simulation failed[/red] (see the error above)")
        raise typer.Exit(1)
    s = result[0]
    console.print(
        f"published {s.messages} messages: {s.batches} sighting batches ({s.sightings} sightings), "
        f"{s.taps} taps, {s.heartbeats} heartbeats, {s.statuses} statuses; "
        f"{s.sim_seconds:.0f} simulated s in {s.wall_s:.1f} s ({s.messages_per_s:.0f} msg/s)"
    )
    if ground_truth:
        console.print(f"ground truth written to {ground_truth}")
    if survey_out:
        console.print(f"survey walk legs written to {survey_out} (its sightings were published first)")


def _iso_time(value: str) -> float:
    """Unix seconds from ISO 8601 (a trailing Z or no zone means UTC)."""
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def main() -> None:
    sys.exit(app())


if __name__ == "__main__":
    main()
