"""Every fault Salesforce and the network produce, mid-batch: in the end every lead exactly once, latest values."""

from __future__ import annotations

from collections.abc import Callable

from crm_support import ext, local, seed_event, set_score
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from server.crm.emulator.faults import Fault
from server.crm.emulator.server import EmulatorServer
from server.crm.outbox import enqueue_crm_change, redrive
from server.crm.worker import CrmSync
from server.store.crm_models import CrmOutbox, CrmSyncState
from server.store.models import Attendee


def assert_exactly_once(emulator: EmulatorServer, engine: Engine, ids: list[str]) -> None:
    org = emulator.emulator.org
    leads = org.all("Lead")
    ext = [local(r["Touchpoints_Id__c"]) for r in leads]
    assert sorted(ext) == sorted(ids), "every lead exactly once"
    members = [local(m["Touchpoints_Id__c"]) for m in org.all("CampaignMember")]
    assert len(members) == len(set(members)) == len(ids)
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(CrmOutbox)).scalar_one() == 0
        rows = s.execute(select(CrmSyncState).where(CrmSyncState.attendee_id.is_not(None))).scalars()  # type: ignore[union-attr]
        states = {st.record_key: st for st in rows}
    assert {st.status for st in states.values()} == {"synced"}
    by_ext = {local(r["Touchpoints_Id__c"]): r for r in leads}
    for attendee_id in ids:
        assert states[f"Lead:{attendee_id}"].sf_id == by_ext[attendee_id]["Id"]


def test_every_fault_mid_batch_ends_with_each_lead_once_and_latest(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    ids = seed_event(engine, 450)
    with engine.begin() as conn:
        enqueue_crm_change(conn, ids, reason="registration")
    emulator.emulator.faults.add(
        Fault("status", status=503, after=2),  # the third call: Service Unavailable
        Fault("expire", after=4),  # the session ends mid-batch: log in again, retry once
        Fault("limit", after=6),  # REQUEST_LIMIT_EXCEEDED: the whole queue pauses
        Fault("slow", delay_s=1.5, after=8),  # the client times out (1 s), the org has done the work
        Fault("status", status=500, after=10),
        Fault("record", code="UNABLE_TO_LOCK_ROW", every=7, times=30),
        Fault("record", code="DUPLICATES_DETECTED", ext_values={ext(engine, "a010")}, times=1),
    )
    sync = make_sync(timeout_s=1.0)
    for _ in range(4):  # part-way through, scores change: the latest values must win
        sync.drain_once()
    for attendee_id in ids[:60]:
        set_score(engine, attendee_id, 91.0, grade="A", stage="hot")
    with engine.begin() as conn:
        enqueue_crm_change(conn, ids[:60], reason="score")
    report = sync.drain()
    with Session(engine) as s:  # DUPLICATES_DETECTED cannot succeed by retrying: parked (with its member), not retried
        query = select(CrmSyncState.record_key).where(CrmSyncState.status == "parked")
        parked_keys = [key for (key,) in s.execute(query)]
        assert sorted(parked_keys) == ["CampaignMember:conf:a010", "Lead:a010"] and report.parked == 2
        parked = s.get(CrmSyncState, "Lead:a010")
        assert parked is not None and parked.status == "parked" and "DUPLICATES_DETECTED" in (parked.error or "")
    assert all(f.fired == f.times for f in emulator.emulator.faults.plan), "every fault happened"

    with engine.begin() as conn:  # the operator merged the duplicate in Salesforce: re-drive
        assert redrive(conn, attendee_id="a010") == 1
    sync.drain()
    assert_exactly_once(emulator, engine, ids)
    leads = {local(r["Touchpoints_Id__c"]): r for r in emulator.emulator.org.all("Lead")}
    assert all(leads[a]["Touchpoints_Engagement_Score__c"] == 91.0 for a in ids[:60])
    assert all(leads[a]["Touchpoints_Stage__c"] == "hot" for a in ids[:60])


def test_request_limit_pauses_the_whole_queue_and_usage_slows_it_down(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    ids = seed_event(engine, 5)
    with engine.begin() as conn:
        enqueue_crm_change(conn, ids)
    emulator.emulator.faults.add(Fault("limit", times=1))
    sync = make_sync(limit_pause_s=0.5, slowdown_at=0.5)
    report = sync.drain_once()
    assert report.failure is not None and "REQUEST_LIMIT_EXCEEDED" in report.failure
    assert sync.paused_until > sync.now()
    calls = emulator.emulator.api_used
    assert sync.drain_once().changes == 0 and emulator.emulator.api_used == calls  # paused: not even a look
    emulator.emulator.api_max, emulator.emulator.api_used = 100, 70  # Sforce-Limit-Info will say 7x/100
    sync.drain()
    assert_exactly_once(emulator, engine, ids)
    assert sync.sender is not None and sync.sender.conn.usage is not None and sync.sender.conn.usage[1] == 100
    assert 0 < sync.throttle_delay() <= 0.5  # above half the daily limit: the worker spaces its drains out


def test_bulk_api_for_backfills_with_failed_record_retrieval(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    ids = seed_event(engine, 260)
    with engine.begin() as conn:
        enqueue_crm_change(conn, ids)
    emulator.emulator.faults.add(
        Fault("record", code="UNABLE_TO_LOCK_ROW", ext_values={ext(engine, "a003"), ext(engine, "a200")}, times=2),
        # and one membership in the members' job (a job reporting no failures has none fetched)
        Fault("record", code="UNABLE_TO_LOCK_ROW", ext_values={ext(engine, "a150")}, path="/CampaignMember", times=1),
    )
    sync = make_sync(bulk_threshold=100)
    sync.drain()
    assert_exactly_once(emulator, engine, ids)
    paths = [p for _m, p in emulator.emulator.requests]
    assert sum(p.endswith("/jobs/ingest") for p in paths) == 2  # one job for the Leads, one for the members
    assert sum(p.endswith("/failedResults") for p in paths) == 2  # failed records are fetched from each job
    assert sum("composite/sobjects/Lead" in p for p in paths) == 1  # the two locked Leads: retried in one call


def test_consent_less_attendees_never_leave_the_building(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    ids = seed_event(engine, 2)
    with engine.begin() as conn:
        assert enqueue_crm_change(conn, ["nocrm", "staff1"]) == 0  # filtered at enqueue
        enqueue_crm_change(conn, ids)
        conn.execute(
            CrmOutbox.__table__.insert(),
            [  # type: ignore[attr-defined]
                {
                    "event_id": "conf",
                    "attendee_id": "nocrm",
                    "reason": "x",
                    "created_at": 0,
                    "attempts": 0,
                    "next_attempt_at": 0,
                }
            ],
        )  # a row that slipped in (an old version, a manual insert)
    with Session(engine) as s:  # a001 withdraws consent after the change was enqueued
        a001 = s.get(Attendee, "a001")
        assert a001 is not None
        a001.consent_crm = False
        s.add(a001)
        s.commit()
    report = make_sync().drain()
    assert report.skipped_no_consent == 2
    assert [local(r["Touchpoints_Id__c"]) for r in emulator.emulator.org.all("Lead")] == ["a000"]
    sent = str(emulator.emulator.org.records)
    assert "no@example.com" not in sent and "a001@example.com" not in sent
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(CrmOutbox)).scalar_one() == 0
