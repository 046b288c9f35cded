"""The long-lived parts of a running server, built once by the composition root (server.app)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from server.core.config import Settings
from server.core.metrics import Metrics
from server.ingest.consumer import IngestConsumer
from server.ingest.directory import Directory
from server.live.hub import Hub

if TYPE_CHECKING:
    from server.crm.worker import CrmSync
    from server.live.journeys import ScoreKeeper
    from server.live.presence import LivePresence
    from server.rules.service import RuleService


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

    def now(self) -> float:
        """The time live features reason in: the data's clock when presence runs, else the wall clock."""
        return self.presence.clock.now() if self.presence is not None else time.time()

    def venue_changed(self) -> None:
        """Devices, zones or attendees changed: every cache of them reloads (call after such writes)."""
        self.directory.invalidate()
        if self.presence is not None:
            self.presence.venue_changed()
