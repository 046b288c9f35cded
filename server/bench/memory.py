"""`touchpoints bench memory`: the server's resident memory with a big show's venue loaded and live.

The whole server runs in this process (the FastAPI app under uvicorn, ingest, presence, scores, rules), on
a fresh database seeded with ``attendees`` badges and ``devices`` scanners (one zone each). A separate
process publishes ``windows`` scan windows in which every badge is heard by its home scanner and both
neighbours, so the presence engine holds readings for every attendee. Memory is read from /proc:
- ``rss_mb``: resident set size when presence tracked the most badges (``badges_tracked``), sampled while
  the stream runs;
- ``peak_rss_mb``: the process's high-water mark;
- ``baseline_rss_mb``: the same process with the same code imported and the app built on an empty venue,
  measured in the same run, so that ``per_attendee_kb`` isolates what the venue and its live state cost.
"""

from __future__ import annotations

import resource
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from server.bench.ingest import EVENT, Plan, _Counter, _run_publisher, seed

ADMIN = "bench-admin-token-0123456789abcdef"
SAMPLE_S = 0.5
STARTUP_TIMEOUT_S = 600.0  # a big venue's directory, presence warm start and score keeper load first
PAGE = 4096


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE / 1e6


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB on Linux


def run_memory_bench(mqtt_url: str, database_url: str | None, *, attendees: int, devices: int,
                     windows: int) -> dict[str, Any]:  # fmt: skip
    from server.bench.local import bench_database

    with bench_database(database_url, "memory") as url:
        return _measure(mqtt_url, url, attendees=attendees, devices=devices, windows=windows)


def _measure(mqtt_url: str, url: str, *, attendees: int, devices: int, windows: int) -> dict[str, Any]:
    import uvicorn

    from server.app import create_app
    from server.core.config import load_settings
    from server.store.db import make_engine, migrate

    tmp = Path(tempfile.mkdtemp(prefix="touchpoints-bench-memory-"))
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    per_device = min(500, -(-attendees * 3 // devices))  # every badge around a scanner, in one batch
    plan = Plan(mqtt_url, prefix, devices, attendees, devices * windows, per_device, 7)
    settings = load_settings(database_url=url, mqtt_url=mqtt_url, mqtt_topic_prefix=prefix, event_id=EVENT,
                             mqtt_client_id=f"bench-mem-{uuid.uuid4().hex[:6]}", admin_token=ADMIN,
                             var_dir=tmp / "var", log_level="WARNING")  # fmt: skip
    engine = make_engine(settings.sqlalchemy_url)
    migrate(engine)
    try:
        baseline = rss_mb()  # everything imported, the schema created, no venue yet
        seed(engine, plan)
        app = create_app(settings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        started = time.monotonic()
        while not server.started and time.monotonic() < started + STARTUP_TIMEOUT_S:
            time.sleep(0.05)
        startup_s = time.monotonic() - started
        runtime = app.state.runtime
        assert runtime.ingest is not None and runtime.ingest.wait_connected(30), "ingest did not connect"
        loaded = rss_mb()
        counter = _Counter()
        runtime.ingest.listeners.append(lambda r: counter.add(sum(r.stored.values()), r.touchpoints.get("sighting", 0)))
        # Badges are live while they are heard: a badge unheard for presence's away_after_s (20 s of data time)
        # is checked out and forgotten. So the figures are sampled while the stream runs, at the moment the
        # engine tracked the most badges.
        most = {"tracked": 0, "rss": 0.0}
        done = threading.Event()

        def sample() -> None:
            while not done.wait(SAMPLE_S):
                tracked = len(runtime.pipeline.presence.engine._badges) if runtime.pipeline.presence is not None else 0
                if tracked >= most["tracked"]:
                    most.update(tracked=tracked, rss=rss_mb())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _run_publisher(plan)
        counter.wait_idle(plan.batches, timeout=900)
        time.sleep(2.0)  # presence's next steps take in the last batches
        done.set()
        sampler.join()
        tracked, live = int(most["tracked"]), max(most["rss"], rss_mb())
        server.should_exit = True  # stopped before the broker goes: a clean disconnect
        thread.join(30)
        return {
            "bench": "memory",
            "attendees": attendees,
            "devices": devices,
            "windows": windows,
            "sightings": counter.sightings,
            "badges_tracked": tracked,
            "startup_s": round(startup_s, 1),
            "rss_mb": round(live, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "baseline_rss_mb": round(baseline, 1),
            "loaded_rss_mb": round(loaded, 1),
            "per_attendee_kb": round((live - baseline) * 1000 / attendees, 2),
            "target_mb": 500,
            "database": engine.dialect.name,
        }
    finally:
        engine.dispose()
