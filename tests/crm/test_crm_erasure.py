"""The right to erasure reaches Salesforce: through the outbox, with the real client, against the emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from crm_support import EVENT, connection_config, local, seed_event, synced
from fastapi.testclient import TestClient
from simple_salesforce.exceptions import SalesforceResourceNotFound
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from support import ADMIN, AUTH

from server.app import create_app
from server.core.config import load_settings
from server.crm.connection import SalesforceConnection
from server.crm.emulator.faults import Fault
from server.crm.emulator.server import EmulatorServer
from server.crm.erasure import ERASED
from server.crm.outbox import enqueue_crm_change
from server.crm.worker import CrmSync
from server.store.crm_models import CrmErasure, CrmSyncState
from server.store.models import Attendee
from server.usecases.erasure import erase


def erase_locally(engine: Engine, attendee_id: str, policy: str) -> dict[str, int]:
    with Session(engine) as s:
        attendee = s.get(Attendee, attendee_id)
        assert attendee is not None
        return erase(s, attendee, policy)


def pending(engine: Engine) -> list[CrmErasure]:
    with Session(engine) as s:
        return list(s.exec(select(CrmErasure)).scalars())  # type: ignore[call-overload]


def by_ext(emulator: EmulatorServer, sobject: str) -> dict[str, dict]:
    return {local(r["Touchpoints_Id__c"]): r for r in emulator.emulator.org.all(sobject)}


@pytest.fixture
def app_client(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    settings = load_settings(database_url=database_url, event_id=EVENT, ingest_enabled=False, admin_token=ADMIN,
                             var_dir=tmp_path / "var")  # fmt: skip
    with TestClient(create_app(settings)) as client:
        yield client


def test_an_erased_attendee_s_lead_is_deleted_with_its_tasks_and_membership(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync], app_client: TestClient
):
    synced(engine, make_sync)
    org = emulator.emulator.org
    lead_id = by_ext(emulator, "Lead")["a000"]["Id"]
    assert [t["WhoId"] for t in org.all("Task")] == [lead_id] and len(org.all("CampaignMember")) == 2

    token = app_client.post("/api/v1/tokens", json={"role": "attendee", "subject": "a000", "name": "a000"},
                            headers=AUTH).json()["token"]  # fmt: skip
    answer = app_client.delete("/app/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["erased"]["salesforce_delete"] == 1
    [row] = pending(engine)  # written with the local erasure; only what finds the Lead again, nothing personal
    assert (row.external_id, row.sobject, row.sf_id, row.policy) == ("a000", "Lead", lead_id, "delete")
    assert "example.com" not in str(row.model_dump()) and "Ada" not in str(row.model_dump())
    assert "a000" in by_ext(emulator, "Lead"), "nothing leaves before the worker drains"

    report = make_sync().drain()  # a new worker: the instruction survived in the database, not in memory
    assert report.erasures == 1
    assert set(by_ext(emulator, "Lead")) == {"a001"}  # only the erased person's Lead went
    assert [local(m["Touchpoints_Id__c"]) for m in org.all("CampaignMember")] == ["a001"]
    assert org.all("Task") == []  # Salesforce deletes a Lead's activities with it
    assert pending(engine) == []
    with Session(engine) as s:
        left = s.execute(select(func.count()).select_from(CrmSyncState).where(col(CrmSyncState.attendee_id) == "a000"))
        assert left.scalar_one() == 0


def test_salesforce_down_or_slow_during_the_erasure_retries_later_with_no_second_effect(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    synced(engine, make_sync, attendees=3)
    erase_locally(engine, "a000", "delete")
    erase_locally(engine, "a001", "delete")
    emulator.emulator.faults.add(Fault("status", status=503, path="/sobjects/Lead/", times=2))
    sync = make_sync(timeout_s=1.0)
    report = sync.drain_once()
    assert report.failure is not None and "SERVER_UNAVAILABLE" in report.failure and report.erasures == 0
    assert sync.paused_until > 0 and {"a000", "a001"} <= set(by_ext(emulator, "Lead"))
    assert [r.attempts for r in pending(engine)] == [0, 0]  # an outage is not charged to the erasures

    # Then the org deletes a000's Lead but answers too late: the client times out and retries.
    emulator.emulator.faults.clear()
    emulator.emulator.faults.add(Fault("slow", delay_s=1.5, path="/sobjects/Lead/", method="DELETE", times=1))
    report = sync.drain()
    assert report.erasures == 2
    assert set(by_ext(emulator, "Lead")) == {"a002"} and len(emulator.emulator.org.all("CampaignMember")) == 1
    deletes = [p for m, p in emulator.emulator.requests if m == "DELETE"]
    assert len(deletes) == 3  # a000 twice (the retry found it gone: done, not an error), a001 once
    assert pending(engine) == []


def test_anonymise_keeps_the_engagement_and_overwrites_the_person(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    synced(engine, make_sync)
    before = by_ext(emulator, "Lead")["a000"]
    assert erase_locally(engine, "a000", "anonymise")["salesforce_anonymise"] == 1
    sync = make_sync()
    assert sync.drain().erasures == 1
    lead = by_ext(emulator, "Lead")["a000"]
    assert lead["Id"] == before["Id"]
    assert (lead["LastName"], lead["Company"]) == (ERASED, ERASED)
    assert (lead["FirstName"], lead["Email"], lead["Title"], lead["Touchpoints_Journey_Summary__c"],
            lead["Touchpoints_Last_Touchpoint__c"]) == (None, None, None, None, None)  # fmt: skip
    assert (lead["Touchpoints_Engagement_Score__c"], lead["Touchpoints_Grade__c"], lead["Touchpoints_Stage__c"],
            lead["Touchpoints_Interests__c"]) == (64.0, "A", "hot", "ai;retail")  # fmt: skip
    assert len(emulator.emulator.org.all("CampaignMember")) == 2  # the campaign's numbers stay right
    assert all(t["Description"] is None for t in emulator.emulator.org.all("Task"))
    everything = str(emulator.emulator.org.records)
    assert "a000@example.com" not in everything and "Persona000" not in everything
    assert "a001@example.com" in everything  # the others are untouched

    calls = emulator.emulator.api_used
    sync.drain()  # nothing left to do: nothing sent
    assert emulator.emulator.api_used == calls and pending(engine) == []


def test_a_matched_contact_keeps_its_own_fields_and_loses_ours(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    org = emulator.emulator.org
    contact_id = org.create("Contact", {"LastName": "Customer", "FirstName": "Known", "Email": "a000@example.com"})
    synced(engine, make_sync)
    contact = org.get("Contact", contact_id)
    assert contact is not None and contact["Touchpoints_Engagement_Score__c"] == 64.0
    assert len(org.all("Task")) == 1 and "a000" not in by_ext(emulator, "Lead")

    erase_locally(engine, "a000", "delete")
    [row] = pending(engine)
    assert (row.sobject, row.sf_id) == ("Contact", contact_id)
    make_sync().drain()
    contact = org.get("Contact", contact_id)
    assert contact is not None and (contact["LastName"], contact["Email"]) == ("Customer", "a000@example.com")
    assert contact["Touchpoints_Engagement_Score__c"] is None and contact["Touchpoints_Stage__c"] is None
    assert org.all("Task") == [] and [local(m["Touchpoints_Id__c"]) for m in org.all("CampaignMember")] == ["a001"]


def test_never_synced_or_already_gone_is_not_an_error(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    seed_event(engine, 2)
    assert "salesforce_delete" not in erase_locally(engine, "nocrm", "delete")  # never meant for the CRM
    with engine.begin() as conn:
        enqueue_crm_change(conn, "a000")  # queued, never sent
    erase_locally(engine, "a000", "delete")
    [row] = pending(engine)
    assert (row.sobject, row.sf_id) == (None, None)
    assert make_sync().drain().erasures == 1  # DELETE by External ID: 404, nothing there, done
    assert pending(engine) == [] and emulator.emulator.org.all("Lead") == []


def test_the_emulator_deletes_as_salesforce_does(emulator: EmulatorServer):
    conn = SalesforceConnection(connection_config(emulator))
    sf = conn.client()
    lead: Any = sf.restful("sobjects/Lead/Touchpoints_Id__c/x1", method="PATCH", json={"LastName": "X", "Company": "Y"})
    assert lead["created"] is True
    assert sf.restful(f"sobjects/Lead/{lead['id']}", method="DELETE") is None  # 204 No Content
    with pytest.raises(SalesforceResourceNotFound) as again:
        sf.restful(f"sobjects/Lead/{lead['id']}", method="DELETE")
    assert cast(Any, again.value.content)[0]["errorCode"] == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.restful("sobjects/Lead/Touchpoints_Id__c/x1", method="DELETE")
    assert cast(Any, missing.value.content)[0]["errorCode"] == "NOT_FOUND"
