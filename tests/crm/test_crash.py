"""The worker killed mid-drain (SIGKILL, no cleanup) and restarted: nothing lost, nothing doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from crm_support import crm_env, local, seed_event
from sqlalchemy import Engine, func, select

from server.crm.emulator.faults import Fault
from server.crm.emulator.server import EmulatorServer
from server.crm.outbox import enqueue_crm_change
from server.store.crm_models import CrmOutbox

ROOT = Path(__file__).resolve().parents[2]


def start_worker(emulator: EmulatorServer, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUCHPOINTS_")}
    env.update(
        crm_env(
            emulator, database_url, SALESFORCE_BATCH_SIZE="50", SALESFORCE_POLL_INTERVAL_S="0.2", LOG_LEVEL="WARNING"
        )
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "server.cli", "crm", "sync", "--follow"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_for(check: object, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_killed_mid_drain_then_restarted_loses_and_doubles_nothing(
    engine: Engine, emulator: EmulatorServer, database_url: str, tmp_path: Path
):
    ids = seed_event(engine, 400)
    with engine.begin() as conn:
        enqueue_crm_change(conn, ids)
    org = emulator.emulator.org
    emulator.emulator.faults.add(Fault("slow", delay_s=0.25, times=100_000, path="composite"))
    log = tmp_path / "worker.log"
    worker = start_worker(emulator, database_url, log)
    try:
        wait_for(lambda: len(org.all("Lead")) >= 100, 60, "the first leads", log)
        worker.send_signal(signal.SIGKILL)  # mid-drain: calls in flight, state not yet saved
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    written_before = len(org.all("Lead")) + len(org.all("CampaignMember"))
    assert written_before < 800, "the kill came too late to prove anything"

    emulator.emulator.faults.clear()
    worker = start_worker(emulator, database_url, log)
    try:

        def drained() -> bool:
            with engine.connect() as conn:
                left = conn.execute(select(func.count()).select_from(CrmOutbox)).scalar_one()
            return left == 0 and len(org.all("CampaignMember")) == 400

        wait_for(drained, 90, "the restarted worker to drain", log)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
    leads = [local(r["Touchpoints_Id__c"]) for r in org.all("Lead")]
    members = [r["Touchpoints_Id__c"] for r in org.all("CampaignMember")]
    assert sorted(leads) == ids and len(set(members)) == len(members) == 400
    assert len(org.all("Campaign")) == 1
