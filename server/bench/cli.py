"""`touchpoints bench ...` sub-commands. Heavy imports stay inside each command."""

from __future__ import annotations

from typing import Annotated

import typer

from server.simulator.options import (
    FaultSeedOption,
    LossOption,
    OutageSOption,
    OutagesOption,
    SkewOption,
    VenueOption,
)

app = typer.Typer(
    help="Benchmarks: print a JSON line of results and log them in docs/performance.md.", no_args_is_help=True
)

RecordOption = Annotated[bool, typer.Option("--record/--no-record", help="Append the result to docs/performance.md")]


@app.command()
def edge(
    beacons: Annotated[int, typer.Option(min=1, help="Beacons in range")] = 200,
    seconds: Annotated[float, typer.Option(min=0.5, help="Simulated seconds of adverts")] = 10.0,
    record: RecordOption = True,
) -> None:
    """Edge agent cost per advertisement, from a generated replay file through the real callback path."""
    from edge.bench import run_edge_bench
    from server.bench.report import emit

    emit(run_edge_bench(beacons=beacons, seconds=seconds), name="edge", record=record)


@app.command()
def presence(
    seed: Annotated[int, typer.Option(help="Scenario and radio seed")] = 7,
    attendees: Annotated[int, typer.Option(min=1, max=65_535, help="Badges in the scenario")] = 200,
    hours: Annotated[float, typer.Option(min=0.05, max=9.0, help="Simulated hours from 09:00")] = 3.0,
    radio: Annotated[
        str, typer.Option(help="Radio model: engine, lognormal, crowd, or all (one block each)")
    ] = "engine",
    venue: VenueOption = "default",
    calibrate: Annotated[
        bool, typer.Option("--calibrate", help="Add ours_calibrated: the engine with a survey walk's fit")
    ] = False,
    calibrated_offsets: Annotated[
        bool,
        typer.Option("--offsets/--no-offsets", help="Scanners carry a 1 m calibration's rssi_offset_db (else 0)"),
    ] = True,
    loss: LossOption = None,
    skew_ms: SkewOption = None,
    outages: OutagesOption = None,
    outage_s: OutageSOption = None,
    fault_seed: FaultSeedOption = None,
    record: RecordOption = True,
) -> None:
    """Presence accuracy per radio model and zone kind (dwell, visits), ours vs nearest-scanner and
    incumbent/challenger baselines on the same data; a table on stderr, the JSON line last."""
    from rich.console import Console

    from server.bench.presence import CalibrationUnavailable, calibration_fit, run_presence_bench
    from server.bench.presence_table import ProgressBars, print_tables
    from server.bench.report import emit
    from server.simulator.radios import RADIO_NAMES, fault_options

    try:
        fit = calibration_fit() if calibrate else None
    except CalibrationUnavailable as exc:
        raise typer.BadParameter(str(exc), param_hint="--calibrate") from None
    models = list(RADIO_NAMES) if radio == "all" else [radio]
    if any(m not in RADIO_NAMES for m in models):
        raise typer.BadParameter(f"choose one of {', '.join(RADIO_NAMES)} or all", param_hint="--radio")
    options = {"loss": loss, "skew_ms": skew_ms, "outages": outages, "outage_s": outage_s}
    given = any(v is not None for v in options.values()) or fault_seed is not None
    try:  # one spec for every model only when the user gave one; otherwise each model's own default
        faults = fault_options(models[-1], seed if fault_seed is None else fault_seed, **options) if given else None  # type: ignore[arg-type]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    console = Console(stderr=True)
    with ProgressBars(console, models) as bars:
        result = run_presence_bench(
            seed=seed, attendees=attendees, hours=hours, radio=radio, venue_name=venue, faults=faults,
            calibrated=calibrated_offsets, fit=fit, progress=bars.update,
        )  # fmt: skip
    print_tables(result, console)
    emit(result, name="presence", record=record)


@app.command()
def latency(
    mqtt_url: Annotated[str, typer.Option(help="A real broker (Mosquitto)")] = "mqtt://127.0.0.1:1883",
    database_url: Annotated[str | None, typer.Option(help="Default: a fresh SQLite file")] = None,
    probes: Annotated[int, typer.Option(min=1, max=500, help="Attendees walking into the booth")] = 30,
    rate: Annotated[float, typer.Option(min=0, help="Background sightings per second to publish")] = 50_000,
    seconds: Annotated[float, typer.Option(min=60, max=170, help="Length of the measured run")] = 100.0,
    workers: Annotated[
        int, typer.Option(min=0, max=8, help="N ingest-only processes + this one as live worker (PostgreSQL, Redis)")
    ] = 0,
    redis: Annotated[str, typer.Option(help="Redis for the live stream (with --workers)")] = "redis://127.0.0.1:6379/0",
    record: RecordOption = True,
) -> None:
    """Zone entry -> push on the attendee's WebSocket (p50/p99) under background load; rule edits; rule evals/s."""
    from server.bench.latency import run_latency_bench
    from server.bench.report import emit

    result = run_latency_bench(mqtt_url=mqtt_url, database_url=database_url, probes=probes, rate=rate, seconds=seconds,
                               workers=workers, redis_url=redis)  # fmt: skip
    emit(result, name="latency", record=record)


