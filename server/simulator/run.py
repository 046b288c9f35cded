"""Publish the simulated conference to an MQTT broker: the adapter around :mod:`server.simulator.stream`.

The stream is pure; this module adds the two things it must not know about: wall-clock pacing (``speed``
times real time; 0 or inf = as fast as the broker takes it) and MQTT. Messages go out with QoS 1 through
one paho-mqtt 2 client, with a *bounded* number of unacknowledged publishes: past ``MAX_IN_FLIGHT`` the
generator waits for PUBACKs, because an unbounded QoS 1 backlog in paho collapses throughput to a few
hundred messages a second (measured on this project's 2-core box).
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.mqtt_url import parse_mqtt_url
from edge.protocol import QOS, Status, topic_for
from server.simulator.movement import Itinerary, plan_itineraries
from server.simulator.radios import DEFAULT_RADIO, FaultSpec
from server.simulator.scenario import Scenario
from server.simulator.stream import AGENT_VERSION, generate_messages, sim_range
from server.simulator.survey import survey_batches, survey_walk

MAX_IN_FLIGHT = 1000  # unacknowledged QoS 1 publishes before the generator waits
CONNECT_TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 30.0  # at the end, how long to wait for the last PUBACKs
PROGRESS_EVERY_S = 0.25  # wall seconds between progress refreshes
MAX_SLEEP_S = 0.5  # pacing sleeps in slices so that `stop` is honoured promptly


@dataclass(frozen=True)
class SimulationStats:
    messages: int  # everything published, statuses included
    sightings: int  # sightings inside the batches
    batches: int
    taps: int
    heartbeats: int
    statuses: int
    sim_start: float
    sim_end: float  # simulated time covered up to (exclusive)
    wall_s: float

    @property
    def sim_seconds(self) -> float:
        return self.sim_end - self.sim_start

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.wall_s if self.wall_s > 0 else 0.0


def ground_truth_records(itineraries: list[Itinerary] | tuple[Itinerary, ...], begin: float, end: float) -> list[dict]:
    """Intervals and taps within [begin, end), intervals clipped to it (positions interpolated)."""
    records: list[dict] = []
    for it in itineraries:
        for iv in it.intervals:
            if iv.end <= begin or iv.start >= end:
                continue
            s, e = max(iv.start, begin), min(iv.end, end)
            (x, y), (tx, ty) = iv.position_at(s), iv.position_at(e)
            records.append(
                {
                    "kind": "interval",
                    "attendee_id": iv.attendee_id,
                    "zone_id": iv.zone_id,
                    "start": s,
                    "end": e,
                    "x": round(x, 2),
                    "y": round(y, 2),
                    "to_x": round(tx, 2),
                    "to_y": round(ty, 2),
                }
            )
        for tap in it.taps:
            if begin <= tap.at < end:
                records.append(
                    {
                        "kind": "tap",
                        "attendee_id": tap.attendee_id,
                        "device_id": tap.device_id,
                        "at": tap.at,
                        "reason": tap.reason,
                    }
                )
    return records


def write_ground_truth(path: Path, itineraries: tuple[Itinerary, ...], begin: float, end: float) -> int:
    """JSON lines, one record each (see :func:`ground_truth_records`); returns the number written."""
    records = ground_truth_records(itineraries, begin, end)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        for record in records:
            fh.write(orjson.dumps(record) + b"\n")
    return len(records)


class _Publisher:
    """One paho client with a bounded in-flight window of QoS 1 publishes."""

    def __init__(self, mqtt_url: str, client_id: str):
        endpoint = parse_mqtt_url(mqtt_url)
        self._cond = threading.Condition()
        self._in_flight = 0
        self._connected = threading.Event()
        self._connect_error: str | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        self.client.max_inflight_messages_set(min(MAX_IN_FLIGHT, 65535))
        self.client.max_queued_messages_set(0)  # our own bound applies instead
        if endpoint.username:
            self.client.username_pw_set(endpoint.username, endpoint.password)
        if endpoint.tls:
            self.client.tls_set()
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.connect_async(endpoint.host, endpoint.port, keepalive=30)
        self.client.loop_start()
        if not self._connected.wait(CONNECT_TIMEOUT_S) or self._connect_error:
            self.client.loop_stop()
            reason = self._connect_error or "timed out"
            raise ConnectionError(f"cannot connect to MQTT broker {endpoint.host}:{endpoint.port}: {reason}")

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if getattr(reason, "is_failure", False):
            self._connect_error = str(reason)
        self._connected.set()

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int, reason: object, props: object) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        with self._cond:
            while self._in_flight >= MAX_IN_FLIGHT:
                self._cond.wait(1.0)
            self._in_flight += 1
        self.client.publish(topic, payload, qos=QOS, retain=retain)

    def close(self) -> bool:
        """Wait for outstanding PUBACKs, then disconnect; False if some never came."""
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        with self._cond:
            while self._in_flight > 0 and time.monotonic() < deadline:
                self._cond.wait(0.2)
            drained = self._in_flight <= 0
        self.client.disconnect()
        self.client.loop_stop()
        return drained


def _format_clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(t))


def run_simulation(
    scenario: Scenario,
    mqtt_url: str,
    *,
    prefix: str = "touchpoints",
    speed: float = 1.0,
    duration_s: float | None = None,
    sim_start_offset_s: float = 0.0,
    stop: threading.Event | None = None,
    ground_truth_path: Path | None = None,
    progress: bool = False,
    seed: int = 7,
    seq_base: int = 0,
    radio: str = DEFAULT_RADIO,
    faults: FaultSpec | None = None,
    survey_path: Path | None = None,
) -> SimulationStats:
    """Publish the conference from ``sim_start_offset_s`` after opening, for ``duration_s`` *simulated*
    seconds (default: to the end of the day), at ``speed`` x real time, heard through radio model ``radio``.
    Returns what was sent; writes the ground truth of the simulated span to ``ground_truth_path`` when given.

    With ``survey_path``, a survey walk of the reference badge (:mod:`server.simulator.survey`) is published
    first, as the scanners heard it before doors opened, and its legs file is written to ``survey_path``.
    """
    stop = stop or threading.Event()
    begin, end = sim_range(scenario, sim_start_offset_s, duration_s)
    itineraries = plan_itineraries(scenario)
    fast = speed <= 0 or math.isinf(speed)
    counts = {"sightings": 0, "tap": 0, "heartbeat": 0, "status": 0, "batches": 0}
    publisher = _Publisher(mqtt_url, f"touchpoints-sim-{seed}-{uuid.uuid4().hex[:8]}")
    wall0 = time.monotonic()
    covered = begin
    bar = _Progress(begin, end) if progress else None
    try:
        if survey_path is not None:
            seqs = {d.id: seq_base for d in scenario.devices}
            walk = survey_walk(scenario, radio, seed=seed, faults=faults)
            for _, batch in survey_batches(scenario, walk, seqs):
                publisher.publish(topic_for(batch.type, scenario.event.id, batch.device_id, prefix), batch.to_json())
                counts["batches"] += 1
                counts["sightings"] += len(batch.sightings)
            seq_base = max(seqs.values())  # the day's messages follow the walk's on every device
            survey_path.parent.mkdir(parents=True, exist_ok=True)
            survey_path.write_bytes(orjson.dumps(walk.legs_json(), option=orjson.OPT_INDENT_2))
        for at, message in generate_messages(
            scenario,
            seed=seed,
            start_offset_s=sim_start_offset_s,
            duration_s=duration_s,
            itineraries=itineraries,
            seq_base=seq_base,
            radio=radio,
            faults=faults,
        ):
            if not fast:
                while not stop.is_set():
                    lag = wall0 + (at - begin) / speed - time.monotonic()
                    if lag <= 0:
                        break
                    stop.wait(min(lag, MAX_SLEEP_S))
            if stop.is_set():
                break
            topic = topic_for(message.type, scenario.event.id, message.device_id, prefix)
            publisher.publish(topic, message.to_json(), retain=message.type == "status")
            covered = max(covered, at)
            if message.type == "sightings":
                counts["batches"] += 1
                counts["sightings"] += len(message.sightings)
            else:
                counts[message.type] += 1
            if bar is not None:
                bar.update(covered, sum(counts.values()) - counts["sightings"])
        else:
            covered = end
        for device in scenario.devices:  # what an edge's clean shutdown (or its last will) says
            offline = Status(
                device_id=device.id,
                event_id=scenario.event.id,
                state="offline",
                at=covered,
                reason="simulation stopped",
                agent_version=AGENT_VERSION,
            )
            publisher.publish(topic_for("status", scenario.event.id, device.id, prefix), offline.to_json(), retain=True)
            counts["status"] += 1
    finally:
        publisher.close()
        if bar is not None:
            bar.close()
    if ground_truth_path is not None:
        write_ground_truth(ground_truth_path, itineraries, begin, covered)
    messages = counts["batches"] + counts["tap"] + counts["heartbeat"] + counts["status"]
    return SimulationStats(
        messages=messages,
        sightings=counts["sightings"],
        batches=counts["batches"],
        taps=counts["tap"],
        heartbeats=counts["heartbeat"],
        statuses=counts["status"],
        sim_start=begin,
        sim_end=covered,
        wall_s=time.monotonic() - wall0,
    )


class _Progress:
    """A rich progress bar over simulated time, refreshed a few times a second."""

    def __init__(self, begin: float, end: float):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.begin, self._last = begin, 0.0
        self.progress = Progress(
            TextColumn("[bold]simulating[/bold] {task.fields[clock]}"),
            BarColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[messages]} msgs ({task.fields[rate]}/s)"),
        )
        self.task = self.progress.add_task(
            "sim", total=max(1.0, end - begin), clock=_format_clock(begin), messages=0, rate=0
        )
        self.progress.start()
        self._wall0 = time.monotonic()

    def update(self, at: float, messages: int) -> None:
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        rate = int(messages / max(1e-6, now - self._wall0))
        self.progress.update(
            self.task, completed=at - self.begin, clock=_format_clock(at), messages=messages, rate=rate
        )

    def close(self) -> None:
        self.progress.stop()
