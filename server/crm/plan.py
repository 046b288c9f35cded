"""One event's part of a drain: build the records, write people then dependents, settle sync state and outbox."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.crm import outbox
from server.crm.facts import AttendeeContext, EventFacts
from server.crm.mapping import SfRecord, member_record, person_record, record_key, task_record
from server.crm.opportunity import opportunity_record
from server.crm.sender import CallFailed, Result, soql_quote
from server.crm.shape import NOTE, shape
from server.crm.state import save_states

if TYPE_CHECKING:
    from server.crm.worker import CrmSync

BACKOFF_CAP_S = 300.0  # retries of a busy record or a down org never wait longer than this
USER_PREFIX = "005"  # a User's id: only a User may own a Task or an Opportunity (a Lead may be a queue's)
DUPLICATE_CODES = frozenset({"DUPLICATE_VALUE", "DUPLICATE_EXTERNAL_ID"})  # a create that met the record
CONVERTED = "CANNOT_UPDATE_CONVERTED_LEAD"


@dataclass
class DrainReport:
    erasures: int = 0  # erased attendees' records deleted or anonymised in Salesforce
    changes: int = 0
    sent: int = 0
    created: int = 0
    updated: int = 0
    skipped_unchanged: int = 0
    skipped_no_consent: int = 0
    retrying: int = 0
    parked: int = 0
    noted: int = 0  # records written with changes (cut, an email dropped ...): their sync state says which
    converted: int = 0  # Leads found converted: followed to their Contact
    failure: str | None = None
    recovered: list[str] = field(default_factory=list)  # call failures a later drain got past (drain())
    lags: list[float] = field(default_factory=list)
    sent_by_object: dict[str, int] = field(default_factory=dict)


def backoff(attempt: int, base: float) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, so retries of many records spread."""
    ceiling = min(BACKOFF_CAP_S, base * 2 ** max(0, attempt))
    return float(ceiling / 2 + random.uniform(0, ceiling / 2))


def state_row(
    record: SfRecord,
    event_id: str,
    sf_id: str | None,
    status: str,
    error: str | None,
    payload_hash: str | None,
    now: float,
    enqueued_at: float | None,
    attempts: int = 0,
) -> dict[str, Any]:
    return {
        "record_key": record.key,
        "event_id": event_id,
        "attendee_id": record.attendee_id,
        "sobject": record.sobject,
        "external_id": record.ext_value[:160],
        "sf_id": sf_id,
        "status": status,
        "error": error[:2000] if error else None,
        "payload_hash": payload_hash,
        "attempts": attempts,
        "enqueued_at": enqueued_at,
        "updated_at": now,
        "synced_at": now if status == "synced" else None,
    }


