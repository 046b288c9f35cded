"""The right to erasure, in Salesforce: the erased attendee's Lead deleted or anonymised, through an outbox.

Erasing an attendee (``DELETE /app/v1/me``, ``touchpoints privacy erase``) deletes every local row about them.
What was synced to Salesforce stays there unless we say so: :func:`enqueue_crm_erasure` writes one
``crm_erasure`` row *in the erasure's own transaction* (so a committed erasure always reaches Salesforce,
whatever crashes or outages follow), and the CRM worker drains it with :func:`drain_erasures`:

* ``delete`` (the default): ``DELETE /sobjects/Lead/Touchpoints_Id__c/<id>``. Salesforce deletes the Lead's
  CampaignMembers and Tasks with it.
* ``anonymise``: the Lead is found by its External ID and its personal fields (the mapping's name, email,
  company, title and free-text fields) are overwritten; engagement fields (score, grade, stage, interests,
  country) stay for the campaign's numbers; the Description of our Tasks on it (lead notes) is cleared.

Whatever the policy, a matched Contact (the sales team's own record, which we only ever decorated) keeps its
own fields: we clear the engagement fields we wrote and delete the CampaignMember and Tasks we created.

The same outbox carries one instruction that is not an erasure: ``redact_contact``, written by
:func:`enqueue_crm_redaction` when the attendee withdraws ``share_contact`` (server/usecases/consent.py). The sync
stops sending the person at once, but their Lead already holds the contact details they no longer share:
the drain overwrites the Lead's contact fields as the booth app redacts a lead (name, email, company, title,
country; placeholders where Salesforce requires a value) and keeps the engagement. A matched Contact is the
sales team's record, whose contact fields we never wrote: nothing to redact there. If consent was given again
before the drain, the redaction is moot and skipped (the sync re-sends the whole Lead).

Every step is idempotent (deleting twice answers 404, which is success here; overwriting twice writes the
same values), so a retry after a timeout or a crash has no second effect. A Lead that was never synced, or
is already deleted, is simply not there: done. The row holds no personal data, only the External ID value
and Salesforce id needed to find the record; it goes as soon as Salesforce has done it. Example::

    with Session(engine) as session:                      # in the erasure's transaction
        enqueue_crm_erasure(session, "a000", "conf", "delete")
        ...delete the attendee's rows...
        session.commit()
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simple_salesforce.exceptions import SalesforceResourceNotFound
from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlmodel import Session, col

from server.crm.mapping import MISSING_COMPANY, Mapping
from server.crm.plan import backoff
from server.crm.sender import CallFailed, Sender, classify, soql_quote
from server.store.crm_models import CrmErasure, CrmOutbox, CrmSyncState
from server.store.models import Attendee

if TYPE_CHECKING:
    from simple_salesforce.api import Salesforce

log = logging.getLogger(__name__)

POLICIES = ("delete", "anonymise")
REDACT_CONTACT = "redact_contact"  # share_contact withdrawn: the Lead keeps the engagement, loses the contact
ERASED = "[erased]"  # what an anonymised Lead is called: LastName and Company are required on a Lead
# Mapping sources that say who the person is (or are free text that may): overwritten when anonymising.
PERSONAL_SOURCES = frozenset(
    {"first_name", "last_name", "name", "email", "company", "job_title", "last_touchpoint", "journey_summary"}
)
NAMED_SOURCES = frozenset({"last_name", "name", "company"})  # required on a Lead: a placeholder, never null
# Mapping sources that are the contact details a lead shows only with share_contact (LEAD_PERSONAL in the
# store's terms: name, email, company, job_title, country): what a withdrawal redacts.
CONTACT_SOURCES = frozenset({"first_name", "last_name", "name", "email", "company", "job_title", "country"})
REDACTED_NAME = "Visitor"  # the booth app shows a lead without contact as "Visitor #<lead id>"
ERASURES_PER_DRAIN = 200  # a few calls each; erasures are rare, this bounds one drain's share of them

Db = Connection | Session


def enqueue_crm_erasure(db: Db, attendee_id: str, event_id: str, policy: str, now: float | None = None) -> bool:
    """Record, in the caller's transaction, that the attendee's Salesforce record must be deleted or anonymised.

    Call it *before* deleting the attendee's CRM rows: the sync state says whether the person is a Lead or a
    matched Contact, and its Salesforce id. Nothing is written for an attendee Touchpoints never meant to send
    (no sync state, nothing in the CRM outbox): there is nothing in Salesforce to erase. Returns whether a row
    was written.
    """
    if policy not in (*POLICIES, REDACT_CONTACT):
        raise ValueError(f"unknown Salesforce erasure policy {policy!r} (known: {', '.join(POLICIES)})")
    states = list(
        db.execute(
            select(col(CrmSyncState.sobject), col(CrmSyncState.record_key), col(CrmSyncState.sf_id)).where(
                col(CrmSyncState.attendee_id) == attendee_id
            )
        )
    )
    queued = db.execute(
        select(func.count()).select_from(CrmOutbox).where(col(CrmOutbox.attendee_id) == attendee_id)
    ).scalar_one()
    if not states and not queued:
        return False
    # The person's record: the Contact when there is one (matched, or a Lead a rep converted), else the Lead.
    people = sorted(
        ((s, sf_id) for s, key, sf_id in states if key == f"{s}:{attendee_id}" and sf_id and s != "CampaignMember"),
        key=lambda p: p[0] == "Lead",
    )
    person = people[0] if people else (None, None)
    db.execute(
        insert(CrmErasure).values(
            event_id=event_id,
            external_id=attendee_id,
            sobject=person[0],
            sf_id=person[1],
            policy=policy,
            created_at=time.time() if now is None else now,
            attempts=0,
            next_attempt_at=0.0,
        )
    )
    return True


def enqueue_crm_redaction(db: Db, attendee_id: str, event_id: str, now: float | None = None) -> bool:
    """Record, in the caller's transaction, that the attendee's Lead must lose its contact fields (share_contact
    withdrawn). Like an erasure, nothing is written for an attendee who never reached the CRM; returns whether
    a row was written."""
    return enqueue_crm_erasure(db, attendee_id, event_id, REDACT_CONTACT, now)


def waiting(db: Db) -> int:
    return int(db.execute(select(func.count()).select_from(CrmErasure)).scalar_one())


def drain_erasures(
    engine: Engine, sender: Sender, mapping: Mapping, wall: float, backoff_base_s: float = 1.0
) -> tuple[int, CallFailed | None]:
    """Carry out the due erasures, oldest first: (how many were done, the call failure that stopped the rest).

    A failure of the whole org (down, limits, login) stops here and leaves the rows due: the worker pauses the
    queue as for any other call. A refusal of one erasure (a validation rule blocking the anonymised values,
    say) backs that row off with its error, for an operator to see; it is never dropped.
    """
    table = CrmErasure.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = list(
            conn.execute(
                select(table).where(table.c.next_attempt_at <= wall).order_by(table.c.id).limit(ERASURES_PER_DRAIN)
            ).mappings()
        )
    done = 0
    for row in rows:
        redaction = row["policy"] == REDACT_CONTACT
        if redaction and _shares_contact(engine, row["external_id"]):
            with engine.begin() as conn:  # consent given again before we got here: the Lead may keep the contact
                conn.execute(delete(CrmErasure).where(col(CrmErasure.id) == row["id"]))
            done += 1
            log.info("Salesforce redaction %d skipped: contact shared again", row["id"])
            continue
        try:
            outcome = erase_in_salesforce(sender, mapping, row["event_id"], row["external_id"], row["policy"],
                                          row["sobject"], row["sf_id"])  # fmt: skip
        except CallFailed as exc:
            if exc.kind != "permanent":
                return done, exc
            with engine.begin() as conn:
                conn.execute(
                    update(CrmErasure)
                    .where(col(CrmErasure.id) == row["id"])
                    .values(
                        attempts=CrmErasure.attempts + 1,
                        next_attempt_at=wall + backoff(int(row["attempts"]) + 1, backoff_base_s),
                        error=exc.message[:2000],
                    )
                )
            log.error("Salesforce erasure %d refused (will retry): %s", row["id"], exc.message)
            continue
        with engine.begin() as conn:
            conn.execute(delete(CrmErasure).where(col(CrmErasure.id) == row["id"]))
            mine = col(CrmSyncState.attendee_id) == row["external_id"]
            if redaction:
                # What was last sent is no longer what Salesforce holds: should consent be given again, the
                # sync must re-send the Lead whole instead of skipping it as unchanged.
                conn.execute(update(CrmSyncState).where(mine).values(payload_hash=None))
            else:
                # A drain that was sending this person while the erasure committed may have saved sync state
                # after it: those rows name an erased person and go too.
                conn.execute(delete(CrmSyncState).where(mine))
        done += 1
        # The audit trail: erasure number, policy and outcome; never who.
        log.info("Salesforce erasure %d (%s) done: %s, after %.1f s", row["id"], row["policy"], outcome,
                 time.time() - row["created_at"])  # fmt: skip
    return done, None


def erase_in_salesforce(
    sender: Sender,
    mapping: Mapping,
    event_id: str,
    external_id: str,
    policy: str,
    sobject: str | None,
    sf_id: str | None,
) -> str:
    """One erasure against Salesforce; idempotent. Returns what was done, for the log (no personal data)."""
    lead_obj, contact_obj, ext_field = mapping.lead_object, mapping.contact_object, mapping.person_ext_field
    # By Id when the sync learned it (a Lead written before External IDs were namespaced has the old value),
    # else by this deployment's External ID value.
    lead_path = (
        f"sobjects/{lead_obj}/{sf_id}"
        if sobject == lead_obj and sf_id
        else f"sobjects/{lead_obj}/{ext_field}/{mapping.ext(event_id, external_id)}"
    )
    outcome: list[str] = []
    if policy == REDACT_CONTACT:
        if sobject == contact_obj:
            return f"matched {contact_obj}: no contact fields of ours to redact"
        lead = _get(sender, lead_path)
        if lead is None:
            return f"no {lead_obj}"
        _patch(sender, f"sobjects/{lead_obj}/{lead['Id']}", redacted_values(mapping))
        return f"{lead_obj} contact fields redacted"
    opportunities = _delete_opportunities(sender, mapping, event_id, external_id)
    if opportunities:
        outcome.append(f"{opportunities} opportunit{'y' if opportunities == 1 else 'ies'} deleted")
    if policy == "delete":
        found = _delete(sender, lead_path)
        outcome.append(f"{lead_obj} deleted" if found else f"no {lead_obj}")
    else:
        lead = _get(sender, lead_path)
        if lead is None:
            outcome.append(f"no {lead_obj}")
        else:
            _patch(sender, f"sobjects/{lead_obj}/{lead['Id']}", anonymised_values(mapping))
            cleared = _clear_task_descriptions(sender, mapping, lead["Id"])
            outcome.append(f"{lead_obj} anonymised, {cleared} task note(s) cleared")
    if sobject == contact_obj and sf_id:
        outcome.append(_undecorate_contact(sender, mapping, event_id, external_id, sf_id))
    return "; ".join(outcome)


def _delete_opportunities(sender: Sender, mapping: Mapping, event_id: str, external_id: str) -> int:
    """Our Opportunities from the attendee's qualified leads (server/crm/opportunity.py) name the person and
    carry the rep's notes: deleted under either policy. Found by their External ID's prefix."""
    spec = mapping.opportunity
    if not spec.get("enabled"):
        return 0
    prefix = mapping.ext(event_id, f"opp:{external_id}:")
    # A LIKE literal: quotes and backslashes escaped as in any SOQL string, and its own wildcards too.
    like = prefix.replace("\\", "\\\\").replace("'", "\\'").replace("_", "\\_").replace("%", "\\%")
    field = spec["external_id_field"]
    rows = sender.query(f"SELECT Id FROM {spec['object']} WHERE {field} LIKE '{like}%'")
    for row in rows:
        _delete(sender, f"sobjects/{spec['object']}/{row['Id']}")
    return len(rows)


def anonymised_values(mapping: Mapping) -> dict[str, Any]:
    """The mapping's personal fields overwritten: a placeholder where Salesforce requires a value, else null."""
    values: dict[str, Any] = {}
    for sf_field, source in mapping.person_fields.items():
        if source in PERSONAL_SOURCES:
            values[sf_field] = ERASED if source in NAMED_SOURCES else None
    return values


