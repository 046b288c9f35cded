"""`touchpoints edge ...`: the commands staff run on a Raspberry Pi. Imports nothing from server/."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Run and manage an edge device (NFC reader + BLE scanner).", no_args_is_help=True)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@app.command()
def run(
    config: Annotated[Path | None, typer.Option("--config", help="TOML config file (see docs/edge.md)")] = None,
    device_id: Annotated[str | None, typer.Option("--device-id")] = None,
    event: Annotated[str | None, typer.Option("--event", help="Event id")] = None,
    mqtt: Annotated[str | None, typer.Option("--mqtt", help="mqtt://user:pass@host:1883 or mqtts://...")] = None,
    topic_prefix: Annotated[str | None, typer.Option("--topic-prefix")] = None,
    nfc: Annotated[
        str | None, typer.Option("--nfc", help="nfcpy device: usb:072f:2200, tty:AMA0:pn532, udp:HOST:PORT")
    ] = None,
    ble: Annotated[bool | None, typer.Option("--ble/--no-ble", help="Scan for BLE beacons")] = None,
    ble_replay: Annotated[Path | None, typer.Option("--ble-replay", help="Replay a recorded survey")] = None,
    replay_speed: Annotated[float | None, typer.Option("--replay-speed", help="1 = recorded pace, 0 = max")] = None,
    replay_loop: Annotated[
        bool, typer.Option("--replay-loop", help="Replay the file over and over (else exit when it ends)")
    ] = False,
    ble_record: Annotated[Path | None, typer.Option("--ble-record", help="Record raw adverts (JSON lines)")] = None,
    spool: Annotated[Path | None, typer.Option("--spool", help="Directory of the on-disk spool")] = None,
    ble_uuid: Annotated[list[str] | None, typer.Option("--ble-uuid", help="iBeacon/AltBeacon UUID to keep")] = None,
    ble_namespace: Annotated[
        list[str] | None, typer.Option("--ble-namespace", help="Eddystone namespace (hex) to keep")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the agent: read taps and beacons, spool them on disk, publish them over MQTT.

    Runs until Ctrl-C / SIGTERM; with --ble-replay it exits by itself once the file is replayed and the spool
    has drained (a few seconds at most), unless --replay-loop is given.
    """
    from edge.agent import Agent
    from edge.config import load_settings

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=LOG_FORMAT)
    overrides: dict[str, Any] = {
        "device_id": device_id,
        "event_id": event,
        "mqtt": {"url": mqtt, "topic_prefix": topic_prefix},
        "nfc": {"device": nfc},
        "ble": {
            "enabled": ble,
            "replay": str(ble_replay) if ble_replay else None,
            "replay_speed": replay_speed,
            "replay_loop": True if replay_loop else None,  # None: the config file decides
            "record": str(ble_record) if ble_record else None,
            "uuids": ble_uuid or None,
            "namespaces": ble_namespace or None,
        },
        "spool": {"dir": str(spool) if spool else None},
    }
    try:
        settings = load_settings(config, overrides)
    except (OSError, ValueError) as exc:
        typer.echo(f"cannot load settings: {exc}", err=True)
        raise typer.Exit(2) from exc
    Agent(settings).run_forever()


@app.command()
def enroll(
    server: Annotated[str, typer.Option("--server", help="Server URL, e.g. http://touchpoints.local:8000")],
    code: Annotated[str, typer.Option("--code", help="Enrolment code shown on the server")],
    config: Annotated[Path, typer.Option("--config", help="Where to write the config file")] = Path(
        "/etc/touchpoints/edge.toml"
    ),
) -> None:
    """Exchange an enrolment code for this device's credentials and write its config file."""
    from edge.enroll import EnrolmentError
    from edge.enroll import enroll as do_enroll

    try:
        settings = do_enroll(server, code, config)
    except EnrolmentError as exc:
        typer.echo(f"enrolment failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    except PermissionError as exc:
        typer.echo(f"cannot write {config}: {exc} (run with sudo, or pass --config)", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"enrolled as device {settings.device_id} of event {settings.event_id}; config written to {config}")


@app.command()
def bench(
    beacons: Annotated[int, typer.Option("--beacons")] = 200,
    seconds: Annotated[float, typer.Option("--seconds", help="Recorded seconds of adverts to replay")] = 10.0,
) -> None:
    """Measure the agent's CPU cost per advertisement; ends with one JSON line."""
    from edge.bench import run_edge_bench

    typer.echo(json.dumps(run_edge_bench(beacons=beacons, seconds=seconds)))


if __name__ == "__main__":  # `python -m edge.cli ...` on a device without the server installed
    app()