@app.command()
def crm(
    leads: Annotated[int, typer.Option(min=1, help="Leads captured before the drain (the backfill)")] = 10_000,
    steady_s: Annotated[float, typer.Option(min=0, help="Seconds of steady capture for the lag")] = 20.0,
    rate: Annotated[float, typer.Option(min=1, help="Leads captured per second during steady load")] = 20.0,
    record: RecordOption = True,
) -> None:
    """Salesforce sync against the emulator: API calls and time for a backfill, lag under steady load."""
    from server.bench.report import emit
    from server.crm.bench import run_crm_bench

    emit(run_crm_bench(leads=leads, steady_s=steady_s, rate=rate), name="crm", record=record)


@app.command()
def ingest(
    mqtt: Annotated[
        str, typer.Option(help="'private' starts a Mosquitto with production queue limits; or a broker URL")
    ] = "private",
    database: Annotated[str | None, typer.Option(help="PostgreSQL URL; default a temporary SQLite file")] = None,
    devices: Annotated[int, typer.Option(min=1)] = 200,
    attendees: Annotated[int, typer.Option(min=10)] = 5000,
    batches: Annotated[int, typer.Option(min=10, help="Sighting batches published")] = 20_000,
    per_batch: Annotated[int, typer.Option(min=1, max=500, help="Sightings per batch")] = 50,
    workers: Annotated[int, typer.Option(min=0, help="N ingest worker processes + this one as live worker")] = 0,
    redis: Annotated[str, typer.Option(help="Redis for the live stream (with --workers)")] = "redis://127.0.0.1:6379/0",
    record: RecordOption = True,
) -> None:
    """Sightings/s through validate -> store -> presence, beside a bare receive-and-decode baseline.

    With --workers N: the scaled-out shape (docs/scaling.md) on this machine, on PostgreSQL and Redis.
    """
    from server.bench.broker import PRIVATE, broker_for_bench
    from server.bench.ingest import run_ingest_bench
    from server.bench.report import emit

    with broker_for_bench(mqtt) as url:
        if workers:
            from server.bench.scaleout import run_scaled_ingest_bench

            if database is None:
                raise typer.BadParameter("--workers needs --database postgresql://...", param_hint="--database")
            result = run_scaled_ingest_bench(url, database, redis, workers=workers, devices=devices,
                                             attendees=attendees, batches=batches, per_batch=per_batch)  # fmt: skip
        else:
            result = run_ingest_bench(url, database, devices=devices, attendees=attendees, batches=batches,
                                      per_batch=per_batch)  # fmt: skip
    result["broker"] = mqtt if mqtt == PRIVATE else "given"
    emit(result, name="ingest", record=record)


@app.command()
def fanout(
    clients: Annotated[int, typer.Option(min=1, max=10_000, help="WebSocket dashboards to connect")] = 2000,
    seconds: Annotated[float, typer.Option(min=5, max=120, help="Length of the measured window")] = 30.0,
    record: RecordOption = True,
) -> None:
    """Dashboard live feed to N WebSocket clients (1 Hz updates): p50/p99 update lag and server CPU."""
    from server.bench.fanout import run_fanout_bench
    from server.bench.report import emit

    emit(run_fanout_bench(clients=clients, seconds=seconds), name="fanout", record=record)


@app.command()
def journey(
    database: Annotated[str | None, typer.Option(help="PostgreSQL URL; default a temporary SQLite file")] = None,
    attendees: Annotated[int, typer.Option(min=1, help="Attendees, each heard all show long")] = 50,
    hours: Annotated[float, typer.Option(min=0.1, max=24, help="Length of the show so far")] = 8.0,
    scanners: Annotated[int, typer.Option(min=1, max=10, help="Scanners hearing each badge every window")] = 3,
    record: RecordOption = True,
) -> None:
    """Journey loads per second late in a show, beside the index that walked every sighting (the baseline)."""
    from server.bench.journey import run_journey_bench
    from server.bench.report import emit

    emit(run_journey_bench(database, attendees=attendees, hours=hours, scanners=scanners), name="journey",
         record=record)  # fmt: skip


@app.command()
def memory(
    mqtt: Annotated[
        str, typer.Option(help="'private' starts a Mosquitto with production queue limits; or a broker URL")
    ] = "private",
    database: Annotated[str | None, typer.Option(help="PostgreSQL URL; default a temporary SQLite file")] = None,
    attendees: Annotated[int, typer.Option(min=10, help="Badges in the venue, every one live")] = 50_000,
    devices: Annotated[int, typer.Option(min=1, help="Scanners, one zone each")] = 2000,
    windows: Annotated[int, typer.Option(min=1, help="Scan windows published (each hears every badge 3 times)")] = 3,
    record: RecordOption = True,
) -> None:
    """The server's resident memory with a big venue loaded and every badge live, beside its empty-venue RSS."""
    from server.bench.broker import broker_for_bench
    from server.bench.memory import run_memory_bench
    from server.bench.report import emit

    with broker_for_bench(mqtt) as url:
        result = run_memory_bench(url, database, attendees=attendees, devices=devices, windows=windows)
    emit(result, name="memory", record=record)
