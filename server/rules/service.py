"""The live rule service: the pure engine on a worker thread, fed by presence, taps, scores and the app.

Inputs (all thread-safe, none blocks on the engine):

* presence's visit events (``on_visit_events``: a ``presence.listeners`` entry) -> zone entered / visit
  ended, and "session left early" when a visit of a room ends while its session runs;
* ingest's taps (``on_ingest``: an ``ingest.listeners`` entry) -> tap events at the reader's zone;
* the score keeper's changes (``on_score_changes``) -> score crossed / stage changed;
* anything else (lead scans, app actions): ``submit(event)``.

Every ``TICK_S`` the worker also ticks the engine (derived dwell, time triggers, "your contact is nearby").
Decisions are stored (idempotent by ``decision_id``) and carried out in one transaction
(:mod:`server.rules.delivery`), then published live. The engine's state is saved every ``STATE_SAVE_S`` and
on stop, and restored on start.

Live edits: the API calls :meth:`RuleService.rules_changed` after committing an edit; the worker reloads
the rules before the next event it handles, so the edit applies from the next touchpoint. Edits made by
another process are noticed by a cheap fingerprint query every tick.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from server.core.outage import OutageLog, is_database_outage
from server.domain import model as domain
from server.domain.rules.context import AttendeeContext
from server.domain.rules.engine import RuleEngine
from server.domain.rules.events import (
    Decision,
    RuleEvent,
    ScoreChanged,
    SessionLeft,
    StageChanged,
    TapEvent,
    from_visit_event,
)
from server.domain.rules.events import VisitEnded as RuleVisitEnded
from server.domain.rules.guards import Channel, GuardParams
from server.domain.rules.model import RepAlertAction
from server.live.hub import Hub
from server.mail import Mailer
from server.rules import store
from server.rules.context import attendee_contexts, journey_summary, venue_context
from server.rules.delivery import AfterCommit, attendee_topic, execute, exhibitor_topic
from server.rules.outbox import OutboxWorker
from server.rules.webpush import WebPushSender
from server.store.models import Device
from server.store.rules_models import AttendeeConnection, ConnectionStatus

if TYPE_CHECKING:
    from server.ingest.writer import WriteResult
    from server.live.presence import LivePresence
    from server.live.scores import ScoreKeeper
    from server.store.journeys import ScoreChange

log = logging.getLogger(__name__)

TICK_S = 2.0  # dwell thresholds and "10 minutes before" need no finer grain than a couple of seconds
STATE_SAVE_S = 30.0  # a crash loses at most 30 s of cap history: a repeated push at worst, never a flood
VENUE_RELOAD_S = 60.0  # zones and agenda change rarely; a minute-old copy is fine for rules
QUEUE_MAX = 10_000  # producers block (back-pressure) rather than lose events when the worker is far behind
MAX_ITEMS_PER_STEP = 500

Item = RuleEvent | list[RuleEvent]


class RuleService:
    def __init__(
        self, db: Engine, event_id: str, hub: Hub, now: Callable[[], float], *,
        presence: LivePresence | None = None, scores: ScoreKeeper | None = None, mailer: Mailer | None = None,
        webpush: WebPushSender | None = None, params: GuardParams | None = None, seed: bool = True,
    ) -> None:  # fmt: skip
        self._db = db
        self.event_id = event_id
        self.hub = hub
        self._now = now
        self.presence = presence
        self.scores = scores
        self.params = params or GuardParams()
        self.seed = seed
        self.outbox = OutboxWorker(db, event_id, now, mailer=mailer, webpush=webpush)
        self._queue: queue.Queue[Item] = queue.Queue(QUEUE_MAX)
        self._stop = threading.Event()
        self._rules_dirty = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._summaries: dict[str, str] = {}
        self._tap_zone: dict[str, str | None] = {}
        self._fingerprint: tuple[int, float] = (0, 0.0)
        self.engine: RuleEngine | None = None
        self.decided = 0
        self.outage = OutageLog(log, "rules")
        self.rules_loaded_at = 0.0  # perf_counter of the last rule (re)load: the live-edit benchmark reads it

    # ---- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> None:
        with Session(self._db) as session:
            if self.seed:
                store.seed_campaigns(session, self.event_id)
            state = store.load_state(session, self.event_id)
            venue = venue_context(session, self.event_id)
        self.engine = RuleEngine([], venue, self.params, state)
        self._load_rules()
        self._load_tap_zones()
        self._thread = threading.Thread(target=self._run, name="rules", daemon=True)
        self._thread.start()
        self.outbox.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self.engine is not None:
            self.save_state()
        self.outbox.stop()

    # ---- inputs -------------------------------------------------------------------------------------------
    def _put(self, item: Item) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put(item)

    def submit(self, event: RuleEvent) -> None:
        """Any touchpoint for the rules (lead scanned, app action ...), from any thread."""
        self._put(event)

    def on_visit_events(self, events: list[domain.VisitEvent]) -> None:
        self._put([from_visit_event(e) for e in events])

    def on_ingest(self, result: WriteResult) -> None:
        if result.presence_taps:
            self._put([TapEvent(t.attendee_id, t.at, self._tap_zone.get(t.device_id), t.device_id)
                       for t in result.presence_taps])  # fmt: skip

    def on_score_changes(self, changes: list[ScoreChange]) -> None:
        events: list[RuleEvent] = []
        for c in changes:
            self._summaries[c.attendee_id] = c.summary
            if c.old_score != c.new_score:
                events.append(ScoreChanged(c.attendee_id, c.at, c.old_score, c.new_score))
            if c.old_stage != c.new_stage:
                events.append(StageChanged(c.attendee_id, c.at, c.old_stage, c.new_stage))
        if events:
            self._put(events)

    def rules_changed(self) -> None:
        """A rule was created, edited, paused or resumed (committed): reload before the next event."""
        self._rules_dirty.set()
        self._put([])  # wake the worker

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every submitted item has been handled (tests, benchmarks)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    # ---- worker -------------------------------------------------------------------------------------------
    def _run(self) -> None:
        next_tick = next_save = next_venue = time.monotonic()
        while not self._stop.is_set():
            items: list[Item] = []
            try:
                items.append(self._queue.get(timeout=max(0.0, next_tick - time.monotonic())))
                while len(items) < MAX_ITEMS_PER_STEP:
                    items.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            clock = time.monotonic()
            try:
                if clock >= next_venue:
                    next_venue = clock + VENUE_RELOAD_S
                    self._reload_venue()
                if self._rules_dirty.is_set():
                    self._load_rules()
                events = [e for item in items for e in (item if isinstance(item, list) else [item])]
                if events:
                    self.handle(events)
                if clock >= next_tick:
                    next_tick = clock + TICK_S
                    self._check_fingerprint()
                    self.tick()
                if clock >= next_save:
                    next_save = clock + STATE_SAVE_S
                    self.save_state()
            except Exception as exc:  # the worker outlives a bad step; the signals are safe in the store
                if is_database_outage(exc):
                    self.outage.failed(exc)  # once per outage, not a traceback per tick
                else:
                    log.exception("rules step failed")
            else:
                self.outage.ok()
            finally:
                with self._idle:
                    self._pending -= len(items)
                    self._idle.notify_all()

    def _engine(self) -> RuleEngine:
        assert self.engine is not None, "RuleService.start() first"
        return self.engine

    def _load_rules(self) -> None:
        self._rules_dirty.clear()
        with Session(self._db) as session:
            rules = store.active_rules(session, self.event_id)
            self._fingerprint = store.rules_fingerprint(session, self.event_id)
        self._engine().set_rules(rules)
        self.rules_loaded_at = time.perf_counter()

    def _check_fingerprint(self) -> None:
        with Session(self._db) as session:
            if store.rules_fingerprint(session, self.event_id) != self._fingerprint:
                self._rules_dirty.set()
        if self._rules_dirty.is_set():
            self._load_rules()

    def _reload_venue(self) -> None:
        with Session(self._db) as session:
            self._engine().venue = venue_context(session, self.event_id)
        self._load_tap_zones()

    def _load_tap_zones(self) -> None:
        with Session(self._db) as session:
            rows = session.exec(select(Device.id, Device.zone_id).where(col(Device.event_id) == self.event_id))
            self._tap_zone = {device_id: zone_id for device_id, zone_id in rows}

    def _zone_of(self, attendee_id: str) -> str | None:
        return self.presence.zone_of(attendee_id) if self.presence is not None else None

    def _contexts(self, session: Session, ids: Iterable[str] | None) -> dict[str, AttendeeContext]:
        return attendee_contexts(session, self.event_id, ids, self._zone_of, self._summaries)

    def _with_sessions_left(self, events: list[RuleEvent]) -> list[RuleEvent]:
        venue = self._engine().venue
        out: list[RuleEvent] = []
        for event in events:
            out.append(event)
            if isinstance(event, RuleVisitEnded):
                running = venue.session_running_in(event.zone_id, event.at)
                if running is not None and running.ends_at > running.starts_at:
                    seen = event.at - max(event.started_at, running.starts_at)
                    share = max(0.0, seen) / (running.ends_at - running.starts_at)
                    out.append(SessionLeft(event.attendee_id, event.at, running.id, share))
        return out

    def handle(self, events: list[RuleEvent]) -> list[Decision]:
        """Evaluate, store and carry out (worker thread; tests may call it directly on a stopped service)."""
        engine = self._engine()
        events = self._with_sessions_left(events)
        now = self._now()
        with Session(self._db) as session:
            contexts = self._contexts(session, {e.attendee_id for e in events})
            for event in events:
                ctx = contexts.get(event.attendee_id)
                if ctx is not None and ctx.journey_summary is None and self._needs_summary(event):
                    summary = journey_summary(session, self.event_id, ctx.id, now)
                    contexts[ctx.id] = replace(ctx, journey_summary=summary)
        decisions: list[Decision] = []
        for event in events:
            ctx = contexts.get(event.attendee_id)
            if ctx is not None:  # unknown badge or event staff: rules are for attendees
                decisions += engine.handle(event, ctx, now)
        self.commit(decisions, now)
        return decisions

    def _needs_summary(self, event: RuleEvent) -> bool:
        return any(
            isinstance(a, RepAlertAction) and "journey.summary" in a.message + a.opener
            for rule in self._engine().candidates(event)
            for a in rule.actions
        )

    def tick(self) -> list[Decision]:
        engine = self._engine()
        now = self._now()
        pairs = self._connections()
        with Session(self._db) as session:
            everyone = engine.time_rules_due(now)
            ids = None if everyone else engine.dwell_due(now) | {a for p in pairs for a in p}
            contexts = self._contexts(session, ids)
        decisions = engine.tick(now, contexts.values())
        if pairs:
            where = {a: contexts[a].current_zone_id if a in contexts else None for p in pairs for a in p}
            nearby = engine.contacts_nearby(where, pairs, lambda a: a in contexts, contexts, now)
            decisions += [self._contact_push(d, contexts) for d in nearby]
        self.commit(decisions, now)
        return decisions

    def _connections(self) -> list[frozenset[str]]:
        with Session(self._db) as session:
            rows = session.exec(
                select(AttendeeConnection.attendee_a, AttendeeConnection.attendee_b).where(
                    col(AttendeeConnection.event_id) == self.event_id,
                    col(AttendeeConnection.status) == ConnectionStatus.ACCEPTED.value,
                )
            )
            return [frozenset(pair) for pair in rows]

    def _contact_push(self, decision: Decision, contexts: dict[str, AttendeeContext]) -> Decision:
        if not decision.fired:
            return decision
        contact = contexts.get(str(decision.payload.get("contact_id")))
        zone_id = str(decision.payload.get("zone_id"))
        name = contact.name if contact is not None and contact.name else "A contact"
        title = f"{name} is nearby"
        body = f"You are both at {self._engine().venue.zone_name(zone_id)}."
        return replace(decision, payload={**decision.payload, "title": title, "body": body, "url": None})

    def commit(self, decisions: list[Decision], now: float) -> None:
        """Store decisions (a stored id is skipped: replays do nothing twice) and carry out the fired ones."""
        if not decisions:
            return
        after = AfterCommit()
        with self._db.begin() as conn:
            for decision in decisions:
                if not store.record_decision(conn, decision, self.event_id) or not decision.fired:
                    continue
                execute(conn, decision, self.event_id, self._connected(decision), after, now)
        self.decided += len(decisions)
        for topic, message in after.publishes:
            self.hub.publish(topic, message)
        if after.outbox_added:
            self.outbox.wake()
        if after.journeys_changed and self.scores is not None:
            self.scores.mark(after.journeys_changed)

    def _connected(self, decision: Decision) -> bool:
        if decision.channel is Channel.PUSH:
            return self.hub.subscribers(attendee_topic(decision.attendee_id)) > 0
        if decision.channel is Channel.REP_ALERT and decision.payload.get("exhibitor_id"):
            return self.hub.subscribers(exhibitor_topic(str(decision.payload["exhibitor_id"]))) > 0
        return False

    def save_state(self) -> None:
        with self._db.begin() as conn:
            store.save_state(conn, self.event_id, self._engine().state, self._now())
