"""The sync worker: drains the outbox into Salesforce, batch by batch, surviving what Salesforce does.

One drain: first the erasures (:mod:`server.crm.erasure`: erased attendees' Leads deleted or anonymised), then
read the due changes (oldest first), coalesce them per attendee, rebuild each attendee's records
from the store (latest values), skip records whose last sent payload is unchanged, write the people first
(Lead upsert on the External ID, or the matched Contact by Id), then what hangs off them (CampaignMember,
Tasks) once they have Salesforce ids. Then, per attendee: every record synced or parked -> its outbox rows go;
a record refused for a passing reason (UNABLE_TO_LOCK_ROW) -> the rows come back after an exponential backoff
with jitter, and are parked after ``max_attempts``.

Whole-call failures stop the drain and pause the queue without charging the records: REQUEST_LIMIT_EXCEEDED
and refused logins for ``limit_pause_s``; 5xx and timeouts for a backoff that grows while they last. When
``Sforce-Limit-Info`` shows the org's daily API use above ``slowdown_at``, drains are spaced out.
A crash at any point re-sends at most a batch: upserts by External ID make that harmless.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from server.crm import erasure, outbox
from server.crm.deployment import deployment_id
from server.crm.facts import EventFacts, load_contexts, load_event
from server.crm.feed import pull_leads, pull_rule_actions
from server.crm.mapping import Mapping, SfRecord, campaign_record, record_key
from server.crm.plan import DrainReport, Plan, backoff, state_row
from server.crm.postevent import closed_events, run_post_event
from server.crm.sender import CallFailed, Result, Sender, soql_quote
from server.crm.shape import Describes
from server.crm.state import load_states, save_states

log = logging.getLogger(__name__)

DRAIN_MAX_ROWS = 20_000  # outbox rows per drain: a 10k-attendee backfill goes out as one Bulk API job


@dataclass
class SyncConfig:
    batch_size: int = 200
    bulk_threshold: int = 2000
    max_attempts: int = 10
    limit_pause_s: float = 300.0
    slowdown_at: float = 0.8
    backoff_base_s: float = 1.0
    poll_interval_s: float = 1.0
    dry_run: bool = False

    @classmethod
    def from_settings(cls, settings: Any) -> SyncConfig:
        return cls(
            settings.salesforce_batch_size,
            settings.salesforce_bulk_threshold,
            settings.salesforce_max_attempts,
            settings.salesforce_limit_pause_s,
            settings.salesforce_slowdown_at,
            poll_interval_s=settings.salesforce_poll_interval_s,
            dry_run=settings.salesforce_dry_run,
        )


class CrmSync:
    def __init__(
        self,
        engine: Engine,
        sender: Sender | None,
        mapping: Mapping,
        config: SyncConfig | None = None,
        now: Callable[[], float] = time.time,
        on_report: Callable[[DrainReport], None] | None = None,
    ):
        self.engine = engine
        self.sender = sender
        if not mapping.deployment:  # every External ID we write is namespaced by it (server/crm/deployment.py)
            mapping = replace(mapping, deployment=deployment_id(engine))
        self.mapping = mapping
        self._describes: Describes | None = None
        self.config = config or SyncConfig()
        self.now = now
        self.on_report = on_report
        self.paused_until = 0.0
        self.pause_reason: str | None = None
        self._call_failures = 0
        self._campaigns: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.closers: list[Callable[[], None]] = []  # run at stop (the demo's emulator)

    # --- the loop
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="crm-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for close in self.closers:
            close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                pull_rule_actions(self.engine, self.now())
                pull_leads(self.engine, self.now())
                for event_id in closed_events(self.engine, self.now()):
                    run_post_event(self.engine, event_id, now=self.now())
                report = self.drain_once()
                busy = (report.changes > 0 or report.erasures > 0) and report.failure is None
            except Exception:  # keep syncing: the changes are safe in the outbox
                log.exception("Salesforce sync drain failed")
                busy = False
            self._stop.wait(self.throttle_delay() if busy else self.config.poll_interval_s)

    def describes(self) -> Describes:
        """The org's describes, fetched once per worker (a field added in Setup is seen after a restart)."""
        assert self.sender is not None
        if self._describes is None:
            self._describes = Describes(self.sender)
        return self._describes

    def throttle_delay(self) -> float:
        """0 while the org's API use is below ``slowdown_at``; then growing to a full pause at the limit."""
        ratio = self.sender.conn.usage_ratio if self.sender is not None else 0.0
        start = self.config.slowdown_at
        if ratio < start:
            return 0.0
        return self.config.limit_pause_s * min(1.0, (ratio - start) / max(1e-9, 1.0 - start))

    def drain(self, max_drains: int = 1000) -> DrainReport:
        """Drain until nothing is due (tests, CLI, benchmarks); paused queues wait their pause out."""
        total = DrainReport()
        for _ in range(max_drains):
            wait = self.paused_until - time.time()
            if wait > 0:
                time.sleep(min(wait, 5.0))
                continue
            report = self.drain_once()
            for name in (
                "erasures",
                "changes",
                "sent",
                "created",
                "updated",
                "skipped_unchanged",
                "skipped_no_consent",
                "retrying",
                "parked",
                "noted",
                "converted",
            ):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.lags.extend(report.lags)
            if report.failure:  # the summary says what stopped a drain, and whether a later one got past it
                total.recovered.append(report.failure)
            total.failure = report.failure
            if report.changes == 0 and report.erasures == 0 and report.failure is None:
                with self.engine.connect() as conn:
                    if outbox.outbox_stats(conn, time.time())["outbox_rows"] == 0 and erasure.waiting(conn) == 0:
                        break
                time.sleep(0.05)  # rows backing off: wait for them
            time.sleep(self.throttle_delay())
        if total.failure is not None:  # the last drain's failure still stands: not recovered from
            total.recovered.pop()
        return total

    # --- one drain
    def drain_once(self) -> DrainReport:
        report = DrainReport()
        now, wall = self.now(), time.time()  # the event's clock for facts; the outbox runs on the wall clock
        if wall < self.paused_until or self.sender is None or self.config.dry_run:
            return report
        # Erasures first: the right to erasure waits for no backlog (and the erased have no changes left).
        report.erasures, failure = erasure.drain_erasures(
            self.engine, self.sender, self.mapping, wall, self.config.backoff_base_s
        )
        if failure is not None:
            self._pause(failure, wall)
            report.failure = failure.message
            if self.on_report is not None:
                self.on_report(report)
            return report
        with self.engine.connect() as conn:
            changes = outbox.due_changes(conn, wall, DRAIN_MAX_ROWS)
        report.changes = len(changes)
        by_event: dict[str, list[outbox.Change]] = {}
        for change in changes:
            by_event.setdefault(change.event_id, []).append(change)
        for event_id, event_changes in by_event.items():
            failure = self._drain_event(event_id, event_changes, report, now)
            if failure is not None:
                self._pause(failure, wall)
                report.failure = failure.message
                break
        else:
            self._call_failures = 0
        if self.on_report is not None:
            self.on_report(report)
        return report

    def _pause(self, failure: CallFailed, now: float) -> None:
        if failure.kind in ("limit", "auth"):
            pause = self.config.limit_pause_s
        else:
            self._call_failures += 1
            pause = backoff(self._call_failures, self.config.backoff_base_s)
        self.paused_until, self.pause_reason = now + pause, failure.message
        log.warning("Salesforce sync paused %.1f s: %s", pause, failure.message)

    def _drain_event(
        self, event_id: str, changes: list[outbox.Change], report: DrainReport, now: float
    ) -> CallFailed | None:
        assert self.sender is not None
        ids = [c.attendee_id for c in changes]
        with Session(self.engine) as session:
            event = load_event(session, event_id)
            contexts = load_contexts(session, event, ids, self.mapping, now) if event else {}
        if event is None:
            return None
        gone = [c for c in changes if c.attendee_id not in contexts]  # consent withdrawn, or deleted: nothing leaves
        report.skipped_no_consent += len(gone)
        try:
            campaign_id, campaign_problem = self._campaign(event)
        except CallFailed as exc:
            if exc.kind != "permanent":
                return exc
            campaign_id, campaign_problem = "", f"the event's Campaign was refused: {exc.message}"
        with self.engine.connect() as conn:
            states = load_states(conn, ids, [record_key(self.mapping.campaign["object"], event_id)])
            outbox.done(conn, [r for c in gone for r in c.row_ids])
            conn.commit()
        work = [c for c in changes if c.attendee_id in contexts]
        plan = Plan(self, event, contexts, states, {c.attendee_id: c for c in work}, now, report)
        failure = plan.people()
        if failure is None:
            failure = plan.dependents(campaign_id, campaign_problem)
        plan.finish(failure)
        return failure

    def _campaign(self, event: EventFacts) -> tuple[str, str | None]:
        """The event's Campaign and its member statuses: (its id, what went wrong setting the statuses up).

        Remembered per worker only once every status exists; a refused status is reported (members of the
        event retry with that error, then park saying so) and tried again by the next drain.
        """
        if event.id in self._campaigns:
            return self._campaigns[event.id], None
        assert self.sender is not None
        record = campaign_record(self.mapping, event.id, event.name, event.starts_at, event.ends_at)
        with self.engine.connect() as conn:
            known = load_states(conn, [], [record.key]).get(record.key) or {}
        if known.get("sf_id") and known.get("external_id") != record.ext_value:  # written before namespacing
            ext = {record.ext_field or "": record.ext_value}
            self.sender.restful(f"sobjects/{record.sobject}/{known['sf_id']}", method="PATCH", json=ext)
        campaign_id = self.sender.upsert_one(record)
        query = f"SELECT Id, Label, IsDefault FROM CampaignMemberStatus WHERE CampaignId = {soql_quote(campaign_id)}"
        have = {r["Label"] for r in self.sender.query(query)}
        missing = [
            {"CampaignId": campaign_id, "Label": s.label, "IsDefault": s.default, "HasResponded": s.responded}
            for s in self.mapping.statuses.values()
            if s.label not in have
        ]
        refused = []
        if missing:
            for row, answer in zip(missing, self.sender.create("CampaignMemberStatus", missing), strict=False):
                if not answer.get("success"):
                    error = (answer.get("errors") or [{}])[0]
                    refused.append(f"{row['Label']}: {error.get('statusCode')}: {error.get('message')}")
        problem = f"campaign member statuses not created ({'; '.join(refused)})" if refused else None
        with self.engine.begin() as conn:
            status = "failed" if problem else "synced"
            save_states(conn, [state_row(record, event.id, campaign_id, status, problem, None, time.time(), None)])
        if problem:
            log.error("Salesforce campaign %s for event %s: %s", campaign_id, event.id, problem)
        else:
            self._campaigns[event.id] = campaign_id
        return campaign_id, problem

    def preview(self, limit_rows: int = DRAIN_MAX_ROWS) -> list[SfRecord]:
        """What the next drain would send (dry run): records rebuilt from the store, nothing written anywhere.

        Without a connection, new attendees are shown as Leads (matching Contacts by email needs a query).
        """
        now = self.now()
        with self.engine.connect() as conn:
            changes = outbox.due_changes(conn, time.time(), limit_rows)
        out: list[SfRecord] = []
        by_event: dict[str, list[outbox.Change]] = {}
        for change in changes:
            by_event.setdefault(change.event_id, []).append(change)
        for event_id, event_changes in by_event.items():
            ids = [c.attendee_id for c in event_changes]
            with Session(self.engine) as session:
                event = load_event(session, event_id)
                if event is None:
                    continue
                contexts = load_contexts(session, event, ids, self.mapping, now)
            with self.engine.connect() as conn:
                states = load_states(conn, ids)
            plan = Plan(self, event, contexts, states, {c.attendee_id: c for c in event_changes}, now, DrainReport())
            people = plan.person_records(match=self.sender is not None)
            out.extend(people.values())
            for attendee_id, person in people.items():
                out.extend(plan.dependent_records(attendee_id, person))
        return out


__all__ = ["CrmSync", "DrainReport", "Result", "SyncConfig", "backoff"]
