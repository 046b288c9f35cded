"""`touchpoints bench crm`: a 10,000-lead backfill drained into the emulator, then lag under steady load.

Phase 1 (backfill): ``leads`` attendees are captured as leads at one booth (lead row + outbox row in one
transaction each batch, as lead capture does) and the worker drains them: each attendee's Lead, campaign
membership and qualification Task — Contacts matched by email first. Measured: API calls and seconds.
Phase 2 (steady load): the worker runs its loop while leads are captured at ``rate`` per second for
``steady_s`` seconds; the lag of each is Salesforce write time minus capture time (target: under 60 s).

The emulator answers in about a millisecond; a real org takes 100-500 ms per call and minutes per Bulk job,
so drain_s here is a floor. api_calls does not depend on the org's speed.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlmodel import SQLModel, col

from server.crm.connection import ConnectionConfig, SalesforceConnection
from server.crm.emulator.server import EmulatorServer
from server.crm.mapping import load_mapping
from server.crm.outbox import enqueue_crm_change
from server.crm.sender import Sender
from server.crm.worker import CrmSync, SyncConfig
from server.store.crm_models import CrmSyncState
from server.store.db import make_engine, migrate
from server.store.models import Attendee, Event, Exhibitor, Zone

EVENT = "bench"


def _capture(engine: Engine, ids: list[str], now: float) -> None:
    """Attendees, their leads at Acme, and the outbox rows: one transaction (the transactional outbox)."""
    lead = SQLModel.metadata.tables.get("lead")
    with engine.begin() as conn:
        conn.execute(
            insert(Attendee),
            [
                {
                    "id": a,
                    "event_id": EVENT,
                    "name": f"Lead Person {a}",
                    "email": f"{a}@bench.example",
                    "company": "Bench Corp",
                    "consent_crm": True,
                    "registered_at": now,
                    "tags": [],
                    "interests": ["ai"],
                    "role": "attendee",
                    "consent_tracking": False,
                    "consent_push": False,
                }
                for a in ids
            ],
        )
        if lead is not None:
            conn.execute(
                insert(lead),
                [
                    {
                        "event_id": EVENT,
                        "exhibitor_id": "acme",
                        "attendee_id": a,
                        "source": "qr",
                        "captured_by": "bench",
                        "rating": 4,
                        "notes": "wants a demo",
                        "answers": {"budget": "yes"},
                        "contact_shared": True,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for a in ids
                ],
            )
        enqueue_crm_change(conn, ids, reason="lead", now=now)


def run_crm_bench(
    leads: int = 10_000, steady_s: float = 20.0, rate: float = 20.0, database_url: str | None = None
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="tp-crm-bench-"))
    engine = make_engine(database_url or f"sqlite:///{work / 'bench.db'}")
    migrate(engine)
    start = time.time()
    with engine.begin() as conn:
        conn.execute(insert(Event), [{"id": EVENT, "name": "Bench Conf", "starts_at": start, "ends_at": start + 86400}])
        conn.execute(insert(Exhibitor), [{"id": "acme", "event_id": EVENT, "name": "Acme", "interests": []}])
        conn.execute(
            insert(Zone),
            [
                {
                    "id": "acme-booth",
                    "event_id": EVENT,
                    "name": "Acme",
                    "kind": "booth",
                    "x": 0,
                    "y": 0,
                    "width": 5,
                    "height": 5,
                    "floor": 0,
                    "exhibitor_id": "acme",
                }
            ],
        )
    with EmulatorServer(work / "emulator") as server:
        emu = server.emulator
        config = ConnectionConfig(
            auth_flow="password",
            login_url=server.url,
            username=emu.username,
            password=emu.password,
            security_token=emu.security_token,
            client_id=emu.client_id,
            client_secret=emu.client_secret,
            ca_bundle=server.ca_path,
        )
        sf_conn = SalesforceConnection(config)
        sync = CrmSync(engine, Sender(sf_conn), load_mapping(), SyncConfig(poll_interval_s=1.0))
        ids = [f"L{i:06d}" for i in range(leads)]
        for i in range(0, len(ids), 2000):
            _capture(engine, ids[i : i + 2000], time.time())
        t0 = time.perf_counter()
        report = sync.drain()
        drain_s = time.perf_counter() - t0
        api_calls, logins = sf_conn.api_calls, sf_conn.logins
        in_org = len({r["Touchpoints_Id__c"] for r in emu.org.all("Lead")})
        jobs = sum(1 for _m, p in emu.requests if p.endswith("/jobs/ingest"))

        # Phase 2: steady capture while the worker loop runs.
        steady_ids: list[str] = []
        sync.start()
        stop_at = time.time() + steady_s
        n = 0
        while time.time() < stop_at:
            batch = [f"S{n + k:06d}" for k in range(max(1, int(rate)))]
            n += len(batch)
            _capture(engine, batch, time.time())
            steady_ids.extend(batch)
            time.sleep(1.0)
        deadline = time.time() + 120
        while time.time() < deadline and _synced(engine, steady_ids) < len(steady_ids):
            time.sleep(0.2)
        sync.stop()
        lags = _lags(engine, steady_ids)
    engine.dispose()
    lags.sort()
    return {
        "leads": leads,
        "in_salesforce": in_org,
        "records_sent": report.sent,
        "api_calls": api_calls,
        "logins": logins,
        "bulk_jobs": jobs,
        "drain_s": round(drain_s, 2),
        "steady_leads": len(steady_ids),
        "steady_rate_per_s": rate,
        "lag_p50_s": round(statistics.median(lags), 2) if lags else None,
        "lag_p95_s": round(lags[int(0.95 * (len(lags) - 1))], 2) if lags else None,
        "lag_max_s": round(lags[-1], 2) if lags else None,
        "threads": threading.active_count(),
    }


def _synced(engine: Engine, ids: list[str]) -> int:
    keys = [f"Lead:{a}" for a in ids]
    total = 0
    with engine.connect() as conn:
        for i in range(0, len(keys), 500):
            total += len(
                conn.execute(
                    select(col(CrmSyncState.record_key)).where(
                        col(CrmSyncState.record_key).in_(keys[i : i + 500]), col(CrmSyncState.status) == "synced"
                    )
                ).all()
            )
    return total


def _lags(engine: Engine, ids: list[str]) -> list[float]:
    keys = [f"Lead:{a}" for a in ids]
    out: list[float] = []
    with engine.connect() as conn:
        for i in range(0, len(keys), 500):
            rows = conn.execute(
                select(col(CrmSyncState.synced_at), col(CrmSyncState.enqueued_at)).where(
                    col(CrmSyncState.record_key).in_(keys[i : i + 500])
                )
            )
            out.extend(s - e for s, e in rows if s is not None and e is not None)
    return out
