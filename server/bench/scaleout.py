"""`touchpoints bench ingest --workers N`: the scaled-out shape on one machine, end to end.

N ingest worker processes share the MQTT stream through a shared subscription (``$share/bench/...``), each
validating and storing its share in PostgreSQL and forwarding the live signals to the Redis stream, exactly
as ``TOUCHPOINTS_LIVE_ENABLED=false`` workers do (server/live/stream.py). This process is the live worker:
it reads the stream, merges the workers' signals by capture time and feeds presence. The rate is taken where
the signals reach presence (first to last), so it covers MQTT -> validated -> stored -> forwarded -> merged
-> presence; the stored row count is checked against what was published.

The baseline is the same bare paho subscriber as the one-process bench, on the same stream.
"""

from __future__ import annotations

import multiprocessing
import uuid
from typing import Any

import orjson

from server.bench.ingest import EVENT, Plan, _Counter, _run_publisher, baseline, payloads, seed

SHARED_GROUP = "bench"
READY_TIMEOUT_S = 120.0


def _ingest_worker(plan: Plan, database_url: str, redis_url: str, stream: str, index: int, ready: Any,
                   stop: Any) -> None:  # fmt: skip
    """Child process: one ingest worker, not the live worker (it forwards to the stream)."""
    import redis

    from server.core.config import load_settings
    from server.core.gc_tuning import tune_for_server
    from server.core.metrics import Metrics
    from server.ingest.consumer import IngestConfig, IngestConsumer
    from server.ingest.directory import Directory
    from server.live.stream import LiveForwarder
    from server.store.db import make_engine

    settings = load_settings(database_url=database_url)
    engine = make_engine(settings.sqlalchemy_url)
    directory = Directory(engine, EVENT)
    directory.reload()
    config = IngestConfig(mqtt_url=plan.mqtt_url, client_id=f"bench-w{index}-{uuid.uuid4().hex[:6]}",
                          prefix=plan.prefix, event_id=EVENT, max_payload_bytes=settings.mqtt_max_payload_bytes,
                          batch_max=settings.ingest_batch_max, queue_max=settings.ingest_queue_max,
                          queue_max_bytes=settings.ingest_queue_max_bytes, shared_group=SHARED_GROUP)  # fmt: skip
    consumer = IngestConsumer(config, engine, directory, Metrics())
    forwarder = LiveForwarder(redis.Redis.from_url(redis_url), stream, producer=f"bench-w{index}")
    consumer.listeners.append(forwarder)
    forwarder.start()
    tune_for_server()  # as the server does once started (server/app.py)
    consumer.start()
    consumer.wait_connected(30)
    ready.set()
    stop.wait()
    consumer.stop()
    forwarder.stop()
    engine.dispose()


def run_scaled_ingest_bench(
    mqtt_url: str, database_url: str, redis_url: str, *, workers: int, devices: int, attendees: int, batches: int,
    per_batch: int, seed_value: int = 7,
) -> dict[str, Any]:  # fmt: skip
    from server.bench.local import bench_database

    if not database_url.startswith("postgresql"):
        raise ValueError("--workers needs --database postgresql://...: SQLite takes one writer at a time")
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    plan = Plan(mqtt_url, prefix, devices, attendees, batches, per_batch, seed_value)
    base = baseline(Plan(mqtt_url, prefix + "b", devices, attendees, batches, per_batch, seed_value))
    with bench_database(database_url, "scaleout") as url:
        return _measure(plan, base, url, redis_url, workers)


def _measure(plan: Plan, base: dict[str, float], url: str, redis_url: str, workers: int) -> dict[str, Any]:
    import redis
    from sqlalchemy import text

    from server.core.config import load_settings
    from server.core.gc_tuning import tune_for_server
    from server.live.presence import LivePresence
    from server.live.stream import LiveStreamConsumer, stream_name
    from server.store.db import make_engine, migrate

    engine = make_engine(load_settings(database_url=url).sqlalchemy_url)
    client = redis.Redis.from_url(redis_url)
    stream = stream_name(plan.prefix, EVENT)
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    children = []
    try:
        migrate(engine)
        seed(engine, plan)
        presence = LivePresence(engine, EVENT)
        counter = _Counter()

        def dispatch(result: Any) -> None:
            presence.feed(result)
            counter.add(len(result.presence_sightings), len(result.presence_sightings))

        live = LiveStreamConsumer(client, stream, dispatch)
        presence.start()
        restore_gc = tune_for_server()
        live.start(live.tail())
        for index in range(workers):
            ready = ctx.Event()
            child = ctx.Process(target=_ingest_worker, args=(plan, url, redis_url, stream, index, ready, stop),
                                daemon=True)  # fmt: skip
            child.start()
            children.append(child)
            if not ready.wait(READY_TIMEOUT_S):
                raise RuntimeError(f"ingest worker {index} did not connect")
        expected = sum(len(orjson.loads(body)["sightings"]) for _, body in payloads(plan))
        _run_publisher(plan)
        counter.wait_idle(expected, timeout=900)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM touchpoint")).scalar_one()
        live.stop()
        presence.stop()
        restore_gc()
        rate = counter.rate()
        return {
            "bench": "ingest",
            "workers": workers,
            "sightings_per_s": round(rate),
            "baseline_sightings_per_s": round(base["sightings_per_s"]),
            "ratio": round(rate / base["sightings_per_s"], 3) if base["sightings_per_s"] else None,
            "database": "postgresql",
            "live": "redis stream",
            "sightings": counter.sightings,
            "stored": stored,
            "published_sightings": expected,
            "lost": expected - counter.sightings,
            "per_batch": plan.per_batch,
            "devices": plan.devices,
            "attendees": plan.attendees,
        }
    finally:
        stop.set()
        for child in children:
            child.join(30)
        client.delete(stream)
        engine.dispose()