class Plan:
    def __init__(
        self,
        sync: CrmSync,
        event: EventFacts,
        contexts: dict[str, AttendeeContext],
        states: dict[str, dict[str, Any]],
        changes: dict[str, outbox.Change],
        now: float,
        report: DrainReport,
    ) -> None:
        self.sync, self.mapping, self.event = sync, sync.mapping, event
        self.contexts, self.states, self.changes, self.now, self.report = contexts, states, changes, now, report
        self.persons: dict[str, SfRecord] = {}
        self.records: dict[str, SfRecord] = {}
        self.rows: dict[str, dict[str, Any]] = {}  # sync state rows to save
        self.pending: dict[str, set[str]] = {a: set() for a in changes}  # attendee -> keys sent, no answer yet
        self.retry: dict[str, str] = {}  # attendee -> a transient error of one of its records
        self.sent_any: set[str] = set()
        self.created: set[str] = set()  # keys of records this drain created
        self.wall = time.time()  # sync state and outbox times are wall-clock (``now`` is the event's clock)

    # --- building
    def person_records(self, match: bool = True) -> dict[str, SfRecord]:
        lead_obj, contact_obj = self.mapping.lead_object, self.mapping.contact_object
        contact_ids: dict[str, str] = {}
        unknown: dict[str, str] = {}  # attendee -> email, for people Salesforce has never seen from us
        for attendee_id, ctx in self.contexts.items():
            contact = self.states.get(record_key(contact_obj, attendee_id))
            if contact and contact.get("sf_id"):
                contact_ids[attendee_id] = contact["sf_id"]
            elif not (self.states.get(record_key(lead_obj, attendee_id)) or {}).get("sf_id") and ctx.facts.email:
                unknown[attendee_id] = ctx.facts.email
        by = self.mapping.match_contact_by
        if match and by and unknown and self.sync.sender is not None:
            found = self.sync.sender.match_contacts(contact_obj, by, unknown.values())
            contact_ids.update({a: found[e.lower()] for a, e in unknown.items() if e.lower() in found})
        for attendee_id, ctx in self.contexts.items():
            change = self.changes.get(attendee_id)
            fields = change.fields if change else {}
            self.persons[attendee_id] = person_record(self.mapping, ctx.facts, contact_ids.get(attendee_id), fields)
        return self.persons

    def dependent_records(self, attendee_id: str, person: SfRecord) -> list[SfRecord]:
        ctx = self.contexts[attendee_id]
        out = [member_record(self.mapping, self.event.id, person, ctx.member_status)]
        out.extend(task_record(self.mapping, self.event.id, person, task) for task in ctx.tasks)
        out.extend(opportunity_record(self.mapping, self.event, person, opp) for opp in ctx.opportunities)
        return out

    def _wanted(self, record: SfRecord) -> bool:
        """False for records parked for an operator, or synced with exactly this payload before."""
        state = self.states.get(record.key)
        if state is None:
            return True
        if state["status"] == "parked":
            return False
        if state["status"] == "synced" and state["payload_hash"] == record.payload_hash():
            self.report.skipped_unchanged += 1
            return False
        return True

    def sf_id(self, key: str) -> str | None:
        row = self.rows.get(key)
        if row is not None and row["sf_id"]:
            return str(row["sf_id"])
        state = self.states.get(key)
        return state["sf_id"] if state and state.get("sf_id") else None

    # --- writing
    def people(self) -> CallFailed | None:
        assert self.sync.sender is not None
        try:
            self.person_records()
        except CallFailed as exc:
            return exc
        failure = self._write([p for p in self.persons.values() if self._wanted(p)])
        return failure or self._follow_converted()

    def dependents(self, campaign_id: str, campaign_problem: str | None = None) -> CallFailed | None:
        assert self.sync.sender is not None
        campaign_key = record_key(self.mapping.campaign["object"], self.event.id)
        ready: list[SfRecord] = []
        for attendee_id, person in self.persons.items():
            deps = [d for d in self.dependent_records(attendee_id, person) if self._wanted(d)]
            person_id = self.sf_id(person.key)
            if person_id is None:
                if self._parked(person.key):  # the person cannot be written: neither can what hangs off it
                    for dep in deps:
                        self._settle(dep, None, "parked", f"waiting for {person.key}, which is parked")
                continue  # otherwise the person is retrying, and the attendee with it
            for dep in deps:
                if campaign_problem and campaign_key in dep.links.values():
                    self._settle(dep, None, "failed", campaign_problem)  # retried: the statuses may come
                    self.retry[attendee_id] = campaign_problem
                    continue
                dep.resolved.update(
                    {name: campaign_id if key == campaign_key else self.sf_id(key) for name, key in dep.links.items()}
                )
                ready.append(dep)
        # A person created by this drain belongs to the integration user unless assignment rules ran: its
        # dependents get that owner by default, without a lookup (10,000 new Leads: 20 queries saved).
        assigning = self.sync.sender.conn.config.auto_assign
        owners_needed = {
            r.owner_from for r in ready if r.owner_from and (assigning or r.owner_from not in self.created)
        }
        if owners_needed:
            by_object: dict[str, list[str]] = {}
            for key in owners_needed:
                sf_id = self.sf_id(key)
                if sf_id:
                    by_object.setdefault(key.split(":", 1)[0], []).append(sf_id)
            try:
                owners = self.sync.sender.owners(by_object)
            except CallFailed as exc:
                return exc
            for record in ready:
                owner = owners.get(self.sf_id(record.owner_from) or "") if record.owner_from else None
                if owner and owner.startswith(USER_PREFIX):  # a queue-owned Lead's Task stays the integration's
                    record.resolved["OwnerId"] = owner
        return self._write(ready)

    def _parked(self, key: str) -> bool:
        row = self.rows.get(key) or self.states.get(key)
        return bool(row and row["status"] == "parked")

    def _shape(self, records: list[SfRecord]) -> None:
        describes = self.sync.describes()
        for record in records:
            state = self.states.get(record.key) or {}
            shape(record, describes.fields(record.sobject), self.sf_id(record.key), state.get("external_id"))

    def _write(self, records: list[SfRecord]) -> CallFailed | None:
        assert self.sync.sender is not None
        if not records:
            return None
        for record in records:
            self.records[record.key] = record
            if record.attendee_id in self.pending:
                self.pending[record.attendee_id].add(record.key)
        try:
            self._shape(records)
        except CallFailed as exc:
            return exc
        results, failure = self.sync.sender.write(records)
        met = [r for r in results if not r.ok and r.code in DUPLICATE_CODES and self.records[r.key].mode == "create"]
        for result in results:
            if result not in met:
                self._result(self.records[result.key], result)
        if met and failure is None:
            try:
                failure = self._update_existing(met)
            except CallFailed as exc:
                failure = exc
        return failure

    def _update_existing(self, met: list[Result]) -> CallFailed | None:
        """Creates that met their record (a crash after Salesforce created it, lost sync state, or a member an
        admin added by hand): find it by External ID, else by campaign and person, and update it by Id."""
        assert self.sync.sender is not None
        records = [self.records[r.key] for r in met]
        found: dict[str, str] = {}
        by_object: dict[tuple[str, str], list[SfRecord]] = {}
        for record in records:
            by_object.setdefault((record.sobject, record.ext_field or ""), []).append(record)
        for (sobject, ext), group in by_object.items():
            rows = self.sync.sender.query_in(
                f"SELECT Id, {ext} FROM {sobject} WHERE {ext}", [r.ext_value for r in group]
            )
            ids = {row[ext]: row["Id"] for row in rows}
            found.update({r.key: ids[r.ext_value] for r in group if r.ext_value in ids})
        for record in records:
            if record.key in found or record.sobject != "CampaignMember":
                continue
            who = "ContactId" if record.resolved.get("ContactId") else "LeadId"
            campaign, person = record.resolved.get("CampaignId"), record.resolved.get(who)
            if campaign and person:
                soql = f"SELECT Id FROM CampaignMember WHERE CampaignId = {soql_quote(campaign)} AND {who}"
                rows = self.sync.sender.query_in(soql, [person])
                if rows:
                    found[record.key] = rows[0]["Id"]
        again = []
        for result in met:
            record = self.records[result.key]
            if record.key not in found:
                self._result(record, result)
                continue
            record.sent = None
            shape(record, self.sync.describes().fields(record.sobject), found[record.key], None)
            if record.mode != "update":
                record.mode, record.sent = "update", {**(record.sent or {}), "Id": found[record.key]}
            again.append(record)
        results, failure = self.sync.sender.write(again)
        for result in results:
            self._result(self.records[result.key], result)
        return failure

    def _follow_converted(self) -> CallFailed | None:
        """A Lead a rep converted is read-only (CANNOT_UPDATE_CONVERTED_LEAD): from now on the attendee is its
        Contact (ConvertedContactId), written as a matched Contact is, and what hangs off it follows."""
        assert self.sync.sender is not None
        converted = {
            a: p
            for a, p in self.persons.items()
            if p.sobject == self.mapping.lead_object
            and str((self.rows.get(p.key) or {}).get("error") or "").startswith(CONVERTED)
        }
        if not converted:
            return None
        ext = self.mapping.person_ext_field
        try:
            rows = self.sync.sender.query_in(
                f"SELECT Id, ConvertedContactId, {ext} FROM {self.mapping.lead_object} WHERE {ext}",
                [p.ext_value for p in converted.values()],
            )
        except CallFailed as exc:
            return exc
        contacts = {row[ext]: (row["Id"], row.get("ConvertedContactId")) for row in rows}
        contacts_now: list[SfRecord] = []
        for attendee_id, lead in converted.items():
            lead_id, contact_id = contacts.get(lead.ext_value, (None, None))
            if not contact_id:
                continue  # stays parked with its error: nothing to follow
            self.report.converted += 1
            self.report.parked -= 1
            self._settle(lead, lead_id, "synced", f"{NOTE}converted to {self.mapping.contact_object} {contact_id}")
            change = self.changes.get(attendee_id)
            person = person_record(self.mapping, self.contexts[attendee_id].facts, contact_id,
                                   change.fields if change else {})  # fmt: skip
            self.persons[attendee_id] = person
            contacts_now.append(person)
        return self._write(contacts_now)

    def _result(self, record: SfRecord, result: Result) -> None:
        report = self.report
        if result.ok:
            note = NOTE + "; ".join(record.notes) if record.notes else None
            self._settle(record, result.sf_id, "synced", note)
            report.noted += bool(record.notes)
            report.sent += 1
            report.sent_by_object[record.sobject] = report.sent_by_object.get(record.sobject, 0) + 1
            report.created += bool(result.created)
            if result.created:
                self.created.add(record.key)
            report.updated += not result.created
            if record.attendee_id:
                self.sent_any.add(record.attendee_id)
        elif result.transient:
            self._settle(record, None, "failed", result.error)
            self.retry[record.attendee_id or ""] = result.error
        else:
            self._settle(record, None, "parked", result.error)

    def _settle(self, record: SfRecord, sf_id: str | None, status: str, error: str | None) -> None:
        old = self.states.get(record.key) or {}
        change = self.changes.get(record.attendee_id or "")
        attempts = int(old.get("attempts") or 0) + 1 if status == "failed" else 0
        if status == "parked":
            self.report.parked += 1
        row = state_row(
            record,
            self.event.id,
            sf_id or old.get("sf_id"),
            status,
            error,
            record.payload_hash() if status == "synced" else old.get("payload_hash"),
            self.wall,
            change.enqueued_at if change else None,
            attempts,
        )
        if status != "synced" and old.get("external_id"):
            row["external_id"] = old["external_id"]  # not moved to a new External ID value until it is written
        self.rows[record.key] = row
        if record.attendee_id in self.pending:
            self.pending[record.attendee_id].discard(record.key)

    # --- settling
    def finish(self, failure: CallFailed | None) -> None:
        """Save sync state and settle outbox rows, in one transaction."""
        config = self.sync.config
        done: list[int] = []
        retry_rows: list[tuple[outbox.Change, str]] = []
        for attendee_id, change in self.changes.items():
            if attendee_id not in self.contexts:
                continue
            unanswered = self.pending.get(attendee_id) or (failure is not None and attendee_id not in self.persons)
            if attendee_id in self.retry:
                if change.attempts + 1 >= config.max_attempts:
                    self._give_up(attendee_id, change.attempts + 1)
                    done.extend(change.row_ids)
                else:
                    retry_rows.append((change, self.retry[attendee_id]))
                    self.report.retrying += 1
            elif unanswered:
                continue  # the call failed before these were answered: the rows stay due, the queue pauses
            else:
                done.extend(change.row_ids)
                if attendee_id in self.sent_any:
                    self.report.lags.append(self.wall - change.enqueued_at)
        with self.sync.engine.begin() as conn:
            save_states(conn, list(self.rows.values()))
            outbox.done(conn, done)
            for change, error in retry_rows:
                delay = backoff(change.attempts, config.backoff_base_s)
                outbox.back_off(conn, change.row_ids, self.wall + delay, error)

    def _give_up(self, attendee_id: str, attempts: int) -> None:
        """Park what kept failing, and what hangs off a person that never got written (its member, Tasks):
        each parked row says why, and ``touchpoints crm retry`` re-drives them together."""
        failed = [row for row in self.rows.values() if row["attendee_id"] == attendee_id and row["status"] == "failed"]
        for row in failed:
            row["status"] = "parked"
            row["error"] = f"gave up after {attempts} attempts: {row['error']}"
            self.report.parked += 1
        person = self.persons.get(attendee_id)
        if person is None or self.sf_id(person.key) is not None:
            return
        for dep in self.dependent_records(attendee_id, person):
            if dep.key not in self.rows and self._wanted(dep):
                self._settle(dep, None, "parked", f"waiting for {person.key}, which is parked")
