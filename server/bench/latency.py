"""`touchpoints bench latency`: zone entry -> push on the attendee's WebSocket, under background sighting load.

One run starts the real server (uvicorn, ingest on the given MQTT broker, presence, scores, rules) on a fresh
database with a synthetic venue: ``BOOTHS`` booths with a scanner each, probe attendees (tracking and push
consent) and background badges. Then:

1. a separate process publishes background sighting batches at ``rate`` sightings/s (every scanner hears
   every background badge, strongly at its home booth); the bench reports what the ingest actually stored
   per second (``background_sightings_per_s``) next to what was published;
2. probes, staggered over the run, connect to ``/app/v1/ws`` and stand at booth 0: its scanner
   hears them every 2 s window, at the current time. Presence announces a visit once it lasted
   ``min_visit_s``; the window that completes it is the *zone entry*. Latency = the push's arrival on the
   WebSocket minus that window's publish time (everything between: broker, ingest commit, presence,
   rules, commit, hub, WebSocket);
3. rule edits are committed to the store while the load runs: ``rule_edit_to_engine_ms`` is the time from
   the commit to the engine running the new version;
4. ``measure_rule_throughput`` gives rule evaluations per second with 1,000 active rules (pure engine).
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import Session

from edge.mqtt_url import parse_mqtt_url
from edge.protocol import BeaconFormat, Sighting, SightingBatch, ibeacon_id, topic_for
from server.bench.local import free_port

EVENT = "bench"
UUID = "5a4bcfce-174e-4bac-a814-092e77f6b7e5"
BOOTHS = 20
WINDOW_S = 2.0  # one edge scan window
BATCH = 250  # sightings per background message (the contract allows 500)
PROBE_MAJOR, BACKGROUND_MAJOR = 1, 2
ADMIN = "bench-admin-token"


def _client(url: str, name: str) -> mqtt.Client:
    endpoint = parse_mqtt_url(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:6]}")
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    client.max_queued_messages_set(0)
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    return client


def _seed(database_url: str, probes: int, background: int, now: float) -> None:
    from server.core.config import load_settings
    from server.domain.model import ZoneKind
    from server.store.db import make_engine, migrate
    from server.store.models import Attendee, Device, Event, Zone

    engine = make_engine(load_settings(database_url=database_url).sqlalchemy_url)
    migrate(engine)
    with Session(engine) as s:
        s.add(Event(id=EVENT, name="Bench Conf", timezone="UTC", starts_at=now - 3600, ends_at=now + 8 * 3600))
        for b in range(BOOTHS + 1):
            s.add(Zone(id=f"booth-{b}", event_id=EVENT, name=f"Booth {b}", kind=ZoneKind.BOOTH, x=b * 12.0, y=0,
                       width=4, height=4))  # fmt: skip
        s.commit()
        for b in range(BOOTHS + 1):
            s.add(Device(id=f"scanner-{b}", event_id=EVENT, zone_id=f"booth-{b}", created_at=now))  # placed by zone
        for i in range(probes):
            beacon = ibeacon_id(UUID, PROBE_MAJOR, i)
            s.add(Attendee(id=f"probe-{i}", event_id=EVENT, name=f"Probe {i}", beacon_id=beacon,
                           consent_tracking=True, consent_push=True, registered_at=now))  # fmt: skip
        for i in range(background):
            beacon = ibeacon_id(UUID, BACKGROUND_MAJOR, i)
            s.add(Attendee(id=f"bg-{i}", event_id=EVENT, name=f"Badge {i}", beacon_id=beacon,
                           consent_tracking=True, registered_at=now))  # fmt: skip
        s.commit()
    engine.dispose()


def _background(url: str, prefix: str, rate: float, background: int, stop: Any, published: Any) -> None:
    """Publish sighting batches at ``rate`` sightings/s until ``stop`` is set (runs in its own process)."""
    client = _client(url, "bench-bg")
    chunks = [list(range(i, min(i + BATCH, background))) for i in range(0, background, BATCH)]
    seq = {b: 0 for b in range(1, BOOTHS + 1)}
    started = time.monotonic()
    sent = 0
    while not stop.is_set():
        for b in range(1, BOOTHS + 1):
            for chunk in chunks:
                if stop.is_set():
                    break
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
                at = time.time()
                sightings = [
                    Sighting(beacon_id=ibeacon_id(UUID, BACKGROUND_MAJOR, i), format=BeaconFormat.IBEACON,
                             rssi=-55.0 if i % BOOTHS + 1 == b else -88.0, count=3, first_seen=at - 1, last_seen=at)
                    for i in chunk
                ]  # fmt: skip
                seq[b] += 1
                message = SightingBatch(device_id=f"scanner-{b}", event_id=EVENT, seq=seq[b], window_start=at - 1,
                                        window_end=at, sightings=sightings)  # fmt: skip
                client.publish(topic_for("sightings", EVENT, f"scanner-{b}", prefix), message.to_json(), qos=0)
                sent += len(sightings)
                published.value = sent
    client.loop_stop()
    client.disconnect()


class _Probe:
    def __init__(self, index: int, start_at: float) -> None:
        self.index, self.start_at = index, start_at
        self.windows: list[tuple[float, float]] = []  # (data time = last_seen, wall publish time)
        self.received_at: float | None = None
        self.message: dict[str, Any] | None = None
        # Where the time went, by wall clock in this process (the server runs in it): the ingest commit that
        # stored each window (by its data time) and presence's announcement of the visit.
        self.committed: dict[float, float] = {}
        self.visit_at: float | None = None
        # The visit's start as presence has it (the notification id rounds it to the ms): the stay reaches
        # min_visit_s at 45 s, an odd number of seconds after a window's first_seen, so which window completes
        # it depends on a few ms of publishing jitter, and a rounded start misplaced the entry by a window (2 s).
        self.visit_started: float | None = None


def _listen(ws_url: str, probe: _Probe, deadline: float, ready: threading.Event) -> None:
    import orjson
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(ws_url, open_timeout=10) as ws:
        ws.recv(timeout=10)  # hello
        ws.recv(timeout=10)  # replayed: nothing (a first connection)
        ready.set()
        while True:  # the first notification; heartbeat pings are answered, they only keep the socket open
            try:
                text = ws.recv(timeout=max(1.0, deadline - time.time()))
            except (TimeoutError, ConnectionClosed):  # no push in time / the server is shutting down
                return
            message = orjson.loads(text)
            if message.get("type") == "notification":
                break
            ws.send('{"type": "pong"}')
        probe.received_at = time.time()
        probe.message = message


def _latency_ms(probe: _Probe, min_visit_s: float) -> float | None:
    """Receipt minus the publish of the window that completed ``min_visit_s`` (the zone entry)."""
    if probe.received_at is None or probe.message is None:
        return None
    started_at = probe.visit_started
    if started_at is None:
        started_at = float(str(probe.message["notification"]["id"]).split(":")[3])
    decisive = [wall for at, wall in probe.windows if at - started_at >= min_visit_s and wall <= probe.received_at]
    before = [wall for _at, wall in probe.windows if wall <= probe.received_at]
    entry = decisive[0] if decisive else before[-1]
    return (probe.received_at - entry) * 1000


def _stages_ms(probe: _Probe, min_visit_s: float) -> dict[str, float] | None:
    """The zone entry's latency split: publish -> stored (broker, ingest), -> visit announced (presence),
    -> push on the socket (rules, their commit, the hub, the WebSocket)."""
    if probe.received_at is None or probe.message is None or probe.visit_at is None:
        return None
    started_at = probe.visit_started
    if started_at is None:
        started_at = float(str(probe.message["notification"]["id"]).split(":")[3])
    decisive = [(at, wall) for at, wall in probe.windows if at - started_at >= min_visit_s and at in probe.committed]
    if not decisive:
        return None
    at, published = decisive[0]
    stored = probe.committed[at]
    return {"ingest": (stored - published) * 1000, "presence": (probe.visit_at - stored) * 1000,
            "rules_delivery": (probe.received_at - probe.visit_at) * 1000}  # fmt: skip


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def _ingest_worker(settings: Any, port: int, ready: Any, stop: Any) -> None:
    """Child process (``--workers``): one server with ingest only, forwarding its commits to the live stream."""
    import uvicorn

    from server.app import create_app

    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    ingest = app.state.runtime.ingest
    if ingest is not None and ingest.wait_connected(30):
        ready.set()
    stop.wait()
    server.should_exit = True
    time.sleep(2)


def run_latency_bench(
    mqtt_url: str = "mqtt://127.0.0.1:1883", database_url: str | None = None, probes: int = 30,
    rate: float = 50_000, background: int = 5000, seconds: float = 100.0, edits: int = 10, workers: int = 0,
    redis_url: str = "redis://127.0.0.1:6379/0",
) -> dict[str, Any]:  # fmt: skip
    """With ``workers``: the scaled shape (docs/scaling.md) on this machine: that many ingest-only server
    processes share the MQTT stream and forward to the Redis live stream; this process is the live worker
    (presence, rules, WebSockets) without ingest of its own. Needs PostgreSQL and Redis."""
    from server.bench.local import bench_database

    if workers and not (database_url or "").startswith("postgresql"):
        raise ValueError("--workers needs --database-url postgresql://...: SQLite takes one writer at a time")
    with bench_database(database_url, "latency") as url:
        return _run(mqtt_url, url, probes, rate, background, seconds, edits, workers, redis_url)


def _run(mqtt_url: str, database_url: str, probes: int, rate: float, background: int, seconds: float, edits: int,
         workers: int, redis_url: str) -> dict[str, Any]:  # fmt: skip
    import uvicorn

    from server.app import create_app
    from server.bench.rules import measure_rule_throughput
    from server.core.config import load_settings
    from server.domain.model import VisitStarted
    from server.domain.presence import PresenceParams
    from server.rules.store import row_of
    from server.store.rules_models import RuleRow

    tmp = Path(tempfile.mkdtemp(prefix="touchpoints-bench-latency-"))
    _seed(database_url, probes, background, time.time())
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    port = free_port()
    common: dict[str, Any] = dict(database_url=database_url, mqtt_url=mqtt_url, mqtt_topic_prefix=prefix,
                                  event_id=EVENT, admin_token=ADMIN, log_level="WARNING",
                                  ingest_device_rate_per_s=0)  # fmt: skip  # a few scanners carry a whole hall's load
    if workers:
        common.update(redis_url=redis_url, mqtt_shared_group="bench")
    settings = load_settings(**common, mqtt_client_id=f"bench-ingest-{uuid.uuid4().hex[:6]}", var_dir=tmp / "var",
                             ingest_enabled=not workers)  # fmt: skip
    ctx = mp.get_context("spawn")
    stop_workers = ctx.Event()
    children = []
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    runtime = app.state.runtime
    assert runtime.pipeline.rules is not None and runtime.pipeline.presence is not None
    assert workers or (runtime.ingest is not None and runtime.ingest.wait_connected(10))
    for index in range(workers):
        worker_settings = load_settings(**common, mqtt_client_id=f"bench-w{index}-{uuid.uuid4().hex[:6]}",
                                        var_dir=tmp / f"var-{index}", live_enabled=False)  # fmt: skip
        ready = ctx.Event()
        child = ctx.Process(target=_ingest_worker, args=(worker_settings, free_port(), ready, stop_workers),
                            daemon=True)  # fmt: skip
        child.start()
        children.append(child)
        if not ready.wait(120):
            raise RuntimeError(f"ingest worker {index} did not connect")
    # Counted where signals reach the live pipeline: after the commit in one process, off the stream with workers.
    ingested = [0]
    probes_by_id: dict[str, _Probe] = {}

    def on_commit(result: Any) -> None:
        now = time.time()
        ingested[0] += len(result.presence_sightings)
        for sighting in result.presence_sightings:
            probe = probes_by_id.get(sighting.attendee_id)
            if probe is not None:
                probe.committed.setdefault(sighting.last_seen, now)

    def on_visits(events: list[Any]) -> None:
        now = time.time()
        for event in events:
            probe = probes_by_id.get(event.visit.attendee_id)
            if probe is not None and isinstance(event, VisitStarted) and probe.visit_at is None:
                probe.visit_at, probe.visit_started = now, event.visit.started_at

    runtime.pipeline.probe = on_commit
    runtime.pipeline.presence.listeners.insert(0, on_visits)  # before the rules see them
    headers = {"Authorization": f"Bearer {ADMIN}"}
    import httpx

    base = f"http://127.0.0.1:{port}"
    rule = {"id": "bench-booth-0", "name": "Booth 0 welcome", "campaign_id": "bench",
            "trigger": {"type": "zone_entered", "zone_ids": ["booth-0"]}, "guards": {"respect_quiet_hours": False},
            "actions": [{"type": "push", "title": "Hi {attendee.name}", "body": "Welcome to {zone.name}"}]}  # fmt: skip
    assert httpx.post(f"{base}/api/v1/rules", headers=headers, json=rule).status_code == 201
    tokens = [
        httpx.post(f"{base}/api/v1/tokens", headers=headers,
                   json={"role": "attendee", "subject": f"probe-{i}", "name": f"probe-{i}"}).json()["token"]
        for i in range(probes)
    ]  # fmt: skip

    ctx = mp.get_context("spawn")
    stop, published = ctx.Event(), ctx.Value("d", 0.0)
    load = ctx.Process(target=_background, args=(mqtt_url, prefix, rate, background, stop, published), daemon=True)
    load.start()
    time.sleep(5.0)  # let the load reach its pace before measuring
    load_started, ingested_at_start, published_at_start = time.time(), ingested[0], published.value
    min_visit = PresenceParams().min_visit_s
    stay = min_visit + 4 * WINDOW_S
    spread = max(1.0, seconds - stay - 5.0)
    plan = [_Probe(i, load_started + spread * i / max(1, probes)) for i in range(probes)]
    probes_by_id.update((f"probe-{p.index}", p) for p in plan)
    end = load_started + spread + stay + 5.0
    for probe in plan:
        listening = threading.Event()
        threading.Thread(target=_listen, args=(f"ws://127.0.0.1:{port}/app/v1/ws?token={tokens[probe.index]}",
                                               probe, end + 10, listening), daemon=True).start()  # fmt: skip
        listening.wait(10)

    edit_ms: list[float] = []

    def edit(version: int) -> None:
        data = {**rule, "version": version, "name": f"Booth 0 welcome v{version}"}
        from server.domain.rules.parse import parse_rule

        with Session(runtime.engine) as s:
            s.add(row_of(parse_rule(data), EVENT, "bench", time.time()))
            s.commit()
        committed = time.perf_counter()
        runtime.pipeline.rules.rules_changed()
        deadline = committed + 10
        while time.perf_counter() < deadline:
            active = {r.id: r.version for r in runtime.pipeline.rules.engine.rules}
            if active.get("bench-booth-0") == version:
                edit_ms.append((runtime.pipeline.rules.rules_loaded_at - committed) * 1000)
                return
            time.sleep(0.0005)

    probe_client = _client(mqtt_url, "bench-probe")
    seq = 0
    next_window = time.time()
    next_edit, version = load_started + 2.0, 1
    while time.time() < end:
        now = time.time()
        if now >= next_edit and version <= edits:
            version += 1
            edit(version)
            next_edit = now + max(1.0, spread / max(1, edits))
        if now < next_window:
            time.sleep(min(0.01, next_window - now))
            continue
        next_window += WINDOW_S
        active = [p for p in plan if p.start_at <= now < p.start_at + stay and p.received_at is None]
        if not active:
            continue
        at = time.time()
        seq += 1
        sightings = [Sighting(beacon_id=ibeacon_id(UUID, PROBE_MAJOR, p.index), format=BeaconFormat.IBEACON, rssi=-50.0,
                              count=3, first_seen=at - 1, last_seen=at) for p in active]  # fmt: skip
        message = SightingBatch(device_id="scanner-0", event_id=EVENT, seq=seq, window_start=at - 1, window_end=at,
                                sightings=sightings)  # fmt: skip
        probe_client.publish(topic_for("sightings", EVENT, "scanner-0", prefix), message.to_json(), qos=1)
        wall = time.time()
        for p in active:
            p.windows.append((at, wall))
    duration = time.time() - load_started
    stored = ingested[0] - ingested_at_start
    sent = published.value - published_at_start
    stop.set()
    load.join(15)
    probe_client.loop_stop()
    probe_client.disconnect()
    stop_workers.set()
    for child in children:
        child.join(30)
    server.should_exit = True
    time.sleep(2)
    runtime.engine.dispose()

    latencies = [ms for p in plan if (ms := _latency_ms(p, min_visit)) is not None]
    stages = [st for p in plan if (st := _stages_ms(p, min_visit)) is not None]
    throughput = measure_rule_throughput(rules=1000)
    with Session(runtime.engine) as s:
        versions = len(list(s.exec(RuleRow.__table__.select())))  # type: ignore[attr-defined]
    return {
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(_percentile(latencies, 99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "stage_samples": len(stages),
        # p50 / p99 of each stage of the zone entry (see _stages_ms)
        "stages_ms": {
            name: [round(statistics.median(v), 1), round(_percentile(v, 99), 1)]
            for name in ("ingest", "presence", "rules_delivery")
            if (v := [st[name] for st in stages])
        },
        "probes": probes,
        "pushes_received": len(latencies),
        "background_sightings_per_s": round(stored / duration, 1),
        "background_published_per_s": round(sent / duration, 1),
        "background_target_per_s": rate,
        "rule_edit_to_engine_ms_p50": round(statistics.median(edit_ms), 2) if edit_ms else None,
        "rule_edit_to_engine_ms_max": round(max(edit_ms), 2) if edit_ms else None,
        "rule_versions": versions,
        "rules_active_for_throughput": throughput["rules"],
        "rule_evaluations_per_s": throughput["rule_evaluations_per_s"],
        "rule_events_per_s": throughput["events_per_s"],
        "database": database_url.split(":", 1)[0],
        "workers": workers,
        "seconds": round(duration, 1),
    }
