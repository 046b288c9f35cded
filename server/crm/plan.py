"""One event's part of a drain: build the records, write people then dependents, settle sync state and outbox."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.crm import outbox
from server.crm.facts import AttendeeContext, EventFacts
from server.crm.mapping import SfRecord, member_record, person_record, record_key, task_record
from server.crm.sender import CallFailed, Result
from server.crm.state import save_states

if TYPE_CHECKING:
    from server.crm.worker import CrmSync

BACKOFF_CAP_S = 300.0  # retries of a busy record or a down org never wait longer than this


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
    failure: str | None = None
    lags: list[float] = field(default_factory=list)
    sent_by_object: dict[str, int] = field(default_factory=dict)


def backoff(attempt: int, base: float) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, so retries of many records spread."""
    ceiling = min(BACKOFF_CAP_S, base * 2 ** max(0, attempt))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


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
        out.extend(task_record(self.mapping, person, task) for task in ctx.tasks)
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
        return self._write([p for p in self.persons.values() if self._wanted(p)])

    def dependents(self, campaign_id: str) -> CallFailed | None:
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
                dep.resolved.update(
                    {name: campaign_id if key == campaign_key else self.sf_id(key) for name, key in dep.links.items()}
                )
                ready.append(dep)
        owners_needed = {r.owner_from for r in ready if r.owner_from}
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
                if owner:
                    record.resolved["OwnerId"] = owner
        return self._write(ready)

    def _parked(self, key: str) -> bool:
        row = self.rows.get(key) or self.states.get(key)
        return bool(row and row["status"] == "parked")

    def _write(self, records: list[SfRecord]) -> CallFailed | None:
        assert self.sync.sender is not None
        for record in records:
            self.records[record.key] = record
            if record.attendee_id in self.pending:
                self.pending[record.attendee_id].add(record.key)
        results, failure = self.sync.sender.write(records)
        for result in results:
            self._result(self.records[result.key], result)
        return failure

    def _result(self, record: SfRecord, result: Result) -> None:
        report = self.report
        if result.ok:
            self._settle(record, result.sf_id, "synced", None)
            report.sent += 1
            report.sent_by_object[record.sobject] = report.sent_by_object.get(record.sobject, 0) + 1
            report.created += bool(result.created)
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
        self.rows[record.key] = state_row(
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
                    for _key, row in self.rows.items():
                        if row["attendee_id"] == attendee_id and row["status"] == "failed":
                            row["status"] = "parked"
                            row["error"] = f"gave up after {change.attempts + 1} attempts: {row['error']}"
                            self.report.parked += 1
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
