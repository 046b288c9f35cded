"""Withdrawing `share_contact` reaches Salesforce: the synced Lead loses its contact fields, through the outbox.

End to end: the attendee app's consent route (or a registration import that withdraws `consent_crm`, which
must have the same effects), the CRM worker with the real simple-salesforce client, the emulator over HTTPS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from crm_support import EVENT, T0, local, seed_event, set_score, synced
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from support import ADMIN, AUTH

from server.app import create_app
from server.core.config import load_settings
from server.crm.emulator.faults import Fault
from server.crm.emulator.server import EmulatorServer
from server.crm.erasure import REDACT_CONTACT, REDACTED_NAME
from server.crm.mapping import MISSING_COMPANY
from server.crm.outbox import enqueue_crm_change
from server.crm.worker import CrmSync
from server.store.app_models import Lead
from server.store.crm_models import CrmErasure
from server.store.models import Attendee
from server.usecases.leads import capture


@pytest.fixture
def app_client(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(database_url=database_url, event_id=EVENT, ingest_enabled=False, admin_token=ADMIN,
                             var_dir=tmp_path / "var")  # fmt: skip
    with TestClient(create_app(settings)) as client:
        yield client


def api_calls_for_a_later_change(engine: Engine, emulator: EmulatorServer, sync: CrmSync) -> int:
    """a000's score changes and is queued for sync: how many Salesforce calls the next drain makes."""
    calls = emulator.emulator.api_used
    set_score(engine, "a000", 80.0)
    with engine.begin() as conn:
        enqueue_crm_change(conn, "a000")
    sync.drain()
    return emulator.emulator.api_used - calls


def set_share_contact(client: TestClient, attendee_id: str, granted: bool) -> None:
    token = client.post("/api/v1/tokens", json={"role": "attendee", "subject": attendee_id, "name": attendee_id},
                        headers=AUTH).json()["token"]  # fmt: skip
    answer = client.put("/app/v1/me/consent", json={"share_contact": granted},
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["consents"]["share_contact"] is granted


def reimport(client: TestClient, csv: str) -> dict[str, Any]:
    """The organizer imports the ticketing export again (POST /api/v1/registrations)."""
    answer = client.post("/api/v1/registrations", content=csv, headers={**AUTH, "Content-Type": "text/csv"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["errors"] == []
    return dict(answer.json())


def lead_of(emulator: EmulatorServer, attendee_id: str) -> dict[str, Any]:
    return next(r for r in emulator.emulator.org.all("Lead") if local(r["Touchpoints_Id__c"]) == attendee_id)


def contact_fields(lead: dict[str, Any]) -> tuple[Any, ...]:
    return lead["FirstName"], lead["LastName"], lead["Email"], lead["Company"], lead["Title"]


def pending(engine: Engine) -> list[str]:
    with Session(engine) as s:
        return [row.policy for row in s.execute(select(CrmErasure)).scalars()]


def test_withdrawing_share_contact_redacts_the_synced_lead_and_keeps_its_engagement(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync], app_client: TestClient
):
    synced(engine, make_sync)
    org = emulator.emulator.org
    before = lead_of(emulator, "a000")
    assert contact_fields(before) == ("Ada", "Persona000", "a000@example.com", "Initech", None)

    set_share_contact(app_client, "a000", False)
    assert pending(engine) == [REDACT_CONTACT]  # written with the consent change; nothing sent yet
    assert lead_of(emulator, "a000")["Email"] == "a000@example.com"

    sync = make_sync()  # a new worker: the instruction survived in the database
    assert sync.drain().erasures == 1
    lead = lead_of(emulator, "a000")
    assert lead["Id"] == before["Id"]
    assert contact_fields(lead) == (None, REDACTED_NAME, None, MISSING_COMPANY, None)
    assert (lead["Touchpoints_Engagement_Score__c"], lead["Touchpoints_Grade__c"], lead["Touchpoints_Stage__c"],
            lead["Touchpoints_Interests__c"]) == (64.0, "A", "hot", "ai;retail")  # fmt: skip
    assert len(org.all("CampaignMember")) == 2 and len(org.all("Task")) == 1  # the engagement history stays
    everything = str(org.records)
    assert "a000@example.com" not in everything and "Persona000" not in everything
    assert contact_fields(lead_of(emulator, "a001"))[2] == "a001@example.com"  # the others are untouched
    assert pending(engine) == []

    assert api_calls_for_a_later_change(engine, emulator, sync) == 0  # the person's changes no longer leave
    assert lead_of(emulator, "a000")["Touchpoints_Engagement_Score__c"] == 64.0


def test_a_redaction_waits_out_an_outage_and_is_done_once(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync], app_client: TestClient
):
    synced(engine, make_sync)
    set_share_contact(app_client, "a000", False)
    emulator.emulator.faults.add(Fault("status", status=503, path="/sobjects/Lead/", times=2))
    sync = make_sync(timeout_s=1.0)
    report = sync.drain_once()
    assert report.failure is not None and "SERVER_UNAVAILABLE" in report.failure and report.erasures == 0
    assert lead_of(emulator, "a000")["Email"] == "a000@example.com" and pending(engine) == [REDACT_CONTACT]

    assert sync.drain().erasures == 1
    assert contact_fields(lead_of(emulator, "a000")) == (None, REDACTED_NAME, None, MISSING_COMPANY, None)
    patches = [p for m, p in emulator.emulator.requests if m == "PATCH" and "/sobjects/Lead/00Q" in p]
    assert len(patches) == 1 and pending(engine) == []


def test_sharing_again_restores_the_contact_on_the_lead(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync], app_client: TestClient
):
    synced(engine, make_sync)
    set_share_contact(app_client, "a000", False)
    make_sync().drain()
    assert lead_of(emulator, "a000")["Email"] is None

    set_share_contact(app_client, "a000", True)  # queues the person: the sync re-sends the whole Lead
    make_sync().drain()
    assert contact_fields(lead_of(emulator, "a000")) == ("Ada", "Persona000", "a000@example.com", "Initech", None)


