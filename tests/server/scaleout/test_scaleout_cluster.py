"""Scale-out behaves as one server: two ingest workers (one of them the live worker) and two API-only workers,
as real processes on Mosquitto, PostgreSQL and Redis, against one single server fed the very same stream.

The simulator publishes once; the single server subscribes to the topics plainly and the cluster's ingest
workers through a shared subscription, so the broker hands every message to the single server and to one
of the two workers. Then the two databases must hold the same touchpoints and the same visits (start and
end within a small tolerance: presence is fed in different batches), and a dashboard connected to an
API-only worker must have received the live worker's updates through Redis.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from processes import free_port, server_env, touchpoints_process, wait_healthy
from sqlalchemy import Engine, create_engine, func, select, text
from support import ADMIN, AUTH, clear_session, wait_until
from websockets.sync.client import connect

from server.domain.presence import PresenceParams
from server.simulator.run import run_simulation
from server.simulator.scenario import build_scenario
from server.simulator.seed import seed_database
from server.store.db import make_engine, migrate
from server.store.models import IngestedMessage, Touchpoint, Visit

ATTENDEES = 20
SPAN_S = 25 * 60  # doors open at 08:30: arrivals, check-ins and the first booth visits
# Simulated seconds per wall second. Mosquitto's default max_queued_messages (1,000) drops QoS 1 messages
# for a subscriber that falls behind, and three ingest processes share two cores with the simulator here.
# Not faster: a worker stalled for a wall second under CI load is SPEED seconds of data behind the other, and
# presence judges those windows without its readings (one visit started 20 s later on one side at 75, once).
SPEED = 50
# Presence is fed in different batches on the two sides (one consumer vs. two workers merged by capture
# time); visit boundaries are back-dated to evidence, so they agree to within a few scan windows. Since the
# zone filter (server/domain/zone_filter.py) presence also judges a window that is still filling up, so the
# batching shows more: a start 3 windows apart, or one stay split by a half-minute excursion on one side
# (seen at 20x and 50x alike, so it is batching, not load). Until the live adapter steps only complete
# windows, the test holds the two sides to 5 windows per boundary and, where one side split a stay, to the
# same dwell within DWELL_SHARE.
TOLERANCE_S = 10.0
DWELL_SHARE = 0.2
SETTLE_S = 45  # after the stream: storing the backlog, presence's last steps


@pytest.fixture
def two_databases() -> Iterator[tuple[str, str]]:
    """Two fresh PostgreSQL schemas (the single server's, the cluster's), migrated."""
    base_url = os.environ.get("TOUCHPOINTS_TEST_POSTGRES_URL")
    if not base_url:
        pytest.skip("needs PostgreSQL: set TOUCHPOINTS_TEST_POSTGRES_URL")
    base = "postgresql+psycopg://" + base_url.split("://", 1)[1]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    schemas = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    with admin.connect() as conn:
        for schema in schemas:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    urls = [f"{base}{sep}options=-csearch_path%3D{schema}" for schema in schemas]
    try:
        for url in urls:
            engine = make_engine(url)
            migrate(engine)  # once, before four processes start (each would otherwise race to migrate)
            engine.dispose()
        yield urls[0], urls[1]
    finally:
        with admin.connect() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def stored_messages(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(IngestedMessage)).scalar_one())


def touchpoint_rows(engine: Engine) -> Counter[tuple[Any, ...]]:
    t = Touchpoint
    columns: tuple[Any, ...] = (t.device_id, t.seq, t.idx, t.type, t.attendee_id, t.zone_id, t.occurred_at, t.rssi)
    with engine.connect() as conn:
        return Counter(tuple(row) for row in conn.execute(select(*columns)))


VISIT_COLUMNS: tuple[Any, ...] = (Visit.attendee_id, Visit.zone_id, Visit.started_at, Visit.ended_at)


def visits_by_stay(engine: Engine) -> dict[tuple[str, str], list[tuple[float, float | None]]]:
    stays: dict[tuple[str, str], list[tuple[float, float | None]]] = defaultdict(list)
    with engine.connect() as conn:
        for attendee, zone, start, end in conn.execute(select(*VISIT_COLUMNS).order_by(VISIT_COLUMNS[2])):
            stays[(attendee, zone)].append((start, end))
    return dict(stays)


def _borderline(stay: tuple[float, float | None]) -> bool:
    """A closed stay within the tolerance of the walk-by threshold: one side may judge it a scan window
    shorter and not announce it at all (seen under load: 45.006 s on one side, nothing on the other)."""
    start, end = stay
    return end is not None and end - start < PresenceParams().min_visit_s + TOLERANCE_S


def _unmatched_borderline(mine: list[Any], theirs: list[Any]) -> list[Any]:
    near = lambda a, b: abs(a[0] - b[0]) <= TOLERANCE_S  # noqa: E731
    return [v for v in mine if not (_borderline(v) and not any(near(v, t) for t in theirs))]


def differences(single: dict[Any, list[Any]], cluster: dict[Any, list[Any]]) -> list[str]:
    found = []
    for key in sorted(single.keys() | cluster.keys()):
        a, b = single.get(key, []), cluster.get(key, [])
        if len(a) != len(b):
            a, b = _unmatched_borderline(a, b), _unmatched_borderline(b, a)
        if len(a) != len(b):
            if not _same_stay_split(a, b):
                found.append(f"{key}: single {a} vs cluster {b}")
            continue
        for (s1, e1), (s2, e2) in zip(a, b, strict=True):
            ends_differ = (e1 is None) != (e2 is None) or (e1 is not None and abs(e1 - e2) > TOLERANCE_S)
            if abs(s1 - s2) > TOLERANCE_S or ends_differ:
                found.append(f"{key}: single {(s1, e1)} vs cluster {(s2, e2)}")
    return found


def _same_stay_split(a: list[Any], b: list[Any]) -> bool:
    """One side split a stay the other kept whole: same first start and last end, dwell within DWELL_SHARE."""
    if not a or not b or any(end is None for _, end in (*a, *b)):
        return False
    dwell_a, dwell_b = (sum(end - start for start, end in side) for side in (a, b))
    same_span = abs(a[0][0] - b[0][0]) <= TOLERANCE_S and abs(a[-1][1] - b[-1][1]) <= TOLERANCE_S
    return same_span and abs(dwell_a - dwell_b) <= DWELL_SHARE * max(dwell_a, dwell_b)


def metric(port: int, name: str) -> float:
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", headers=AUTH, timeout=5).text
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", body, flags=re.M))


class DashboardWatcher:
    """An organizer's dashboard socket on one worker, collecting what it receives in a thread."""

    def __init__(self, port: int) -> None:
        self.messages: list[dict[str, Any]] = []
        self._socket = connect(f"ws://127.0.0.1:{port}/dashboard/ws", open_timeout=10)
        self._socket.send(orjson.dumps({"token": ADMIN}).decode())
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        try:
            for text_message in self._socket:
                self.messages.append(orjson.loads(text_message))
        except Exception:  # closed
            return

    def updates_with_occupancy(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == "update" and any((m.get("occupancy") or {}).values())]

    def close(self) -> None:
        self._socket.close()
        self._thread.join(timeout=5)


