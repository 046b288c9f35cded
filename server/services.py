"""The long-lived parts of a running server, built once by the composition root (server.app)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from server.core.config import Settings
from server.core.metrics import Metrics
from server.ingest.consumer import CommitListener, IngestConsumer
from server.ingest.directory import Directory
from server.ingest.writer import WriteResult
from server.live.hub import Hub
from server.store.stored_presence import stored_occupancy, stored_zone_of
from server.usecases.changes import AttendeeForgotten, Change, DirectoryChanged, JourneysChanged, SignalsStored

if TYPE_CHECKING:
    from server.crm.worker import CrmSync
    from server.live.presence import LivePresence
    from server.live.scores import ScoreKeeper
    from server.rules.service import RuleService

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    metrics: Metrics
    directory: Directory
    admin_token: str
    ingest: IngestConsumer | None = None
    hub: Hub = field(default_factory=Hub)  # live fan-out to WebSocket clients (attendee apps, dashboards)
    presence: LivePresence | None = None
    scores: ScoreKeeper | None = None
    rules: RuleService | None = None  # trigger rules (server/rules): runs with presence
    crm: CrmSync | None = None  # Salesforce sync worker (server/crm), when TOUCHPOINTS_SALESFORCE_ENABLED
    # The live pipeline's inputs (presence, scores, rules, dashboard) take committed signals from here;
    # ``live_sink`` is where this process's own signals go: straight to those listeners, into the live
    # worker's merge, or to the Redis live stream (server/live/stream.py, docs/scaling.md).
    live_listeners: list[CommitListener] = field(default_factory=list)
    live_sink: Callable[[WriteResult], None] | None = None
    stoppers: list[Callable[[], None]] = field(default_factory=list)  # scale-out parts, stopped last first

    def now(self) -> float:
        """The time live features reason in: the data's clock when presence runs, else the wall clock."""
        return self.presence.clock.now() if self.presence is not None else time.time()

    def venue_changed(self) -> None:
        """Devices, zones or attendees changed: every cache of them reloads (call after such writes)."""
        self.directory.invalidate()
        if self.presence is not None:
            self.presence.venue_changed()
        broadcast = getattr(self.hub, "broadcast", None)  # scale-out: the other processes too (RedisHub)
        if broadcast is not None:
            broadcast("venue")

    def rules_changed(self) -> None:
        """A rule edit was committed: the rule service reloads, here or on the live worker."""
        if self.rules is not None:
            self.rules.rules_changed()
        broadcast = getattr(self.hub, "broadcast", None)
        if broadcast is not None:
            broadcast("rules")

    def on_change(self, change: str) -> None:
        """Another process changed the venue or the rules (a RedisHub control message)."""
        if change == "venue":
            self.directory.invalidate()
            if self.presence is not None:
                self.presence.venue_changed()
        elif change == "rules" and self.rules is not None:
            self.rules.rules_changed()
        elif change.startswith(("forget:", "erase:")) and self.presence is not None:
            kind, _, attendee_id = change.partition(":")
            self.presence.forget(attendee_id, erased=kind == "erase")

    def forget(self, attendee_id: str, *, erased: bool = False) -> None:
        """Tracking consent withdrawn or the attendee erased: presence drops them, here or on the live worker."""
        if self.presence is not None:
            self.presence.forget(attendee_id, erased=erased)
        broadcast = getattr(self.hub, "broadcast", None)
        if broadcast is not None:
            broadcast(f"{'erase' if erased else 'forget'}:{attendee_id}")

    def feed_live(self, result: WriteResult) -> None:
        """Committed signals of this process (ingest, phone beacon reports) for the live pipeline."""
        if self.live_sink is not None:
            self.live_sink(result)

    def dispatch_live(self, result: WriteResult) -> None:
        for listener in self.live_listeners:
            try:
                listener(result)
            except Exception:  # one listener's bug must not starve the others; what is stored stays stored
                log.exception("live listener failed")

    def publish(self, changes: Iterable[Change]) -> None:
        """Make what a use case committed take effect in the running server (server/usecases/changes.py)."""
        for change in changes:
            if isinstance(change, DirectoryChanged):
                self.venue_changed()
            elif isinstance(change, AttendeeForgotten):
                self.forget(change.attendee_id, erased=change.erased)
            elif isinstance(change, SignalsStored):
                self.feed_live(change.result)  # here, or to the live worker
            elif isinstance(change, JourneysChanged) and self.scores is not None:
                self.scores.mark(change.attendee_ids)

    def occupancy(self) -> dict[str, int]:
        """Zone -> attendees in it now: the presence engine's view, else the open visits in the store."""
        if self.presence is not None:
            return self.presence.occupancy()
        return stored_occupancy(self.engine, self.settings.event_id)

    def zone_of(self, attendee_id: str) -> str | None:
        if self.presence is not None:
            return self.presence.zone_of(attendee_id)
        return stored_zone_of(self.engine, self.settings.event_id, attendee_id)