def redacted_values(mapping: Mapping) -> dict[str, Any]:
    """The mapping's contact fields as a lead without share_contact has them: empty, or a placeholder where
    Salesforce requires a value (LastName and Company on a Lead)."""
    placeholders = {"last_name": REDACTED_NAME, "name": REDACTED_NAME, "company": MISSING_COMPANY}
    return {
        sf_field: placeholders.get(source)
        for sf_field, source in mapping.person_fields.items()
        if source in CONTACT_SOURCES
    }


def _shares_contact(engine: Engine, attendee_id: str) -> bool:
    with engine.connect() as conn:
        shared = conn.execute(select(col(Attendee.consent_crm)).where(col(Attendee.id) == attendee_id)).scalar()
    return bool(shared)


def _undecorate_contact(sender: Sender, mapping: Mapping, event_id: str, external_id: str, contact_id: str) -> str:
    """A matched Contact is the sales team's: clear what we wrote on it, delete what we created about it."""
    fields = {f: None for f in mapping.contact_fields}
    kept = _patch(sender, f"sobjects/{mapping.contact_object}/{contact_id}", fields) if fields else False
    camp = mapping.campaign
    _delete(sender, f"sobjects/CampaignMember/{camp['member_external_id_field']}/{mapping.ext(event_id, external_id)}")
    tasks = _our_tasks(sender, mapping, contact_id)
    for task_id in tasks:
        _delete(sender, f"sobjects/{mapping.tasks['object']}/{task_id}")
    state = "engagement fields cleared" if kept else "gone"
    return f"{mapping.contact_object} {state}, membership and {len(tasks)} task(s) deleted"


