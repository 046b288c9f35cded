"""The operator's view: `crm check`, dry run, status per record over the API, re-drive of parked records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from crm_support import EVENT, crm_env, ext, local, seed_event
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support import ADMIN
from typer.testing import CliRunner

from server.app import create_app
from server.cli import app as cli
from server.core.config import load_settings
from server.crm.emulator.faults import Fault
from server.crm.emulator.server import EmulatorServer
from server.crm.outbox import enqueue_crm_change
from server.crm.worker import CrmSync

runner = CliRunner()


@pytest.fixture
def env(emulator: EmulatorServer, database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in crm_env(emulator, database_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "250")  # rich tables at full width


def test_crm_check_lists_what_the_org_lacks_and_exits_1(emulator: EmulatorServer, env: None):
    result = runner.invoke(cli, ["crm", "check"])
    assert result.exit_code == 0, result.output
    assert "everything the mapping needs is there" in result.output

    emulator.emulator.org.missing_fields.update({("Lead", "Touchpoints_Stage__c"), ("Task", "Touchpoints_Id__c")})
    result = runner.invoke(cli, ["crm", "check"], terminal_width=200)
    assert result.exit_code == 1
    assert "2 missing: Lead.Touchpoints_Stage__c, Task.Touchpoints_Id__c" in result.output
    assert "MISSING" in result.output and "field missing" in result.output


def test_crm_check_says_when_erasure_would_delete_leads_the_integration_user_cannot_delete(
    emulator: EmulatorServer, env: None, monkeypatch: pytest.MonkeyPatch
):
    result = runner.invoke(cli, ["crm", "check"], terminal_width=250)
    assert result.exit_code == 0, result.output
    assert "(delete permission)" in result.output  # checked, and granted: the emulator's profile may delete

    emulator.emulator.org.undeletable.add("Lead")  # describe now answers "deletable": false, as Salesforce does
    result = runner.invoke(cli, ["crm", "check"], terminal_width=250)
    assert result.exit_code == 1
    assert "1 missing: Lead.(delete permission)" in result.output
    assert "cannot delete Lead records" in result.output

    monkeypatch.setenv("TOUCHPOINTS_SALESFORCE_ERASURE", "anonymise")  # anonymising only updates the Lead
    result = runner.invoke(cli, ["crm", "check"], terminal_width=250)
    assert result.exit_code == 0, result.output
    assert "Lead.(delete permission)" not in result.output and "cannot delete" not in result.output


def test_crm_check_says_when_erasing_a_matched_contact_would_need_deletes_the_user_cannot_make(
    emulator: EmulatorServer, env: None, monkeypatch: pytest.MonkeyPatch
):
    # The default mapping matches Contacts by email: erasing such an attendee deletes the CampaignMember and the
    # Tasks we created about them, under either erasure policy.
    monkeypatch.setenv("TOUCHPOINTS_SALESFORCE_ERASURE", "anonymise")
    emulator.emulator.org.undeletable.update({"CampaignMember", "Task"})
    result = runner.invoke(cli, ["crm", "check"], terminal_width=250)
    assert result.exit_code == 1
    assert "2 missing: CampaignMember.(delete permission), Task.(delete permission)" in result.output
    assert "erasing an attendee matched to a Contact deletes our records" in result.output


def test_crm_check_says_when_the_login_is_refused(emulator: EmulatorServer, env: None, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TOUCHPOINTS_SALESFORCE_PASSWORD", "wrong")
    result = runner.invoke(cli, ["crm", "check"], terminal_width=200)
    assert result.exit_code == 1
    assert "password login" in result.output and "authentication failure" in result.output


def test_dry_run_shows_what_would_be_sent_and_sends_nothing(engine: Engine, emulator: EmulatorServer, env: None):
    ids = seed_event(engine, 3)
    with engine.begin() as conn:
        enqueue_crm_change(conn, ids)
    result = runner.invoke(cli, ["crm", "sync", "--dry-run"], terminal_width=250)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == '{"dry_run":true,"records":6}'  # 3 Leads, 3 members
    assert "Lead:a000" in result.output and "CampaignMember:conf:a002" in result.output
    assert emulator.emulator.api_used == 0 and emulator.emulator.logins == 0

    result = runner.invoke(cli, ["crm", "sync"])
    assert result.exit_code == 0, result.output
    assert "sent 6 (created 6, updated 0)" in result.output
    assert len(emulator.emulator.org.all("Lead")) == 3


def test_parked_records_over_the_api_and_their_redrive(
    engine: Engine, emulator: EmulatorServer, database_url: str, make_sync: Callable[..., CrmSync], tmp_path: Path
):
    ids = seed_event(engine, 3)
    with engine.begin() as conn:
        enqueue_crm_change(conn, ids)
    emulator.emulator.faults.add(Fault("record", code="DUPLICATES_DETECTED", ext_values={ext(engine, "a001")}, times=1))
    make_sync().drain()
    settings = load_settings(
        database_url=database_url, ingest_enabled=False, admin_token=ADMIN, var_dir=tmp_path / "var", event_id=EVENT
    )
    with TestClient(create_app(settings)) as client:
        auth = {"Authorization": f"Bearer {ADMIN}"}
        status = client.get("/api/v1/crm/status", headers=auth).json()
        assert status["records"] == {"synced": 5, "parked": 2} and status["outbox_rows"] == 0
        assert status["erasures_waiting"] == 0
        parked = client.get("/api/v1/crm/records", params={"status": "parked"}, headers=auth).json()
        assert {r["record_key"] for r in parked} == {"Lead:a001", "CampaignMember:conf:a001"}
        lead = next(r for r in parked if r["record_key"] == "Lead:a001")
        assert lead["error"].startswith("DUPLICATES_DETECTED") and lead["sf_id"] is None
        synced = client.get("/api/v1/crm/records", params={"attendee_id": "a000"}, headers=auth).json()
        assert all(r["status"] == "synced" and r["sf_id"] for r in synced)
        assert client.get("/api/v1/crm/status").status_code == 401

        assert client.post("/api/v1/crm/retry", json={"attendee_id": "a001"}, headers=auth).json() == {"attendees": 1}
        preview = client.get("/api/v1/crm/preview", headers=auth).json()
        assert [p["record_key"] for p in preview] == ["Lead:a001", "CampaignMember:conf:a001"]
        metrics = client.get("/metrics", headers=auth).text
        assert (
            'touchpoints_crm_records{status="parked"} 0.0' in metrics and "touchpoints_crm_outbox_rows 1.0" in metrics
        )
    make_sync().drain()
    assert sorted(local(r["Touchpoints_Id__c"]) for r in emulator.emulator.org.all("Lead")) == ids


def test_retry_all_over_the_cli(engine: Engine, emulator: EmulatorServer, env: None, make_sync: Callable[..., CrmSync]):
    ids = seed_event(engine, 2)
    with engine.begin() as conn:
        enqueue_crm_change(conn, ids)
    emulator.emulator.faults.add(
        Fault("record", code="DUPLICATES_DETECTED", ext_values={ext(engine, i) for i in ids}, times=2)
    )
    make_sync().drain()
    assert emulator.emulator.org.all("Lead") == []
    assert runner.invoke(cli, ["crm", "retry"]).exit_code == 2
    result = runner.invoke(cli, ["crm", "retry", "--all"])
    assert result.exit_code == 0 and "re-driving 2 attendee(s)" in result.output
    make_sync().drain()
    assert len(emulator.emulator.org.all("Lead")) == 2


def test_crm_check_reads_field_rights_flags_lengths_and_values_and_says_what_to_change(
    emulator: EmulatorServer, env: None
):
    org = emulator.emulator.org
    org.set_field("Lead", "Touchpoints_Grade__c", createable=False, updateable=False)  # no field-level Edit
    org.set_field("CampaignMember", "Touchpoints_Id__c", external_id=False, unique=False)  # not an External ID
    org.set_field("Task", "Touchpoints_Id__c", length=64)  # too short for <deployment>:<event>:<key>
    org.set_field("Lead", "LeadSource", picklist=("Web", "Other"))  # "Event" never added
    org.set_field("Lead", "Touchpoints_Interests__c", length=100)  # shorter than asked: values cut, not an error
    org.marketing_user = False
    result = runner.invoke(cli, ["crm", "check"], terminal_width=400)
    assert result.exit_code == 1
    assert (
        "5 missing: Campaign, CampaignMember.Touchpoints_Id__c, Lead.LeadSource values, Lead.Touchpoints_Grade__c, "
        "Task.Touchpoints_Id__c" in result.output
    )
    assert "tick Marketing User" in result.output
    assert "tick External ID and Unique" in result.output
    assert "Text(64) cannot hold every key" in result.output
    assert "LeadSource > Values: add 'Event'" in result.output
    assert "no create/edit access: Setup > Object Manager > Lead > Fields & Relationships > Touchpoints_Grade__c" in (
        result.output
    )
    assert "Text(100): longer values are cut" in result.output


def test_crm_check_looks_at_the_event_campaigns_statuses_once_a_sync_made_it(
    engine: Engine, emulator: EmulatorServer, env: None, make_sync: Callable[..., CrmSync]
):
    result = runner.invoke(cli, ["crm", "check"], terminal_width=300)
    assert result.exit_code == 0 and "the first sync creates the Campaign" in result.output
    ids = seed_event(engine, 1)
    with engine.begin() as conn:
        enqueue_crm_change(conn, ids)
    make_sync().drain()
    org = emulator.emulator.org
    [no_show] = [s for s in org.all("CampaignMemberStatus") if s["Label"] == "No-show"]
    org.delete("CampaignMemberStatus", no_show["Id"])  # an admin removed it
    result = runner.invoke(cli, ["crm", "check"], terminal_width=300)
    assert result.exit_code == 1 and "1 missing: CampaignMemberStatus.No-show" in result.output
    assert "Advanced Setup > Add Status" in result.output