def test_withdrawn_and_given_again_before_the_worker_runs_changes_nothing(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync], app_client: TestClient
):
    synced(engine, make_sync)
    before = lead_of(emulator, "a000")
    set_share_contact(app_client, "a000", False)
    set_share_contact(app_client, "a000", True)
    make_sync().drain()
    assert lead_of(emulator, "a000") == before
    assert not [p for m, p in emulator.emulator.requests if m == "PATCH" and "/sobjects/Lead/00Q" in p]
    assert pending(engine) == []


def test_a_matched_contact_keeps_its_own_fields(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync], app_client: TestClient
):
    org = emulator.emulator.org
    contact_id = org.create("Contact", {"LastName": "Customer", "FirstName": "Known", "Email": "a000@example.com"})
    synced(engine, make_sync)
    set_share_contact(app_client, "a000", False)
    assert make_sync().drain().erasures == 1
    contact = org.get("Contact", contact_id)
    assert contact is not None
    assert (contact["FirstName"], contact["LastName"], contact["Email"]) == ("Known", "Customer", "a000@example.com")
    assert contact["Touchpoints_Engagement_Score__c"] == 64.0  # we never wrote its contact: nothing to redact
    assert "a000" not in {local(r["Touchpoints_Id__c"]) for r in org.all("Lead")}


def test_an_attendee_who_never_reached_the_crm_queues_nothing(engine: Engine, app_client: TestClient):
    seed_event(engine, 1)
    set_share_contact(app_client, "a000", False)
    assert pending(engine) == []


def test_a_registration_import_withdrawing_consent_crm_redacts_the_synced_lead_as_the_app_does(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync], app_client: TestClient
):
    synced(engine, make_sync)
    before = lead_of(emulator, "a000")

    report = reimport(app_client, "id,name,consent_crm\na000,Ada Persona000,no\na001,Ada Persona001,yes\n")
    assert (report["updated"], report["unchanged"]) == (1, 1)
    assert pending(engine) == [REDACT_CONTACT]  # in the import's transaction, for the withdrawal only

    sync = make_sync()
    assert sync.drain().erasures == 1
    lead = lead_of(emulator, "a000")
    assert lead["Id"] == before["Id"]
    assert contact_fields(lead) == (None, REDACTED_NAME, None, MISSING_COMPANY, None)
    assert lead["Touchpoints_Engagement_Score__c"] == 64.0  # the engagement stays
    assert "a000@example.com" not in str(emulator.emulator.org.records)
    assert contact_fields(lead_of(emulator, "a001"))[2] == "a001@example.com"

    assert api_calls_for_a_later_change(engine, emulator, sync) == 0  # the person's changes no longer leave


def test_a_registration_import_giving_consent_crm_again_restores_the_contact_on_the_lead(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync], app_client: TestClient
):
    synced(engine, make_sync)
    reimport(app_client, "id,name,consent_crm\na000,Ada Persona000,no\n")
    make_sync().drain()
    assert lead_of(emulator, "a000")["Email"] is None

    reimport(app_client, "id,name,consent_crm\na000,Ada Persona000,yes\n")  # the sync re-sends the whole Lead
    make_sync().drain()
    assert contact_fields(lead_of(emulator, "a000")) == ("Ada", "Persona000", "a000@example.com", "Initech", None)


def test_a_registration_import_withdrawing_consent_crm_clears_the_contact_on_booth_leads(
    engine: Engine, app_client: TestClient
):
    seed_event(engine, 1)
    with Session(engine) as s:
        attendee = s.get(Attendee, "a000")
        assert attendee is not None
        capture(s, exhibitor_id="acme", attendee=attendee, source="qr", captured_by="rep", assigned_to=None,
                now=T0)  # fmt: skip
    reimport(app_client, "id,name,consent_crm\na000,Ada Persona000,no\n")
    with Session(engine) as s:
        [lead] = s.execute(select(Lead).where(col(Lead.attendee_id) == "a000")).scalars()
        assert (lead.contact_shared, lead.name, lead.email, lead.company) == (False, None, None, None)