@pytest.mark.slow
def test_two_ingest_workers_and_two_api_workers_give_the_results_of_one_server(
    two_databases: tuple[str, str], real_mqtt_url: str, redis_url: str, topic_prefix: str, tmp_path: Path
):
    began = time.monotonic()
    single_url, cluster_url = two_databases
    scenario = build_scenario(seed=7, attendees=ATTENDEES)
    engines = {"single": make_engine(single_url), "cluster": make_engine(cluster_url)}
    for engine in engines.values():
        seed_database(engine, scenario)
    tag = uuid.uuid4().hex[:8]
    common = {"mqtt_url": real_mqtt_url, "mqtt_topic_prefix": topic_prefix, "admin_token": ADMIN,
              "event_id": scenario.event.id, "log_level": "WARNING"}  # fmt: skip
    cluster = {**common, "database_url": cluster_url, "redis_url": redis_url, "mqtt_shared_group": f"g{tag}"}
    roles: dict[str, dict[str, str]] = {
        "single": {**common, "database_url": single_url, "mqtt_client_id": f"single-{tag}"},
        "ingest-live": {**cluster, "mqtt_client_id": f"ingest-1-{tag}", "live_enabled": "true"},
        "ingest-2": {**cluster, "mqtt_client_id": f"ingest-2-{tag}", "live_enabled": "false"},
        "api-1": {**cluster, "ingest_enabled": "false", "live_enabled": "false"},
        "api-2": {**cluster, "ingest_enabled": "false", "live_enabled": "false"},
    }
    ports = {name: free_port() for name in roles}
    logs = {name: tmp_path / f"{name}.log" for name in roles}
    watcher: DashboardWatcher | None = None
    try:
        with ExitStack() as stack:
            procs = {
                name: stack.enter_context(touchpoints_process(["serve"], server_env(
                    **env, http_port=str(ports[name]), var_dir=str(tmp_path / name)), logs[name]))
                for name, env in roles.items()
            }  # fmt: skip
            for name, proc in procs.items():
                wait_healthy(ports[name], proc, logs[name], timeout=60)
            watcher = DashboardWatcher(ports["api-1"])  # API-only: it samples nothing itself
            print(f"started at {time.monotonic() - began:.1f}s")

            stats = run_simulation(scenario, real_mqtt_url, prefix=topic_prefix, speed=SPEED, duration_s=SPAN_S)
            device_messages = stats.messages - stats.statuses
            print(f"published {stats.messages} at {time.monotonic() - began:.1f}s")

            def all_stored() -> bool:
                return all(stored_messages(engine) == device_messages for engine in engines.values())

            assert wait_until(all_stored, timeout=SETTLE_S), {n: stored_messages(e) for n, e in engines.items()}

            # Presence on both sides has caught up once their visits agree (each side's last steps may lag).
            def same_visits() -> bool:
                return differences(*(visits_by_stay(engines[n]) for n in ("single", "cluster"))) == []

            wait_until(same_visits, timeout=SETTLE_S, interval=1.0)
            print(f"settled at {time.monotonic() - began:.1f}s")

            # The shared subscription split the stream; the non-live worker forwarded to the live one.
            workers = ("ingest-live", "ingest-2")
            stored_by = {n: metric(ports[n], "touchpoints_mqtt_messages_stored_total") for n in workers}
            assert all(n > 0 for n in stored_by.values()), stored_by
            assert metric(ports["ingest-2"], "touchpoints_live_stream_entries_total") > 0
            health = httpx.get(f"http://127.0.0.1:{ports['api-2']}/healthz").json()
            assert health["status"] == "ok" and health["redis"] == {"ok": True}, health
            # An API-only worker still answers occupancy: from the open visits in the shared store.
            occupancy = httpx.get(f"http://127.0.0.1:{ports['api-2']}/api/v1/presence/occupancy", headers=AUTH)
            assert occupancy.status_code == 200, occupancy.text
            stays = visits_by_stay(engines["cluster"]).values()
            still_open = sum(1 for visits in stays for _, end in visits if end is None)
            assert sum(z["present"] for z in occupancy.json()) == still_open
    finally:
        if watcher is not None:
            watcher.close()
        for env in roles.values():
            if "mqtt_client_id" in env:
                clear_session(real_mqtt_url, env["mqtt_client_id"])

    single, clustered = (touchpoint_rows(engines[n]) for n in ("single", "cluster"))
    assert sum(single.values()) > 5000
    assert clustered == single
    single_visits, cluster_visits = (visits_by_stay(engines[n]) for n in ("single", "cluster"))
    assert sum(len(v) for v in single_visits.values()) >= 10
    # Known gap (issue 14's follow-up): since the zone filter, a stay on one side can be split by a short
    # excursion on the other (the cluster's live stream delivers windows in other batches). Most stays must
    # still agree exactly; the ones that do not are printed.
    disagree = differences(single_visits, cluster_visits)
    print("stays that differ:", disagree)
    assert len(disagree) <= max(1, len(single_visits) // 10), disagree
    matched = {
        key: (_unmatched_borderline(stays, cluster_visits.get(key, [])),
              _unmatched_borderline(cluster_visits.get(key, []), stays))
        for key, stays in single_visits.items()
    }  # fmt: skip
    # Stays one side split (allowed above) are left out of the shift figure: their boundaries do not pair up.
    paired = [(mine, theirs) for mine, theirs in matched.values() if len(mine) == len(theirs)]
    pairs = [pair for mine, theirs in paired for pair in zip(mine, theirs, strict=True)]
    shifts = [abs(a - b) for pair in pairs for a, b in zip(*pair, strict=True) if a is not None and b is not None]
    print(f"{sum(len(v) for v in single_visits.values())} visits, largest start/end shift {max(shifts):.3f}s")
    # The live worker's dashboard updates reached a socket held by an API-only worker, through Redis.
    assert watcher is not None and watcher.messages[0]["type"] == "snapshot"
    assert watcher.updates_with_occupancy(), watcher.messages[-3:]
    for engine in engines.values():
        engine.dispose()
