"""The live pipeline: the path of a sighting, stage by stage, in this one file.

::

    ingest (MQTT, server/ingest)        phone beacon reports (server/usecases/beacon_reports.py)
      │ committed WriteResult                │ SignalsStored, published by the attendee API
      ├─> booth lead capture (server/usecases/leads.py: a badge tapped on a booth's reader)
      └─> sink ─┬─ one process:          dispatch, right here
                ├─ Redis, live worker:   LiveStreamConsumer merges every ingest worker's results, then dispatch
                └─ Redis, other workers: LiveForwarder to the live stream (server/live/stream.py)
    dispatch (signals) ──> presence (server/live/presence.py: zones, visits, dwell)
                       ──> journeys/scores (taps mark the journey; server/live/scores.py)
                       ──> rules/campaigns (taps; server/rules/service.py)
                       ──> dashboard feed (device status and heartbeats; server/dashboard/feed.py)
    presence (visit events) ──> journeys/scores ──> rules/campaigns
    scores (score changes)  ──> rules/campaigns;  in the rescoring transaction ──> CRM outbox
    rules (decisions) ──> delivery: inbox, WebSocket hub, Web Push, email, webhooks, CRM outbox
    CRM outbox ──> Salesforce sync worker (server/crm/worker.py)

Why one object: the stages used to be wired through callback lists filled in four modules, so no file showed
where a sighting goes. Here each stage is built once (by :meth:`start`, called from the composition root) and
every consumer of each stage's output is named in one method (``_signals``, ``_visits``, ``_scores``).
The stages' own listener lists are ports this module alone fills.

The pipeline also answers the live questions the faces ask (what time is it for the data, who is where) and
makes committed use-case changes take effect (:meth:`publish`), here or, with Redis, on the live worker.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine

from server.core.config import Settings
from server.core.metrics import Metrics
from server.domain import model as domain
from server.ingest.directory import Directory
from server.ingest.writer import WriteResult
from server.live.hub import Hub
from server.store.journeys import ScoreChange
from server.store.stored_presence import stored_occupancy, stored_zone_of
from server.usecases.changes import AttendeeForgotten, Change, DirectoryChanged, JourneysChanged, SignalsStored
from server.usecases.leads import NfcLeadCapture

if TYPE_CHECKING:
    import redis

    from server.crm.worker import CrmSync
    from server.live.presence import LivePresence
    from server.live.scores import ScoreKeeper
    from server.live.stream import LiveStreamConsumer
    from server.rules.service import RuleService

log = logging.getLogger(__name__)


class SignalConsumer(Protocol):
    """A consumer of committed signals that lives outside the core stages (the dashboard feed)."""

    def on_ingest(self, result: WriteResult) -> None: ...


class LivePipeline:
    """ingest -> presence -> journeys/scores -> rules/campaigns -> delivery and CRM outbox (module docstring)."""

    def __init__(self, settings: Settings, engine: Engine, metrics: Metrics, directory: Directory, hub: Hub) -> None:
        self.settings = settings
        self.engine = engine
        self.metrics = metrics
        self.directory = directory
        self.hub = hub  # live fan-out to WebSocket clients (attendee apps, dashboards); RedisHub when scaled out
        self.booth_leads = NfcLeadCapture(engine)
        # The stages this process runs (docs/scaling.md): None where another process runs them.
        self.presence: LivePresence | None = None
        self.scores: ScoreKeeper | None = None
        self.rules: RuleService | None = None
        self.crm: CrmSync | None = None
        self.dashboard: SignalConsumer | None = None  # attached by the composition root
        # Instrumentation only (the latency benchmark, server/bench/latency.py): sees signals as they arrive.
        self.probe: Callable[[WriteResult], None] | None = None
        # Where this process's committed signals go: dispatch, the live worker's merge, or the Redis stream.
        self._sink: Callable[[WriteResult], None] | None = None
        self._stoppers: list[Callable[[], None]] = []  # scale-out parts, stopped last first

    # ---- stage 1: ingest ----------------------------------------------------------------------------------
    def ingested(self, result: WriteResult) -> None:
        """A committed ingest batch (on ingest's writer thread): booth taps become leads, then the signals go
        on to the live stages, here or on the live worker."""
        _each(("booth leads", partial(self.booth_leads, result)), ("live stages", partial(self._feed, result)))

    def _feed(self, result: WriteResult) -> None:
        if self._sink is not None:
            self._sink(result)

    def _signals(self, result: WriteResult) -> None:
        """Committed signals (of this process, or merged from every ingest worker): their consumers, in order."""
        presence, scores, rules, dashboard = self.presence, self.scores, self.rules, self.dashboard
        _each(
            ("probe", partial(self.probe, result) if self.probe is not None else None),
            ("presence", partial(presence.feed, result) if presence is not None else None),
            (
                "scores",
                partial(scores.mark, [t.attendee_id for t in result.presence_taps]) if scores is not None else None,
            ),
            ("rules", partial(rules.on_ingest, result) if rules is not None else None),
            ("dashboard", partial(dashboard.on_ingest, result) if dashboard is not None else None),
        )

    # ---- stage 2: presence --------------------------------------------------------------------------------
    def _visits(self, events: list[domain.VisitEvent]) -> None:
        """Visits opened and closed (stored already): journeys change, rules fire on dwell and entry."""
        scores, rules = self.scores, self.rules
        _each(
            ("scores", partial(scores.on_visit_events, events) if scores is not None else None),
            ("rules", partial(rules.on_visit_events, events) if rules is not None else None),
        )

    # ---- stage 3: journeys and scores ---------------------------------------------------------------------
    def _scores(self, changes: list[ScoreChange]) -> None:
        """Rescored attendees (committed): rules on score and stage thresholds."""
        if self.rules is not None:
            self.rules.on_score_changes(changes)

    def _mark(self, attendee_ids: Iterable[str]) -> None:
        if self.scores is not None:
            self.scores.mark(attendee_ids)

    # ---- building and stopping ----------------------------------------------------------------------------
    def start(self, ingest_runs_here: bool) -> None:
        """Build and wire the stages this process runs (after migrations: presence reads the venue).

        - no Redis: this process's own ingest (a process without ingest runs no live stages);
        - Redis, ``live_enabled``: the live stream of every ingest worker, merged with this process's own;
        - Redis, not ``live_enabled``: nothing runs here; this process's commits are forwarded to the stream.
        """
        from server.live.presence import LivePresence
        from server.live.scores import ScoreKeeper

        settings = self.settings
        scaled = settings.redis_url is not None
        if scaled:
            from server.live.redis_hub import RedisHub

            if isinstance(self.hub, RedisHub):
                self.hub.control_listeners.append(self.on_change)
                self.hub.start()
                self._stoppers.append(self.hub.stop)
        if not settings.live_enabled or (not ingest_runs_here and not scaled):
            if scaled:  # ingest commits, and phone beacon reports received here, go to the live worker
                self._forward_to_live_stream(ingest_runs_here)
            return
        presence = LivePresence(self.engine, settings.event_id)
        scores = ScoreKeeper(self.engine, settings.event_id, presence.clock.now)
        presence.listeners.append(self._visits)
        scores.listeners.append(self._scores)
        self.presence, self.scores = presence, scores
        consumer = self._live_stream_consumer() if scaled else None
        tail = consumer.tail() if consumer is not None else None  # before the warm start: nothing falls between
        self._sink = consumer.submit_local if consumer is not None else self._signals
        presence.start()
        scores.start()
        self.rules = self._start_rules()
        if consumer is not None and tail is not None:
            consumer.start(tail)
            self._stoppers.append(consumer.stop)

    def _start_rules(self) -> RuleService:
        from server.mail import SmtpMailer
        from server.rules.service import RuleService
        from server.rules.webpush import WebPushSender

        settings = self.settings
        mailer = SmtpMailer.from_url(settings.smtp_url, settings.mail_from) if settings.smtp_url else None
        vapid = settings.vapid_private_key.get_secret_value() if settings.vapid_private_key else None
        webpush = WebPushSender(vapid, settings.vapid_subject) if vapid else None
        rules = RuleService(
            self.engine, settings.event_id, self.hub, self.now,
            presence=self.presence, scores=self.scores, mailer=mailer, webpush=webpush,
        )  # fmt: skip
        rules.start()
        return rules

    def start_crm(self) -> None:
        """Salesforce sync (server/crm): metrics always, the worker when enabled; rescoring feeds its outbox."""
        from server.crm.service import start_crm

        self.crm = start_crm(self.settings, self.engine, self.metrics.registry, self.now)
        if self.crm is not None and self.scores is not None:
            from server.crm.feed import on_rescore

            # Score and stage changes reach the CRM outbox inside the rescoring transaction: both or neither.
            self.scores.in_transaction.append(on_rescore)

    def stop(self) -> None:
        """Stop in order: scale-out parts (forwarder drains, consumer and hub subscriber end), then the CRM
        worker, the rules, presence and scores (each flushes what it holds)."""
        for stop in reversed(self._stoppers):
            stop()
        for stage in (self.crm, self.rules, self.presence, self.scores):
            if stage is not None:
                stage.stop()

    def _redis_client(self) -> redis.Redis:
        import redis

        assert self.settings.redis_url is not None
        return redis.Redis.from_url(self.settings.redis_url, socket_connect_timeout=2.0, socket_timeout=5.0)

    def _forward_to_live_stream(self, ingest_runs_here: bool) -> None:
        from server.live.stream import UNORDERED, LiveForwarder, stream_name

        settings = self.settings
        stream = stream_name(settings.mqtt_topic_prefix, settings.event_id)
        # An ingest worker's stable client id names it in the live worker's merge; an API worker, which only
        # forwards phone beacon reports (rare, out of order), does not hold the merge back.
        producer = settings.mqtt_client_id if ingest_runs_here else f"{UNORDERED}{socket.gethostname()}-{os.getpid()}"
        forwarder = LiveForwarder(self._redis_client(), stream, producer, self.metrics)
        self._sink = forwarder
        forwarder.start()
        self._stoppers.append(forwarder.stop)

    def _live_stream_consumer(self) -> LiveStreamConsumer:
        from server.live.stream import LiveStreamConsumer, stream_name

        stream = stream_name(self.settings.mqtt_topic_prefix, self.settings.event_id)
        return LiveStreamConsumer(self._redis_client(), stream, self._signals, self.metrics)

    # ---- what faces ask and tell --------------------------------------------------------------------------
    def publish(self, changes: Iterable[Change]) -> None:
        """Make what a use case committed take effect in the running server (server/usecases/changes.py)."""
        for change in changes:
            if isinstance(change, DirectoryChanged):
                self.venue_changed()
            elif isinstance(change, AttendeeForgotten):
                self.forget(change.attendee_id, erased=change.erased)
            elif isinstance(change, SignalsStored):
                self._feed(change.result)  # here, or to the live worker
            elif isinstance(change, JourneysChanged):
                self._mark(change.attendee_ids)

    def now(self) -> float:
        """The time live features reason in: the data's clock when presence runs, else the wall clock."""
        return self.presence.clock.now() if self.presence is not None else time.time()

    def venue_changed(self) -> None:
        """Devices, zones or attendees changed: every cache of them reloads (call after such writes)."""
        self._venue_changed_here()
        self._broadcast("venue")  # scale-out: the other processes too (RedisHub)

    def rules_changed(self) -> None:
        """A rule edit was committed: the rule service reloads, here or on the live worker."""
        self._rules_changed_here()
        self._broadcast("rules")

    def forget(self, attendee_id: str, *, erased: bool = False) -> None:
        """Tracking consent withdrawn or the attendee erased: presence drops them, here or on the live worker."""
        self._forget_here(attendee_id, erased=erased)
        self._broadcast(f"{'erase' if erased else 'forget'}:{attendee_id}")

    def on_change(self, change: str) -> None:
        """Another process changed the venue or the rules (a RedisHub control message)."""
        if change == "venue":
            self._venue_changed_here()
        elif change == "rules":
            self._rules_changed_here()
        elif change.startswith(("forget:", "erase:")):
            kind, _, attendee_id = change.partition(":")
            self._forget_here(attendee_id, erased=kind == "erase")

    # What a change does in this process: the same whether it was committed here or told by another process.
    def _venue_changed_here(self) -> None:
        self.directory.invalidate()
        self.booth_leads.invalidate()
        if self.presence is not None:
            self.presence.venue_changed()

    def _rules_changed_here(self) -> None:
        if self.rules is not None:
            self.rules.rules_changed()

    def _forget_here(self, attendee_id: str, *, erased: bool) -> None:
        if self.presence is not None:
            self.presence.forget(attendee_id, erased=erased)

    def _broadcast(self, change: str) -> None:
        broadcast = getattr(self.hub, "broadcast", None)  # only a RedisHub reaches other processes
        if broadcast is not None:
            broadcast(change)

    def occupancy(self) -> dict[str, int]:
        """Zone -> attendees in it now: the presence engine's view, else the open visits in the store."""
        if self.presence is not None:
            return self.presence.occupancy()
        return stored_occupancy(self.engine, self.settings.event_id)

    def zone_of(self, attendee_id: str) -> str | None:
        if self.presence is not None:
            return self.presence.zone_of(attendee_id)
        return stored_zone_of(self.engine, self.settings.event_id, attendee_id)


def _each(*consumers: tuple[str, Callable[[], object] | None]) -> None:
    """Call each consumer this process runs (None: a stage that runs elsewhere, or not at all)."""
    for name, consume in consumers:
        if consume is None:
            continue
        try:
            consume()
        except Exception:  # one consumer's bug must not starve the others; what is stored stays stored
            log.exception("live pipeline: %s failed", name)
