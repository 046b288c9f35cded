"""Create and update paths, campaign statuses and tasks, against the emulator with the real client."""

from __future__ import annotations

from collections.abc import Callable

from crm_support import EVENT, T0, T_END, Clock, local, seed_event, set_score
from sqlalchemy import Engine, select
from sqlmodel import Session

from server.crm.emulator.server import EmulatorServer
from server.crm.mapping import iso_date
from server.crm.outbox import enqueue_crm_change
from server.crm.worker import CrmSync
from server.store.crm_models import CrmOutbox, CrmSyncState
from server.store.models import Touchpoint, Visit


def leads(emulator: EmulatorServer) -> dict[str, dict]:
    rows = emulator.emulator.org.all("Lead")
    ids = [local(r["Touchpoints_Id__c"]) for r in rows]
    assert len(ids) == len(set(ids)), "a lead was created twice"
    return {local(r["Touchpoints_Id__c"]): r for r in rows}


def test_a_new_attendee_becomes_a_lead_then_updates_it(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    ids = seed_event(engine, 2)
    set_score(engine, "a000", 42.0, grade="A", stage="engaged")
    with engine.begin() as conn:
        assert enqueue_crm_change(conn, [*ids, "nocrm", "staff1"], reason="registration") == 2
    sync = make_sync()
    report = sync.drain()
    assert report.created >= 2
    lead = leads(emulator)["a000"]
    assert (lead["LastName"], lead["FirstName"], lead["Company"]) == ("Persona000", "Ada", "Initech")
    assert lead["Touchpoints_Engagement_Score__c"] == 42.0 and lead["Touchpoints_Grade__c"] == "A"
    assert lead["Touchpoints_Interests__c"] == "ai;retail"
    members = emulator.emulator.org.all("CampaignMember")
    assert {m["Status"] for m in members} == {"Registered"} and len(members) == 2

    set_score(engine, "a000", 77.5, grade="A", stage="hot")
    with engine.begin() as conn:
        enqueue_crm_change(conn, "a000", reason="score")
        enqueue_crm_change(conn, "a000", reason="rule", fields={"Status": "Working - Contacted"})
    calls = emulator.emulator.api_used
    report = sync.drain()
    assert (report.created, report.updated) == (0, 1)  # one write for two changes; member unchanged: not sent
    assert emulator.emulator.api_used - calls == 1
    lead = leads(emulator)["a000"]
    assert lead["Touchpoints_Engagement_Score__c"] == 77.5 and lead["Status"] == "Working - Contacted"
    assert len(leads(emulator)) == 2 and "nocrm" not in leads(emulator)
    with Session(engine) as s:
        assert s.exec(select(CrmOutbox)).all() == []
        state = s.get(CrmSyncState, "Lead:a000")
        assert state is not None and state.status == "synced" and state.sf_id == lead["Id"]


def test_campaign_statuses_follow_attendance_and_the_event_end(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync], clock: Clock
):
    ids = seed_event(engine, 3)
    with Session(engine) as s:  # a000 came in and stayed 10 minutes at Acme's booth
        s.add(
            Visit(
                event_id=EVENT,
                attendee_id="a000",
                zone_id="entrance",
                started_at=T0 + 60,
                ended_at=T0 + 120,
                dwell_s=60,
            )
        )
        s.add(
            Visit(
                event_id=EVENT,
                attendee_id="a000",
                zone_id="booth-acme",
                started_at=T0 + 600,
                ended_at=T0 + 1200,
                dwell_s=600,
            )
        )
        s.commit()
    with engine.begin() as conn:
        enqueue_crm_change(conn, ids)
    sync = make_sync()
    sync.drain()
    org = emulator.emulator.org
    campaign = org.all("Campaign")[0]
    labels = {s["Label"]: s for s in org.all("CampaignMemberStatus") if s["CampaignId"] == campaign["Id"]}
    assert labels["Registered"]["IsDefault"] and labels["Attended"]["HasResponded"] and "No-show" in labels
    status = {local(m["Touchpoints_Id__c"]): m["Status"] for m in org.all("CampaignMember")}
    assert status == {"a000": "Attended", "a001": "Registered", "a002": "Registered"}
    tasks = org.all("Task")
    assert [t["Subject"] for t in tasks] == ["Visited booth Acme (10 min)"]

    clock.at = T_END + 60  # the event is over: the post-event flow
    from server.crm.postevent import run_post_event

    assert run_post_event(engine, EVENT, now=clock.at) == 3
    sync.drain()
    status = {local(m["Touchpoints_Id__c"]): m["Status"] for m in org.all("CampaignMember")}
    assert status == {"a000": "Attended", "a001": "No-show", "a002": "No-show"}
    follow = {local(r["Touchpoints_Id__c"]): r["Touchpoints_Follow_Up__c"] for r in org.all("Lead")}
    assert follow["a001"].startswith("Sorry we missed you") and follow["a000"] == "Follow up"
    followups = [t for t in org.all("Task") if local(t["Touchpoints_Id__c"]).startswith("followup:")]
    assert len(followups) == 1 and followups[0]["Status"] == "Not Started"
    assert followups[0]["ActivityDate"] == iso_date(T_END + 2 * 86400)  # two days after the event's end

    sync.drain()  # nothing new: nothing sent
    assert len(org.all("Task")) == 2 and len(org.all("CampaignMember")) == 3


def test_tasks_are_written_once_whatever_the_retries(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    seed_event(engine, 1)
    with Session(engine) as s:
        s.add(
            Visit(
                event_id=EVENT, attendee_id="a000", zone_id="booth-acme", started_at=T0, ended_at=T0 + 300, dwell_s=300
            )
        )
        s.add(Touchpoint(event_id=EVENT, type="tap", occurred_at=T0, received_at=T0, attendee_id="a000"))
        s.commit()
    with engine.begin() as conn:
        enqueue_crm_change(conn, "a000")
    sync = make_sync()
    sync.drain()
    with engine.begin() as conn:  # records' state lost (restored backup): everything is sent again, nothing doubles
        # (the deployment id is kept: it names this deployment's records; docs/salesforce.md, "Rebuilding")
        conn.execute(CrmSyncState.__table__.delete().where(CrmSyncState.sobject != "Deployment"))  # type: ignore[attr-defined]
        enqueue_crm_change(conn, "a000")
    sync2 = make_sync()
    sync2.drain()
    org = emulator.emulator.org
    assert len(org.all("Task")) == 1 and len(org.all("Lead")) == 1 and len(org.all("CampaignMember")) == 1
