"""The change feed: score changes enqueue in the rescoring transaction; rule actions and leads are picked up."""

from __future__ import annotations

from collections.abc import Callable

from crm_support import EVENT, T0, local, seed_event
from sqlalchemy import Engine, func, select
from sqlmodel import SQLModel

from server.crm.emulator.server import EmulatorServer
from server.crm.feed import on_rescore, pull_leads, pull_rule_actions
from server.crm.worker import CrmSync
from server.live.scores import ScoreKeeper
from server.store.crm_models import CrmOutbox


def outbox_rows(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [(a, r) for a, r in conn.execute(select(CrmOutbox.attendee_id, CrmOutbox.reason).order_by(CrmOutbox.id))]


def test_a_new_score_is_enqueued_in_the_rescoring_transaction(engine: Engine):
    seed_event(engine, 2)
    keeper = ScoreKeeper(engine, EVENT, lambda: T0 + 60)
    keeper.in_transaction.append(on_rescore)
    keeper.mark(["a000", "nocrm"])
    assert keeper.flush() == 2
    assert outbox_rows(engine) == [("a000", "score")]  # nocrm has no CRM consent
    keeper.mark(["a000"])
    keeper.flush()  # same journey, same score: nothing new to tell Salesforce
    assert outbox_rows(engine) == [("a000", "score")]


def test_rule_crm_updates_and_leads_reach_the_outbox(
    engine: Engine, emulator: EmulatorServer, make_sync: Callable[..., CrmSync]
):
    seed_event(engine, 2)
    action = SQLModel.metadata.tables["action_outbox"]
    lead = SQLModel.metadata.tables["lead"]
    with engine.begin() as conn:
        conn.execute(
            action.insert(),
            [
                {
                    "idempotency_key": "d1",
                    "event_id": EVENT,
                    "kind": "crm",
                    "attendee_id": "a001",
                    "payload": {"fields": {"Rating": "Hot"}},
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": 0,
                    "created_at": 0,
                }
            ],
        )
        conn.execute(
            lead.insert(),
            [
                {
                    "event_id": EVENT,
                    "exhibitor_id": "acme",
                    "attendee_id": "a000",
                    "source": "qr",
                    "captured_by": "u1",
                    "rating": 5,
                    "notes": "call Monday",
                    "answers": {"budget": "50k"},
                    "contact_shared": True,
                    "created_at": T0,
                    "updated_at": T0,
                }
            ],
        )
    assert pull_rule_actions(engine, T0) == 1 and pull_rule_actions(engine, T0) == 0
    assert pull_leads(engine, T0) == 1 and pull_leads(engine, T0) == 0  # the watermark moved
    assert outbox_rows(engine) == [("a001", "rule"), ("a000", "lead")]
    make_sync().drain()  # Rating, the standard Lead field the rule sets, is in the emulator's Lead
    org = emulator.emulator.org
    leads = {local(r["Touchpoints_Id__c"]): r for r in org.all("Lead")}
    assert leads["a001"]["Rating"] == "Hot"
    task = next(t for t in org.all("Task") if local(t["Touchpoints_Id__c"]).startswith("lead:"))
    assert task["Subject"] == "Lead captured by Acme (rating 5)" and "budget: 50k" in task["Description"]
    assert "Notes: call Monday" in task["Description"] and task["WhoId"] == leads["a000"]["Id"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CrmOutbox)).scalar_one() == 0