def _our_tasks(sender: Sender, mapping: Mapping, who_id: str) -> list[str]:
    spec = mapping.tasks
    rows = sender.query(
        f"SELECT Id FROM {spec['object']} WHERE WhoId = {soql_quote(who_id)} AND {spec['external_id_field']} != null"
    )
    return [str(r["Id"]) for r in rows]


def _clear_task_descriptions(sender: Sender, mapping: Mapping, who_id: str) -> int:
    tasks = _our_tasks(sender, mapping, who_id)
    for task_id in tasks:
        _patch(sender, f"sobjects/{mapping.tasks['object']}/{task_id}", {"Description": None})
    return len(tasks)


def _call(sender: Sender, action: Callable[[Salesforce], Any]) -> tuple[bool, Any]:
    """(found, answer): 404 (NOT_FOUND, ENTITY_IS_DELETED) is "not there", which erasure counts as done."""
    try:
        return True, sender.conn.call(action)
    except SalesforceResourceNotFound:
        return False, None
    except Exception as exc:
        raise classify(exc) from exc


def _delete(sender: Sender, path: str) -> bool:
    return _call(sender, lambda sf: sf.restful(path, method="DELETE"))[0]


def _get(sender: Sender, path: str) -> dict[str, Any] | None:
    found, answer = _call(sender, lambda sf: sf.restful(path))
    return dict(answer) if found and isinstance(answer, dict) else None


def _patch(sender: Sender, path: str, values: dict[str, Any]) -> bool:
    return _call(sender, lambda sf: sf.restful(path, method="PATCH", json=values))[0]
