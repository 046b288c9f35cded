"""The sync against the strict emulator (a real org's rules): what the outside team's fake refused now arrives.

Each test is one point of issue 21: membership status changes, field lengths, refused emails, assignment rules
and queues, converted Leads, campaign status set-up, namespaced External IDs, a stuck lock, the CLI summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from crm_support import EVENT, T0, T_END, Clock, crm_env, ext, local, seed_event, set_score, synced
from sqlalchemy import Engine, select, update
from sqlmodel import Session, SQLModel
from typer.testing import CliRunner

from server.cli import app as cli
from server.crm.emulator.faults import Fault
from server.crm.emulator.org import INTEGRATION_USER, LEAD_QUEUE, REP_USER
from server.crm.emulator.server import EmulatorServer
from server.crm.outbox import enqueue_crm_change, noted_count
from server.crm.postevent import run_post_event
from server.crm.worker import CrmSync
from server.store.crm_models import CrmOutbox, CrmSyncState
from server.store.models import Attendee, Visit


def states(engine: Engine) -> dict[str, CrmSyncState]:
    with Session(engine) as s:
        return {st.record_key: st for st in s.execute(select(CrmSyncState)).scalars()}


def by_local(emulator: EmulatorServer, sobject: str) -> dict[str, dict[str, Any]]:
    return {local(r["Touchpoints_Id__c"]): r for r in emulator.emulator.org.all(sobject)}


def enqueue(engine: Engine, ids: list[str] | str) -> None:
    with engine.begin() as conn:
        enqueue_crm_change(conn, ids)


def test_membership_status_changes_arrive_as_status_only_updates(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync], clock: Clock
):
    synced(engine, make_sync, attendees=2)
    members = by_local(emulator, "CampaignMember")
    assert (members["a000"]["Status"], members["a001"]["Status"]) == ("Attended", "Registered")
    clock.at = T_END + 60  # a000 was at the booth (synced()), a001 never came
    run_post_event(engine, EVENT, now=clock.at)
    report = make_sync().drain()
    assert report.parked == 0
    after = by_local(emulator, "CampaignMember")
    assert (after["a000"]["Status"], after["a001"]["Status"]) == ("Attended", "No-show")
    assert {k: m["Id"] for k, m in after.items()} == {k: m["Id"] for k, m in members.items()}  # updated in place
    assert after["a000"]["HasResponded"] is True


def test_long_values_are_cut_and_refused_emails_sent_empty_with_a_note(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    ids = seed_event(engine, 3)
    with Session(engine) as s:
        edge = {
            "a000": dict(name="Maximilian-" + "x" * 40 + " " + "Vandenberg" * 10, company="C" * 300),
            "a001": dict(email="jane.doe@example", interests=[f"topic-{i:03d}" for i in range(40)]),
            "a002": dict(email="zoe@exämple.com"),
        }
        for attendee_id, values in edge.items():
            attendee = s.get(Attendee, attendee_id)
            assert attendee is not None
            for name, value in values.items():
                setattr(attendee, name, value)
            s.add(attendee)
        s.add(Visit(event_id=EVENT, attendee_id="a000", zone_id="booth-acme", started_at=T0, ended_at=T0 + 600,
                    dwell_s=600))  # fmt: skip
        s.commit()
    enqueue(engine, ids)
    report = make_sync().drain()
    assert report.parked == 0 and report.noted == 3
    leads = by_local(emulator, "Lead")
    assert len(leads["a000"]["FirstName"]) == 40 and len(leads["a000"]["LastName"]) == 80
    assert leads["a000"]["Company"] == "C" * 255
    interests = leads["a001"]["Touchpoints_Interests__c"]
    assert len(interests) <= 255 and interests.split(";")[-1].startswith("topic-")  # whole items only
    assert leads["a001"]["Email"] is None and leads["a002"]["Email"] is None
    assert len(emulator.emulator.org.all("CampaignMember")) == 3 and len(emulator.emulator.org.all("Task")) == 1
    st = states(engine)
    assert st["Lead:a000"].status == "synced" and "LastName cut from 100 to 80 characters" in (
        st["Lead:a000"].error or ""
    )
    assert st["Lead:a001"].error == "note: Email is not an address Salesforce takes: sent empty; " \
        "Touchpoints_Interests__c cut from 399 to 255 characters"  # fmt: skip
    assert st["Lead:a002"].error == "note: Email is not an address Salesforce takes: sent empty"
    with engine.connect() as conn:
        assert noted_count(conn) == 3  # what `touchpoints crm status` says as written_with_changes


def test_assignment_rules_do_not_take_back_a_reps_lead(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    org = emulator.emulator.org
    org.assignment_queue = LEAD_QUEUE  # the org's active rule: every Lead it runs on goes to the queue
    synced(engine, make_sync, attendees=1)
    lead = by_local(emulator, "Lead")["a000"]
    assert lead["OwnerId"] == INTEGRATION_USER  # Sforce-Auto-Assign: FALSE
    org.update("Lead", lead["Id"], {"OwnerId": REP_USER})  # a rep takes it
    set_score(engine, "a000", 90.0, grade="A", stage="hot")
    enqueue(engine, "a000")
    make_sync().drain()
    assert by_local(emulator, "Lead")["a000"]["OwnerId"] == REP_USER


def test_with_assignment_on_a_queue_owned_leads_follow_up_task_is_still_written(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync], clock: Clock
):
    org = emulator.emulator.org
    org.assignment_queue = LEAD_QUEUE
    ids = seed_event(engine, 1)
    with Session(engine) as s:
        s.add(Visit(event_id=EVENT, attendee_id="a000", zone_id="booth-acme", started_at=T0, ended_at=T0 + 600,
                    dwell_s=600))  # fmt: skip
        s.commit()
    enqueue(engine, ids)
    sync = make_sync()
    assert sync.sender is not None  # the admin turned assignment on (TOUCHPOINTS_SALESFORCE_AUTO_ASSIGN=true)
    sync.sender.conn.config = replace(sync.sender.conn.config, auto_assign=True)
    sync.drain()
    assert by_local(emulator, "Lead")["a000"]["OwnerId"] == LEAD_QUEUE  # the admin turned assignment on
    clock.at = T_END + 60
    run_post_event(engine, EVENT, now=clock.at)
    report = sync.drain()
    assert report.parked == 0
    followup = next(t for t in org.all("Task") if local(t["Touchpoints_Id__c"]).startswith("followup:"))
    assert followup["OwnerId"] == INTEGRATION_USER  # a Task cannot belong to a queue


def test_a_converted_lead_is_followed_to_its_contact(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync], clock: Clock
):
    org = emulator.emulator.org
    synced(engine, make_sync, attendees=1)
    lead = by_local(emulator, "Lead")["a000"]
    contact_id = org.convert_lead(lead["Id"])  # a rep converts it in Salesforce
    set_score(engine, "a000", 88.0, grade="A", stage="hot")
    clock.at = T_END + 60
    run_post_event(engine, EVENT, now=clock.at)
    report = make_sync().drain()
    assert (report.parked, report.converted) == (0, 1)
    contact = org.get("Contact", contact_id)
    assert contact is not None and contact["Touchpoints_Engagement_Score__c"] == 88.0
    assert [m["Status"] for m in org.all("CampaignMember")] == ["Attended"]
    assert {t["WhoId"] for t in org.all("Task")} == {contact_id}  # the follow-up Task too
    st = states(engine)
    assert (
        st["Contact:a000"].sf_id == contact_id and st["Lead:a000"].error == f"note: converted to Contact {contact_id}"
    )
    with Session(engine) as s:
        assert s.execute(select(CrmOutbox)).first() is None


def test_campaign_statuses_that_fail_are_reported_and_retried_not_remembered(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    ids = seed_event(engine, 2)
    enqueue(engine, ids)
    emulator.emulator.faults.add(
        Fault("record", code="UNABLE_TO_LOCK_ROW", every=1, times=3, path="/composite/sobjects")
    )
    sync = make_sync()
    first = sync.drain_once()
    assert first.retrying == 2 and emulator.emulator.org.all("CampaignMember") == []
    assert len(emulator.emulator.org.all("Lead")) == 2  # the people are written all the same
    campaign = states(engine)["Campaign:conf"]
    assert campaign.status == "failed" and "campaign member statuses not created" in (campaign.error or "")
    with Session(engine) as s:
        errors = {row.error for row in s.execute(select(CrmOutbox)).scalars()}
    assert len(errors) == 1 and "Registered: UNABLE_TO_LOCK_ROW" in errors.pop()  # type: ignore[operator]
    sync.drain()  # the same worker tries the statuses again
    assert {m["Status"] for m in emulator.emulator.org.all("CampaignMember")} == {"Registered"}
    assert states(engine)["Campaign:conf"].status == "synced"


def test_a_campaign_the_org_refuses_does_not_hold_the_people_back(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    emulator.emulator.org.marketing_user = False  # the integration user is no Marketing User
    ids = seed_event(engine, 2)
    enqueue(engine, ids)
    report = make_sync(max_attempts=1).drain()
    assert len(emulator.emulator.org.all("Lead")) == 2 and report.parked == 2
    member = states(engine)["CampaignMember:conf:a000"]
    assert member.status == "parked" and "Campaign was refused" in (member.error or "")


def test_two_deployments_on_one_org_never_touch_each_others_records(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync], tmp_path: Path
):
    from server.store.db import make_engine, migrate

    synced(engine, make_sync, attendees=2)
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")  # a second deployment (or a rebuilt database)
    migrate(other)
    ids = seed_event(other, 2)  # the same event id and attendee ids, other people
    with Session(other) as s:
        a000 = s.get(Attendee, "a000")
        assert a000 is not None
        a000.name, a000.email = "Someone Else", "else@example.com"
        s.add(a000)
        s.commit()
    enqueue(other, ids)
    mine = make_sync()  # the other deployment's worker: its own database, the same org
    theirs = CrmSync(other, mine.sender, mine.mapping.__class__(mine.mapping.raw), mine.config, now=mine.now)
    theirs.drain()
    org = emulator.emulator.org
    assert len(org.all("Lead")) == 4 and len(org.all("CampaignMember")) == 4 and len(org.all("Campaign")) == 2
    assert sorted(r["LastName"] for r in org.all("Lead")) == ["Else", "Persona000", "Persona001", "Persona001"]
    mine_now = {r["Touchpoints_Id__c"]: r for r in org.all("Lead")}
    assert mine_now[ext(engine, "a000")]["LastName"] == "Persona000"  # ours, untouched
    assert mine_now[ext(other, "a000")]["LastName"] == "Else"
    assert ext(engine, "a000") != ext(other, "a000")
    other.dispose()


def test_records_written_before_namespacing_are_moved_not_duplicated(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    synced(engine, make_sync, attendees=1)
    org = emulator.emulator.org
    # What an older version left: bare External ID values in the org and in sync state.
    for sobject in ("Lead", "CampaignMember", "Task", "Campaign"):
        for record in org.all(sobject):
            legacy = record["Touchpoints_Id__c"].split(":", 1)[1]  # "<event>:<key>": the old member/campaign form
            legacy = legacy.split(":", 1)[1] if sobject in ("Lead", "Task") else legacy
            org.records[sobject][record["Id"]]["Touchpoints_Id__c"] = legacy
            org._reindex(sobject, record["Id"], record, org.records[sobject][record["Id"]])
    with engine.begin() as conn:
        for key, st in states(engine).items():
            if st.sobject in ("Lead", "CampaignMember", "Task", "Campaign"):
                value = org.get(st.sobject, st.sf_id or "")["Touchpoints_Id__c"]  # type: ignore[index]
                legacy = update(CrmSyncState).where(CrmSyncState.record_key == key)
                conn.execute(legacy.values(external_id=value, payload_hash=None))
    enqueue(engine, "a000")
    report = make_sync().drain()
    assert report.parked == 0 and report.created == 0
    for sobject in ("Lead", "CampaignMember", "Task"):
        [record] = org.all(sobject)
        assert local(record["Touchpoints_Id__c"]) in ("a000", "visit:a000:booth-acme:1780000000")
    assert len(org.all("Campaign")) == 1 and org.all("Campaign")[0]["Touchpoints_Id__c"] == ext(engine, "x")[:-2]


def test_a_lead_that_stays_locked_is_parked_with_its_membership_and_tasks(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    ids = seed_event(engine, 2)
    with Session(engine) as s:
        s.add(Visit(event_id=EVENT, attendee_id="a000", zone_id="booth-acme", started_at=T0, ended_at=T0 + 600,
                    dwell_s=600))  # fmt: skip
        s.commit()
    enqueue(engine, ids)
    emulator.emulator.faults.add(Fault("record", code="UNABLE_TO_LOCK_ROW", ext_values={ext(engine, "a000")}, times=99))
    report = make_sync(max_attempts=2).drain()
    parked = {k: st.error for k, st in states(engine).items() if st.status == "parked"}
    assert set(parked) == {"Lead:a000", "CampaignMember:conf:a000", "Task:visit:a000:booth-acme:1780000000"}
    assert parked["Lead:a000"].startswith("gave up after 2 attempts: UNABLE_TO_LOCK_ROW")  # type: ignore[union-attr]
    assert parked["CampaignMember:conf:a000"] == "waiting for Lead:a000, which is parked"
    assert report.parked == 3 and len(emulator.emulator.org.all("Lead")) == 1


def test_the_cli_summary_says_a_500_was_recovered_from(
    engine: Engine, emulator: EmulatorServer, database_url: str, monkeypatch: pytest.MonkeyPatch
):
    for name, value in crm_env(emulator, database_url).items():
        monkeypatch.setenv(name, value)
    ids = seed_event(engine, 2)
    enqueue(engine, ids)
    emulator.emulator.faults.add(Fault("status", status=500, times=1))
    result = CliRunner().invoke(cli, ["crm", "sync"], terminal_width=300)
    assert result.exit_code == 0, result.output
    assert "stopped by" not in result.output and "recovered from 1 failure(s)" in result.output
    assert "SERVER_UNAVAILABLE (500)" in result.output and len(emulator.emulator.org.all("Lead")) == 2


def test_a_qualified_lead_becomes_one_opportunity(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    ids = seed_event(engine, 2)
    lead = SQLModel.metadata.tables["lead"]
    rows = [{"event_id": EVENT, "exhibitor_id": "acme", "attendee_id": a, "source": "qr", "captured_by": "rep",
             "rating": rating, "notes": "wants a demo", "answers": {"budget": "50k"}, "contact_shared": True,
             "created_at": T0, "updated_at": T0} for a, rating in (("a000", 5), ("a001", 2))]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(lead.insert(), rows)
    enqueue(engine, ids)
    sync = make_sync()
    sync.drain()
    org = emulator.emulator.org
    [opp] = org.all("Opportunity")  # a001's rating 2 is no qualification
    campaign = org.all("Campaign")[0]
    assert (opp["Name"], opp["StageName"], opp["CampaignId"], opp["LeadSource"]) == (
        "Acme: Ada Persona000 (Touch Conf)", "Qualification", campaign["Id"], "Event")  # fmt: skip
    assert "Rated 5/5 at Acme" in opp["Description"] and "Notes: wants a demo" in opp["Description"]
    with engine.begin() as conn:  # the rep edits the notes: the same Opportunity is updated
        conn.execute(lead.update().where(lead.c.attendee_id == "a000").values(notes="call Monday", updated_at=T0 + 9))
    enqueue(engine, "a000")
    sync.drain()
    [again] = org.all("Opportunity")
    assert again["Id"] == opp["Id"] and "Notes: call Monday" in again["Description"]


def test_erasing_an_attendee_deletes_their_opportunities_not_others(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    from server.usecases.erasure import erase

    ids = seed_event(engine, 2)
    lead = SQLModel.metadata.tables["lead"]
    rows = [{"event_id": EVENT, "exhibitor_id": "acme", "attendee_id": a, "source": "qr", "captured_by": "rep",
             "rating": 5, "answers": {}, "contact_shared": True, "created_at": T0, "updated_at": T0}
            for a in ids]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(lead.insert(), rows)
    enqueue(engine, ids)
    make_sync().drain()
    assert len(emulator.emulator.org.all("Opportunity")) == 2
    with Session(engine) as s:
        attendee = s.get(Attendee, "a000")
        assert attendee is not None
        erase(s, attendee, "anonymise")
    make_sync().drain()
    [left] = emulator.emulator.org.all("Opportunity")
    assert local(left["Touchpoints_Id__c"]).startswith("opp:a001:") and "Persona001" in left["Name"]
